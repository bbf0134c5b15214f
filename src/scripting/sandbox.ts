/**
 * One sandboxed Lua state, as Redis 7 builds it: the base, table, string, math, coroutine and
 * debug libraries (no io, os, package, require, loadfile, dofile), Lua 5.1 shims, and globals
 * that are read-only to scripts ("Attempt to modify a readonly table") and raise on a missing
 * name ("Script attempted to access nonexistent global variable"). Owns the state; the
 * redis.* table is installed by redis-api.ts before the globals are locked.
 */

import { scriptLimits } from "../limits.ts";
import { pushBitLibrary } from "./bitlib.ts";
import { pushCjsonLibrary } from "./cjson.ts";
import { PRELUDE } from "./prelude.ts";
import {
  type KeyName,
  type LuaState,
  lauxlib,
  lname,
  lua,
  lualib,
  pushKey,
  toJsString,
  toLuaString,
} from "./vm.ts";

export interface Sandbox {
  readonly L: LuaState;
  /** Registry reference of the read-only globals proxy every chunk runs with as _ENV. */
  readonly envRef: number;
  /** Registry reference of the real globals table (KEYS and ARGV are set there). */
  readonly globalsRef: number;
  /** Registry reference of protect(table): wraps a table read-only (redis, library envs). */
  readonly protectRef: number;
  /** Called when a protected call returns: raises if the run was killed (set by the runner). */
  onInterruptCheck: (L: LuaState) => number;
}

/** Builds a sandbox; `install` adds globals (the redis table) before they are locked. */
export function createSandbox(install: (L: LuaState) => void): Sandbox {
  const L = lauxlib.luaL_newstate();
  const libs: [string, unknown][] = [
    ["_G", lualib.luaopen_base],
    ["table", lualib.luaopen_table],
    ["string", lualib.luaopen_string],
    ["math", lualib.luaopen_math],
    ["coroutine", lualib.luaopen_coroutine],
    ["debug", lualib.luaopen_debug],
  ];
  for (const [name, open] of libs) {
    lauxlib.luaL_requiref(L, lname(name), open, 1);
    lua.lua_pop(L, 1);
  }
  for (const name of ["loadfile", "dofile", "print"]) {
    lua.lua_pushnil(L);
    lua.lua_setglobal(L, lname(name));
  }
  // print writes to the server's stdout in Redis; here it is accepted and dropped.
  lua.lua_pushcfunction(L, () => 0);
  lua.lua_setglobal(L, lname("print"));
  lua.lua_pushcfunction(L, readonlyError);
  lua.lua_setglobal(L, lname("__readonly_error"));
  lua.lua_pushcfunction(L, missingGlobal);
  lua.lua_setglobal(L, lname("__missing_global"));
  const box = { onInterruptCheck: (_L: LuaState) => 0 } as Sandbox;
  lua.lua_pushcfunction(L, (L2: LuaState) => box.onInterruptCheck(L2));
  lua.lua_setglobal(L, lname("__check_interrupt"));
  lua.lua_pushnumber(L, scriptLimits.stringBytesMax);
  lua.lua_setglobal(L, lname("__string_bytes_max"));
  pushBitLibrary(L);
  lua.lua_setglobal(L, lname("bit"));
  pushCjsonLibrary(L);
  lua.lua_setglobal(L, lname("cjson"));
  install(L);
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
  const globalsRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  if (
    lauxlib.luaL_loadbufferx(L, toLuaString(PRELUDE), null, lname("=prelude"), lname("t")) !== 0 ||
    lua.lua_pcall(L, 0, 2, 0) !== 0
  ) {
    throw new Error(`scripting prelude failed: ${toJsString(lua.lua_tolstring(L, -1))}`);
  }
  const protectRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  const envRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  return Object.assign(box, { L, envRef, globalsRef, protectRef });
}

/** __newindex of every protected table. luaL_error prefixes the script's position, as Redis's does. */
export function readonlyError(L: LuaState): number {
  return lauxlib.luaL_error(L, lname("Attempt to modify a readonly table"));
}

export function missingGlobal(L: LuaState): number {
  const name = lua.lua_type(L, 2) === lua.LUA_TSTRING ? lua.lua_tolstring(L, 2) : lname("?");
  return lauxlib.luaL_error(
    L,
    lname("Script attempted to access nonexistent global variable '%s'"),
    name,
  );
}

/**
 * Compiles `body` as a text chunk named `chunkName` with the protected globals as its _ENV.
 * Returns a registry reference to the function, or the compiler's message.
 */
export function compileChunk(
  box: Sandbox,
  body: Uint8Array,
  chunkName: string,
  envRef = box.envRef,
): { ref: number } | { error: string } {
  const L = box.L;
  const status = lauxlib.luaL_loadbufferx(L, body, body.length, lname(chunkName), lname("t"));
  if (status !== 0) {
    const message = lua51Wording(toJsString(lua.lua_tolstring(L, -1) ?? lname("?")));
    lua.lua_pop(L, 1);
    return { error: message };
  }
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, envRef);
  lua.lua_setupvalue(L, -2, 1);
  return { ref: lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX) };
}

/** Sets a global in the real globals table, past the read-only guard (KEYS, ARGV). */
export function setRawGlobal(box: Sandbox, name: KeyName, push: (L: LuaState) => void): void {
  const L = box.L;
  lua.lua_checkstack(L, 4);
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, box.globalsRef);
  pushKey(L, name);
  push(L);
  lua.lua_rawset(L, -3);
  lua.lua_pop(L, 1);
}

/**
 * Lua 5.3 reports a statement that is neither a call nor an assignment as "syntax error near
 * X"; Lua 5.1, whose texts Redis users see, says "'=' expected near X". 5.1 also quotes
 * '<eof>'.
 */
function lua51Wording(message: string): string {
  return message
    .replace(/: syntax error near /, ": '=' expected near ")
    .replace(/ near <eof>$/, " near '<eof>'");
}
