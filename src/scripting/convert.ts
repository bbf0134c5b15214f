/**
 * Lua <-> RESP conversion, following Redis 7's script_lua.c rule for rule:
 *   reply -> Lua (what redis.call returns): integer -> number, bulk -> string, null -> false
 *   (nil under RESP3), array -> table, status -> {ok=...}, error -> {err=...}, and under
 *   setresp(3) map -> {map={...}}, set -> {set={k=true}}, double -> {double=n}.
 *   Lua -> reply (what a script returns): number -> integer (truncated toward zero),
 *   string -> bulk, true -> 1, false/nil -> null, table -> {err}/{ok}/RESP3 tables or an
 *   array that stops at the first nil.
 * This module only converts values; it never runs commands.
 */
import { RespError } from "../errors.ts";
import { scriptLimits } from "../limits.ts";
import { double, map, type Reply, set, simple } from "../protocol/reply.ts";
import { formatDouble } from "../protocol/writer.ts";
import { type KeyName, type LuaState, lname, lua, pushKey } from "./vm.ts";

const encoder = new TextEncoder();

export type RespVersion = 2 | 3;

/** Pushes a command's reply onto the Lua stack, as redis.call returns it. */
export function pushReply(L: LuaState, reply: Reply, resp: RespVersion): void {
  lua.lua_checkstack(L, 4);
  if (reply === null) {
    if (resp === 3) lua.lua_pushnil(L);
    else lua.lua_pushboolean(L, false);
    return;
  }
  switch (typeof reply) {
    case "number":
      lua.lua_pushnumber(L, Math.trunc(reply));
      return;
    case "bigint":
      lua.lua_pushnumber(L, Number(reply));
      return;
    case "string":
      lua.lua_pushstring(L, encoder.encode(reply));
      return;
  }
  if (reply instanceof Uint8Array) {
    lua.lua_pushlstring(L, reply, reply.length);
    return;
  }
  if (Array.isArray(reply)) {
    pushArray(L, reply, resp);
    return;
  }
  if (reply instanceof RespError) {
    pushErrorTable(L, reply.wireText);
    return;
  }
  const tagged = reply as Exclude<
    Reply,
    null | number | bigint | string | Uint8Array | RespError | readonly Reply[]
  >;
  switch (tagged.kind) {
    case "simple":
      pushField(L, "ok", tagged.text);
      return;
    case "verbatim":
      if (resp === 3) {
        lua.lua_newtable(L);
        lua.lua_pushstring(L, lname("verbatim_string"));
        lua.lua_newtable(L);
        setString(L, "format", "txt");
        setString(L, "string", tagged.text);
        lua.lua_rawset(L, -3);
      } else lua.lua_pushstring(L, encoder.encode(tagged.text));
      return;
    case "double":
      if (resp === 3) {
        lua.lua_newtable(L);
        pushKey(L, "double");
        lua.lua_pushnumber(L, tagged.value);
        lua.lua_rawset(L, -3);
      } else lua.lua_pushstring(L, encoder.encode(formatDouble(tagged.value)));
      return;
    case "nullarray":
      if (resp === 3) lua.lua_pushnil(L);
      else lua.lua_pushboolean(L, false);
      return;
    case "map":
      if (resp === 2) {
        pushArray(L, tagged.entries.flat() as Reply[], resp);
        return;
      }
      lua.lua_newtable(L);
      pushKey(L, "map");
      lua.lua_newtable(L);
      for (const [k, v] of tagged.entries) {
        pushReply(L, k, resp);
        pushReply(L, v, resp);
        lua.lua_rawset(L, -3);
      }
      lua.lua_rawset(L, -3);
      return;
    case "set":
      if (resp === 2) {
        pushArray(L, tagged.items, resp);
        return;
      }
      lua.lua_newtable(L);
      pushKey(L, "set");
      lua.lua_newtable(L);
      for (const item of tagged.items) {
        pushReply(L, item, resp);
        lua.lua_pushboolean(L, true);
        lua.lua_rawset(L, -3);
      }
      lua.lua_rawset(L, -3);
      return;
    case "multi":
      pushArray(L, tagged.replies, resp);
      return;
    case "none":
      lua.lua_pushboolean(L, false);
      return;
  }
}

function pushArray(L: LuaState, items: readonly Reply[], resp: RespVersion): void {
  lua.lua_createtable(L, items.length, 0);
  for (let i = 0; i < items.length; i++) {
    pushReply(L, items[i]!, resp);
    lua.lua_rawseti(L, -2, i + 1);
  }
}

function pushField(L: LuaState, field: KeyName, text: string): void {
  lua.lua_createtable(L, 0, 1);
  pushKey(L, field);
  lua.lua_pushstring(L, encoder.encode(text));
  lua.lua_rawset(L, -3);
}

function setString(L: LuaState, field: string, text: string): void {
  lua.lua_pushstring(L, lname(field));
  lua.lua_pushstring(L, encoder.encode(text));
  lua.lua_rawset(L, -3);
}

/** An error table as redis.pcall returns it: {err = "CODE message"}. */
export function pushErrorTable(L: LuaState, text: string): void {
  pushField(L, "err", text);
}

/** Reads the string field `name` of the table at `idx`, or null. */
export function stringField(L: LuaState, idx: number, name: KeyName): Uint8Array | null {
  pushKey(L, name);
  const t = lua.lua_rawget(L, idx < 0 ? idx - 1 : idx);
  const out = t === lua.LUA_TSTRING ? (lua.lua_tolstring(L, -1) as Uint8Array) : null;
  lua.lua_pop(L, 1);
  return out;
}

const decoder = new TextDecoder();

/**
 * Converts the Lua value at `idx` into the script's reply. `resp` is the script's setresp()
 * version; the writer renders RESP3 types (booleans, big numbers, doubles, maps) for the
 * caller's protocol, downgrading them for a RESP2 client as Redis does.
 */
export function toReply(L: LuaState, idx: number, resp: RespVersion, depth = 0): Reply {
  const abs = lua.lua_absindex(L, idx);
  // Redis stops a reply nested past its Lua stack with this error in place of the element.
  if (depth > scriptLimits.replyDepthMax || !lua.lua_checkstack(L, 4)) {
    return new RespError("ERR", "reached lua stack limit");
  }
  switch (lua.lua_type(L, abs)) {
    case lua.LUA_TSTRING:
      return (lua.lua_tolstring(L, abs) as Uint8Array).slice();
    case lua.LUA_TBOOLEAN:
      if (resp === 2) return lua.lua_toboolean(L, abs) ? 1 : null;
      return { kind: "boolean", value: lua.lua_toboolean(L, abs) };
    case lua.LUA_TNUMBER:
      return truncate(lua.lua_tonumber(L, abs));
    case lua.LUA_TTABLE:
      return tableReply(L, abs, resp, depth);
    default:
      return null;
  }
}

/**
 * Redis casts a Lua number to long long: truncation toward zero; on x86-64 a value out of
 * range, an infinity or NaN becomes INT64_MIN.
 */
function truncate(n: number): number | bigint {
  const t = Math.trunc(n);
  if (Number.isSafeInteger(t)) return t === 0 ? 0 : t;
  if (!Number.isFinite(t) || t >= 2 ** 63 || t < -(2 ** 63)) return -9223372036854775808n;
  return BigInt(t);
}

function tableReply(L: LuaState, abs: number, resp: RespVersion, depth: number): Reply {
  const err = stringField(L, abs, "err");
  if (err) return errorFromText(decoder.decode(err));
  const ok = stringField(L, abs, "ok");
  if (ok) return simple(decoder.decode(ok).replace(/[\r\n]/g, " "));
  if (resp === 3) {
    const special = resp3Table(L, abs, depth);
    if (special !== undefined) return special;
  }
  const items: Reply[] = [];
  for (let i = 1; ; i++) {
    const t = lua.lua_rawgeti(L, abs, i);
    if (t === lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      break;
    }
    items.push(toReply(L, -1, resp, depth + 1));
    lua.lua_pop(L, 1);
  }
  return items;
}

function resp3Table(L: LuaState, abs: number, depth: number): Reply | undefined {
  pushKey(L, "double");
  if (lua.lua_rawget(L, abs) === lua.LUA_TNUMBER) {
    const v = lua.lua_tonumber(L, -1);
    lua.lua_pop(L, 1);
    return double(v);
  }
  lua.lua_pop(L, 1);
  const big = stringField(L, abs, "big_number");
  if (big) return bigNumber(decoder.decode(big));
  for (const kind of ["map", "set"] as const) {
    pushKey(L, kind);
    if (lua.lua_rawget(L, abs) !== lua.LUA_TTABLE) {
      lua.lua_pop(L, 1);
      continue;
    }
    const entries: [Reply, Reply][] = [];
    const items: Reply[] = [];
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2) !== 0) {
      if (kind === "map")
        entries.push([toReply(L, -2, 3, depth + 1), toReply(L, -1, 3, depth + 1)]);
      else items.push(toReply(L, -2, 3, depth + 1));
      lua.lua_pop(L, 1);
    }
    lua.lua_pop(L, 1);
    return kind === "map" ? map(entries) : set(items);
  }
  return undefined;
}

/** A {big_number=...} table: `(digits` for a RESP3 client, a bulk string for RESP2. */
function bigNumber(text: string): Reply {
  return { kind: "bignumber", text: text.replace(/[\r\n]/g, " ") };
}

/**
 * An {err="CODE message"} table as a reply. Redis writes it as `-<text>`: the text's first
 * word is the code, and a text without a space is sent as it is.
 */
export function errorFromText(text: string): RespError {
  const clean = text.replace(/[\r\n]/g, " ");
  const space = clean.indexOf(" ");
  if (space < 0) return new RawError(clean);
  return new RespError(clean.slice(0, space), clean.slice(space + 1));
}

/** An error line with no separate code (rendered exactly as given). */
class RawError extends RespError {
  constructor(readonly line: string) {
    super(line, "");
  }
  override get wireText(): string {
    return this.line;
  }
}
