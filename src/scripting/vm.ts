/**
 * The Lua VM: fengari (Lua 5.3 written in JavaScript), adjusted towards the Lua 5.1 that Redis
 * embeds. Redis's Lua has one number type, a double; fengari has 32-bit integers beside
 * doubles, which would wrap millisecond timestamps and large counters. So every numeral the
 * lexer reads and every string converted to a number becomes a float (one patch of
 * luaO_str2num, which fengari's lexer, VM and API look up through the module object at call
 * time), and integral floats print without ".0", as in Lua 5.1.
 * This module owns that set-up and re-exports the fengari API; nothing else imports fengari.
 * Why fengari rather than wasmoon: docs/scripting.md (measured).
 */

import { formatG } from "./numbers.ts";

// fengari reads FENGARICONF once, when its luaconf module is first evaluated, so it is set
// before the first require (a static import would be evaluated before this module's body).
// LUA_COMPAT_FLOATSTRING prints integral floats without ".0", as Lua 5.1 does.
const conf = process.env.FENGARICONF ? JSON.parse(process.env.FENGARICONF) : {};
process.env.FENGARICONF = JSON.stringify({ ...conf, LUA_COMPAT_FLOATSTRING: true });
const fengari = require("fengari");
const lobjectModule = require("fengari/src/lobject.js");
const lstringModule = require("fengari/src/lstring.js");

interface TValueLike {
  ttisinteger(): boolean;
  setfltvalue(x: number): void;
  setsvalue(x: unknown): void;
  value: number;
}

type Str2Num = ((s: Uint8Array, o: TValueLike) => number) & { floatsOnly?: true };

type ToString = ((L: unknown, o: TValueLike) => void) & { lua51?: true };

const lobject = ((lobjectModule as { default?: unknown }).default ?? lobjectModule) as {
  luaO_str2num: Str2Num;
  luaO_tostring: ToString;
};
const luaS_bless = (lstringModule.default ?? lstringModule).luaS_bless as (
  L: unknown,
  b: Uint8Array,
) => unknown;

// Idempotent: a second import (tests reloading modules) must not wrap the wrapper.
if (!lobject.luaO_str2num.floatsOnly) {
  const original = lobject.luaO_str2num;
  const floatsOnly: Str2Num = (s, o) => {
    const size = original(s, o);
    if (size !== 0 && o.ttisinteger()) o.setfltvalue(o.value);
    return size;
  };
  floatsOnly.floatsOnly = true;
  lobject.luaO_str2num = floatsOnly;
}

// Floats print with "%.14g" as in Lua 5.1 (fengari's own format differs past 1e14): this
// covers concatenation and lua_tolstring; the prelude routes tostring() through concatenation.
if (!lobject.luaO_tostring.lua51) {
  const original = lobject.luaO_tostring;
  const lua51: ToString = (L, o) => {
    if (o.ttisinteger()) original(L, o);
    else o.setsvalue(luaS_bless(L, (fengari as Untyped).to_luastring(formatG(o.value, 14))));
  };
  lua51.lua51 = true;
  lobject.luaO_tostring = lua51;
}

// biome-ignore lint/suspicious/noExplicitAny: fengari is untyped JavaScript.
type Untyped = any;
export const lua: Untyped = (fengari as Untyped).lua;
export const lauxlib: Untyped = (fengari as Untyped).lauxlib;
export const lualib: Untyped = (fengari as Untyped).lualib;
export const toLuaString: (s: string) => Uint8Array = (fengari as Untyped).to_luastring;
export const toJsString: (s: Uint8Array) => string = (fengari as Untyped).to_jsstring;

/** A fengari lua_State (opaque here). */
export type LuaState = Untyped;

/** A Lua API name as bytes (to_luastring allocates; hot paths use the KEY strings below). */
export function lname(s: string): Uint8Array {
  return toLuaString(s);
}

/**
 * Table keys used on every call (KEYS, ARGV, err, ok, ...) as ready-made fengari strings:
 * fengari hashes a string the first time it is used as a key and keeps the hash on the string
 * object, so pushing these instead of fresh strings saves a per-call hash of each name.
 */
const KEY_NAMES = ["KEYS", "ARGV", "err", "ok", "double", "map", "set", "big_number"] as const;
export type KeyName = (typeof KEY_NAMES)[number];
const keyStrings: ReadonlyMap<KeyName, unknown> = new Map(
  KEY_NAMES.map((name) => [name, luaS_bless(null, toLuaString(name))]),
);
const lobjectApi = lobject as unknown as { pushsvalue2s(L: unknown, ts: unknown): void };

/** Pushes one of the KEY strings (the caller has checked the stack has room). */
export function pushKey(L: LuaState, name: KeyName): void {
  lobjectApi.pushsvalue2s(L, keyStrings.get(name));
}
