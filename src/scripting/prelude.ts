/**
 * Lua source run once per VM, with full power, before the globals are locked: the Lua 5.1
 * shims Redis scripts may use, and the read-only wrapping Redis 7 applies to the globals and
 * the library tables. It must not define anything a script could use to reach the process.
 */
export const PRELUDE = `
local real_G, setmetatable, rawget, error, tostring, next, type = _G, setmetatable, rawget, error, tostring, next, type
local load = load

-- Numbers print as Lua 5.1 prints them: through concatenation, which vm.ts formats with %.14g.
local raw_tostring = tostring
_G.tostring = function(v)
  if type(v) == 'number' then return v .. '' end
  return raw_tostring(v)
end

-- Lua 5.1 names that 5.3 dropped or moved.
unpack = table.unpack
table.getn = function(t) return #t end
table.maxn = function(t)
  local m = 0
  for k in next, t do if type(k) == 'number' and k > m then m = k end end
  return m
end
math.pow = function(x, y) return x ^ y end
math.ldexp = function(m, e) return m * 2.0 ^ e end
math.mod = math.fmod
-- Text only: binary chunks can break the VM's invariants, so neither load() nor loadstring() takes them.
-- A runaway string.rep would take the whole process's memory: cap it like a bulk reply.
local rep, rep_max = string.rep, __string_bytes_max
__string_bytes_max = nil
string.rep = function(s, n, sep)
  local size = #tostring(s) * (tonumber(n) or 0) + (sep and #tostring(sep) * (tonumber(n) or 0) or 0)
  if size > rep_max then error('resulting string too large', 2) end
  return rep(s, n, sep)
end
loadstring = function(s, name) return load(s, name, 't') end
_G.load = function(chunk, name, mode, env) return load(chunk, name, 't', env) end

-- fengari leaves hooks off in a thread after a hook's error is caught by pcall, so a killed
-- script could loop on inside pcall: every protected call re-checks for a kill when it returns.
local check_interrupt, raw_pcall, raw_xpcall = __check_interrupt, pcall, xpcall
__check_interrupt = nil
local function after(...)
  check_interrupt()
  return ...
end
-- Redis 7's pcall hands a caught {err = "..."} table back as its text.
local function after_pcall(ok, ...)
  check_interrupt()
  if not ok then
    local e = ...
    if type(e) == 'table' then
      local text = rawget(e, 'err')
      if type(text) == 'string' then return false, text end
    end
  end
  return ok, ...
end
_G.pcall = function(...) return after_pcall(raw_pcall(...)) end
_G.xpcall = function(...) return after(raw_xpcall(...)) end
local co_resume = coroutine.resume
coroutine.resume = function(...) return after(co_resume(...)) end
local co_wrap = coroutine.wrap
coroutine.wrap = function(f)
  local co = coroutine.create(f)
  return function(...)
    return after(select(2, assert(co_resume(co, ...))))
  end
end

local readonly = __readonly_error
local missing = __missing_global
__readonly_error, __missing_global = nil, nil

local protected = {}
local function protect(t)
  local proxy = {}
  protected[proxy] = true
  setmetatable(proxy, {
    __index = t,
    __newindex = readonly,
    __pairs = function() return next, t, nil end,
    __len = function() return #t end,
    __metatable = false,
  })
  return proxy
end

for _, name in ipairs({'string', 'table', 'math', 'coroutine', 'debug', 'bit', 'cjson'}) do
  if type(real_G[name]) == 'table' then real_G[name] = protect(real_G[name]) end
end
local raw_rawset = rawset
rawset = function(t, k, v)
  if protected[t] then error('Attempt to modify a readonly table', 2) end
  return raw_rawset(t, k, v)
end
setmetatable(real_G, { __index = missing, __newindex = readonly, __metatable = false })
local G = protect(real_G)
raw_rawset(real_G, '_G', G)
return G, function(t) return protect(t) end
`;
