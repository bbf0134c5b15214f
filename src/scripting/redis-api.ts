/**
 * The `redis` table scripts see: call, pcall, error_reply, status_reply, sha1hex, log and its
 * levels, setresp, set_repl / replicate_commands (accepted no-ops: there is no replication
 * here), the REPL_* constants and the version. Errors use Redis 7's texts. Commands are run
 * by the current ScriptCall (engine.ts); this module converts arguments and replies and, when
 * a command's reply is still pending, suspends the script's coroutine until it settles.
 */
import { createHash } from "node:crypto";
import { RespError } from "../errors.ts";
import type { Reply } from "../protocol/reply.ts";
import { pushErrorTable, pushReply, type RespVersion } from "./convert.ts";
import { formatG17 } from "./numbers.ts";
import { type LuaState, lname, lua, toJsString } from "./vm.ts";

/** What redis.call needs from the run in progress. */
export interface ScriptCall {
  /** The script's setresp() version (2 until it says otherwise). */
  resp: RespVersion;
  /** Checks and runs one command; a RespError (returned or as the reply) is the command's error. */
  command(args: Uint8Array[]): Reply | Promise<Reply>;
  /** The reply a suspended redis.call waits for; set by the runner before resuming. */
  settled: Reply;
  /** Set by redis.call when it suspends: the runner resumes once this settles. */
  awaiting: Promise<Reply> | null;
}

export interface ApiHost {
  /** The run in progress; redis.* is only reachable while one is. */
  current(): ScriptCall;
  log(level: number, text: string): void;
  readonly version: string;
}

const LEVELS = ["LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"];
const REPL = { REPL_NONE: 0, REPL_AOF: 1, REPL_SLAVE: 2, REPL_REPLICA: 2, REPL_ALL: 3 };
const encoder = new TextEncoder();

/** Raises {err = "ERR <message>"} the way Redis's luaPushError + luaError do. */
export function raise(L: LuaState, message: string): number {
  pushErrorTable(L, `ERR ${message}`);
  return lua.lua_error(L);
}

/** Builds the redis table (left on the stack). */
export function pushRedisTable(L: LuaState, host: ApiHost): void {
  const call = (raising: boolean) => (L2: LuaState) => runCommand(L2, host, raising);
  lua.lua_newtable(L);
  const fns: [string, (L: LuaState) => number][] = [
    ["call", call(true)],
    ["pcall", call(false)],
    ["error_reply", errorReply],
    ["status_reply", statusReply],
    ["sha1hex", sha1hex],
    ["log", (L2) => log(L2, host)],
    ["setresp", (L2) => setresp(L2, host)],
    ["set_repl", setRepl],
    [
      "replicate_commands",
      (L2) => {
        lua.lua_pushboolean(L2, true);
        return 1;
      },
    ],
    [
      "breakpoint",
      (L2) => {
        lua.lua_pushboolean(L2, false);
        return 1;
      },
    ],
    ["debug", () => 0],
  ];
  for (const [name, fn] of fns) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, lname(name));
  }
  LEVELS.forEach((name, level) => {
    lua.lua_pushnumber(L, level);
    lua.lua_setfield(L, -2, lname(name));
  });
  for (const [name, value] of Object.entries(REPL)) {
    lua.lua_pushnumber(L, value);
    lua.lua_setfield(L, -2, lname(name));
  }
  lua.lua_pushstring(L, encoder.encode(host.version));
  lua.lua_setfield(L, -2, lname("REDIS_VERSION"));
  const [major = 0, minor = 0, patch = 0] = host.version.split(".").map(Number);
  lua.lua_pushnumber(L, (major << 16) | (minor << 8) | patch);
  lua.lua_setfield(L, -2, lname("REDIS_VERSION_NUM"));
}

function runCommand(L: LuaState, host: ApiHost, raising: boolean): number {
  const run = host.current();
  const argc = lua.lua_gettop(L);
  if (argc === 0)
    return fail(L, raising, "Please specify at least one argument for this redis lib call");
  const args: Uint8Array[] = new Array(argc);
  for (let i = 1; i <= argc; i++) {
    const t = lua.lua_type(L, i);
    if (t === lua.LUA_TSTRING) args[i - 1] = lua.lua_tolstring(L, i) as Uint8Array;
    else if (t === lua.LUA_TNUMBER) args[i - 1] = encoder.encode(formatG17(lua.lua_tonumber(L, i)));
    else return fail(L, raising, "Lua redis lib command arguments must be strings or integers");
  }
  let result: Reply | Promise<Reply>;
  try {
    result = run.command(args);
  } catch (error) {
    if (!(error instanceof RespError)) throw error;
    result = error;
  }
  if (result instanceof Promise) {
    if (!lua.lua_isyieldable(L)) {
      return fail(
        L,
        raising,
        "This command can not wait here (called from a non-yieldable Lua C function)",
      );
    }
    run.awaiting = result;
    return lua.lua_yieldk(L, 0, raising ? 1 : 0, resumeCommand(host));
  }
  return deliver(L, run, result, raising);
}

/** The continuation of a suspended redis.call: pushes the reply that settled meanwhile. */
function resumeCommand(host: ApiHost) {
  return (L: LuaState, _status: number, raising: number): number => {
    const run = host.current();
    return deliver(L, run, run.settled, raising === 1);
  };
}

function deliver(L: LuaState, run: ScriptCall, reply: Reply, raising: boolean): number {
  lua.lua_settop(L, 0);
  if (reply instanceof RespError) {
    pushErrorTable(L, reply.wireText);
    return raising ? lua.lua_error(L) : 1;
  }
  pushReply(L, reply, run.resp);
  return 1;
}

function fail(L: LuaState, raising: boolean, message: string): number {
  lua.lua_settop(L, 0);
  pushErrorTable(L, `ERR ${message}`);
  return raising ? lua.lua_error(L) : 1;
}

/** redis.error_reply: "-CODE msg" or "msg" (code ERR) becomes {err = "CODE msg"}. */
function errorReply(L: LuaState): number {
  if (lua.lua_gettop(L) !== 1 || lua.lua_type(L, -1) !== lua.LUA_TSTRING) {
    // Returned, not raised, as Redis does.
    pushErrorTable(L, "ERR wrong number or type of arguments");
    return 1;
  }
  let text = toJsString(lua.lua_tolstring(L, -1));
  if (!text.startsWith("-")) text = `-${text}`;
  const space = text.indexOf(" ");
  const [code, msg] =
    space < 0 ? ["ERR", text.slice(1)] : [text.slice(1, space), text.slice(space + 1)];
  pushErrorTable(L, `${code} ${msg.replace(/[\r\n]+$/, "")}`);
  return 1;
}

function statusReply(L: LuaState): number {
  if (lua.lua_gettop(L) !== 1 || lua.lua_type(L, -1) !== lua.LUA_TSTRING) {
    pushErrorTable(L, "ERR wrong number or type of arguments");
    return 1;
  }
  const text = lua.lua_tolstring(L, -1);
  lua.lua_newtable(L);
  lua.lua_pushstring(L, text);
  lua.lua_setfield(L, -2, lname("ok"));
  return 1;
}

function sha1hex(L: LuaState): number {
  if (lua.lua_gettop(L) !== 1) return raise(L, "wrong number of arguments");
  const bytes = lua.lua_tolstring(L, 1) ?? new Uint8Array(0);
  lua.lua_pushstring(L, encoder.encode(createHash("sha1").update(bytes).digest("hex")));
  return 1;
}

function log(L: LuaState, host: ApiHost): number {
  const argc = lua.lua_gettop(L);
  if (argc < 2) return raise(L, "redis.log() requires two arguments or more.");
  if (!lua.lua_isnumber(L, 1)) return raise(L, "First argument must be a number (log level).");
  const level = lua.lua_tonumber(L, 1);
  if (level < 0 || level > 3 || !Number.isInteger(level)) return raise(L, "Invalid debug level.");
  const parts: string[] = [];
  for (let i = 2; i <= argc; i++) parts.push(toJsString(lua.lua_tolstring(L, i) ?? lname("")));
  host.log(level, parts.join(" "));
  return 0;
}

function setresp(L: LuaState, host: ApiHost): number {
  if (lua.lua_gettop(L) !== 1) return raise(L, "redis.setresp() requires one argument.");
  const v = lua.lua_tonumber(L, -1);
  if (v !== 2 && v !== 3) return raise(L, "RESP version must be 2 or 3.");
  host.current().resp = v;
  return 0;
}

function setRepl(L: LuaState): number {
  if (lua.lua_gettop(L) !== 1) return raise(L, "redis.set_repl() requires two arguments.");
  const flags = lua.lua_tonumber(L, -1);
  if (!Number.isInteger(flags) || flags < 0 || flags > REPL.REPL_ALL) {
    return raise(
      L,
      "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
    );
  }
  return 0;
}

/** Redis accepts only these LOG levels; exported for the unit test. */
