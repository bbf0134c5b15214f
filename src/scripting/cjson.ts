/**
 * The `cjson` library Redis bundles (lua-cjson 2.1): encode and decode with its defaults —
 * numbers with %.14g, "/" escaped as "\/", a table is an array when its keys are 1..n (sparse
 * beyond 2x refused), an empty table is "{}", cjson.null is a light userdata NULL, nesting
 * capped at 1000. Object key order follows the VM's table order (like Redis, unspecified).
 * decode goes through JSON.parse, so its error texts are approximate.
 */
import { scriptLimits } from "../limits.ts";
import { formatG } from "./numbers.ts";
import { type LuaState, lauxlib, lname, lua, toJsString } from "./vm.ts";

const DEPTH_MAX = scriptLimits.cjsonDepthMax;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function jsonString(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += "\\\\";
    else if (b === 0x2f) out += "\\/";
    else if (b === 0x08) out += "\\b";
    else if (b === 0x0c) out += "\\f";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0d) out += "\\r";
    else if (b === 0x09) out += "\\t";
    else if (b < 0x20 || b === 0x7f) out += `\\u${b.toString(16).padStart(4, "0")}`;
    else out += String.fromCharCode(b);
  }
  return `${out}"`;
}

class EncodeError extends Error {}

function encodeNumber(n: number): string {
  if (!Number.isFinite(n)) throw new EncodeError("Cannot serialise number: must not be NaN or Inf");
  return formatG(n, 14);
}

/** Encodes the value at `idx`; strings are built one char per byte, then turned into bytes. */
function encodeValue(L: LuaState, idx: number, depth: number): string {
  const abs = lua.lua_absindex(L, idx);
  switch (lua.lua_type(L, abs)) {
    case lua.LUA_TNIL:
      return "null";
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, abs) ? "true" : "false";
    case lua.LUA_TNUMBER:
      return encodeNumber(lua.lua_tonumber(L, abs));
    case lua.LUA_TSTRING:
      return jsonString(lua.lua_tolstring(L, abs));
    case lua.LUA_TLIGHTUSERDATA:
      if (lua.lua_touserdata(L, abs) === null) return "null";
      break;
    case lua.LUA_TTABLE:
      return encodeTable(L, abs, depth + 1);
  }
  throw new EncodeError(
    `Cannot serialise ${toJsString(lauxlib.luaL_typename(L, abs))}: type not supported`,
  );
}

function encodeTable(L: LuaState, abs: number, depth: number): string {
  if (depth > DEPTH_MAX) throw new EncodeError(`Cannot serialise, excessive nesting (${depth})`);
  lua.lua_checkstack(L, 4);
  // Array when every key is a positive integral number (lua-cjson's lua_array_length).
  let max = 0;
  let items = 0;
  let array = true;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, abs) !== 0) {
    lua.lua_pop(L, 1);
    if (array && lua.lua_type(L, -1) === lua.LUA_TNUMBER) {
      const k = lua.lua_tonumber(L, -1);
      if (Number.isInteger(k) && k >= 1) {
        max = Math.max(max, k);
        items++;
        continue;
      }
    }
    array = false;
  }
  if (array && max > 0) {
    if (max > items * 2 && max > 10)
      throw new EncodeError("Cannot serialise table: excessively sparse array");
    const parts: string[] = [];
    for (let i = 1; i <= max; i++) {
      lua.lua_rawgeti(L, abs, i);
      parts.push(encodeValue(L, -1, depth));
      lua.lua_pop(L, 1);
    }
    return `[${parts.join(",")}]`;
  }
  const parts: string[] = [];
  lua.lua_pushnil(L);
  while (lua.lua_next(L, abs) !== 0) {
    const kt = lua.lua_type(L, -2);
    let key: string;
    if (kt === lua.LUA_TSTRING) key = jsonString(lua.lua_tolstring(L, -2));
    else if (kt === lua.LUA_TNUMBER) key = `"${encodeNumber(lua.lua_tonumber(L, -2))}"`;
    else throw new EncodeError("Cannot serialise table: table key must be a number or string");
    parts.push(`${key}:${encodeValue(L, -1, depth)}`);
    lua.lua_pop(L, 1);
  }
  return `{${parts.join(",")}}`;
}

function encode(L: LuaState): number {
  if (lua.lua_gettop(L) !== 1) return raiseText(L, "expected 1 argument");
  let text: string;
  try {
    text = encodeValue(L, 1, 0);
  } catch (error) {
    if (error instanceof EncodeError) return raiseText(L, error.message);
    throw error;
  }
  lua.lua_pushstring(
    L,
    Uint8Array.from(text, (c) => c.charCodeAt(0)),
  );
  return 1;
}

function pushJson(L: LuaState, value: unknown, depth: number): void {
  if (depth > DEPTH_MAX) throw new EncodeError(`Found too many nested data structures (${depth})`);
  lua.lua_checkstack(L, 4);
  if (value === null) lua.lua_pushlightuserdata(L, null);
  else if (typeof value === "boolean") lua.lua_pushboolean(L, value);
  else if (typeof value === "number") lua.lua_pushnumber(L, value);
  else if (typeof value === "string") lua.lua_pushstring(L, encoder.encode(value));
  else if (Array.isArray(value)) {
    lua.lua_createtable(L, value.length, 0);
    value.forEach((item, i) => {
      pushJson(L, item, depth + 1);
      lua.lua_rawseti(L, -2, i + 1);
    });
  } else {
    lua.lua_newtable(L);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      lua.lua_pushstring(L, encoder.encode(k));
      pushJson(L, v, depth + 1);
      lua.lua_rawset(L, -3);
    }
  }
}

function decode(L: LuaState): number {
  if (lua.lua_gettop(L) !== 1) return raiseText(L, "expected 1 argument");
  const text = decoder.decode(lua.lua_tolstring(L, 1) ?? new Uint8Array());
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return raiseText(L, "Expected value but found invalid token at character 1");
  }
  try {
    pushJson(L, value, 0);
  } catch (error) {
    if (error instanceof EncodeError) return raiseText(L, error.message);
    throw error;
  }
  return 1;
}

/** Raises with the calling script's position, as lua-cjson's luaL_error does. */
function raiseText(L: LuaState, message: string): number {
  return lauxlib.luaL_error(L, lname("%s"), encoder.encode(message));
}

/** Pushes the cjson table. */
export function pushCjsonLibrary(L: LuaState): void {
  lua.lua_newtable(L);
  lua.lua_pushcfunction(L, encode);
  lua.lua_setfield(L, -2, lname("encode"));
  lua.lua_pushcfunction(L, decode);
  lua.lua_setfield(L, -2, lname("decode"));
  lua.lua_pushlightuserdata(L, null);
  lua.lua_setfield(L, -2, lname("null"));
}
