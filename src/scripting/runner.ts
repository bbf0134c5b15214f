/**
 * Runs one compiled script or function to completion inside a coroutine of a sandbox, so the
 * event loop keeps turning while it runs: a redis.call whose reply is still pending (a write
 * waiting for its commit) suspends the coroutine until it settles, and an instruction-count
 * hook checks the clock; once the script has run past the busy threshold it yields every few
 * milliseconds, so other clients get BUSY and SCRIPT KILL can reach it. Shapes errors as
 * Redis 7 does: "<msg> script: <name>, on @user_script:<line>.". Knows nothing of commands.
 */
import { RespError } from "../errors.ts";
import { scriptLimits } from "../limits.ts";
import type { Reply } from "../protocol/reply.ts";
import {
  errorFromText,
  pushErrorTable,
  type RespVersion,
  stringField,
  toReply,
} from "./convert.ts";
import type { ScriptCall } from "./redis-api.ts";
import type { Sandbox } from "./sandbox.ts";
import { type LuaState, lauxlib, lua, toJsString } from "./vm.ts";

/** Bytes the JS heap holds now: objects (Lua tables) and buffers (Lua strings). */
function heapBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** The state of one run: what redis.call needs, plus busy and kill bookkeeping. */
export class RunState implements ScriptCall {
  resp: RespVersion = 2;
  settled: Reply = null;
  awaiting: Promise<Reply> | null = null;
  /** Set once a write command ran: such a script can no longer be killed. */
  wrote = false;
  killRequested = false;
  busy = false;
  instructions = 0;
  readonly startedAt = performance.now();
  private lastYield = 0;
  private lastMemoryCheck = this.startedAt;
  private readonly heapAtStart = heapBytes();

  constructor(
    readonly command: (args: Uint8Array[]) => Reply | Promise<Reply>,
    /** Called once when the script passes the busy threshold. */
    readonly onBusy: () => void,
    readonly busyThresholdMs: number,
    /** Called before each write command: the host starts committing writes together. */
    readonly beginWrites: () => void,
    /** The heap growth past which the script is stopped (scriptLimits.heapGrowthMaxBytes). */
    readonly heapGrowthMaxBytes: number = scriptLimits.heapGrowthMaxBytes,
  ) {}

  /** Hook decision: "kill", "yield" (give the loop a turn) or "go". */
  tick(now: number): "kill" | "yield" | "limit" | "memory" | "go" {
    if (this.killRequested) return "kill";
    this.instructions += scriptLimits.hookInstructions;
    if (this.instructions > scriptLimits.instructionsMax) return "limit";
    if (now - this.lastMemoryCheck >= scriptLimits.memoryCheckEveryMs) {
      this.lastMemoryCheck = now;
      if (this.overMemory()) return "memory";
    }
    if (!this.busy) {
      if (now - this.startedAt < this.busyThresholdMs) return "go";
      this.busy = true;
      this.onBusy();
    }
    if (now - this.lastYield < scriptLimits.busyYieldEveryMs) return "go";
    this.lastYield = now;
    return "yield";
  }

  /** Over the heap-growth bound, counting only what a full collection cannot free. */
  private overMemory(): boolean {
    if (heapBytes() - this.heapAtStart <= this.heapGrowthMaxBytes) return false;
    Bun.gc(true);
    return heapBytes() - this.heapAtStart > this.heapGrowthMaxBytes;
  }
}

export interface RunRequest {
  /** Registry reference of the compiled function. */
  readonly fnRef: number;
  /** Pushes the call's arguments onto the thread; returns how many. */
  readonly pushArgs: (L: LuaState) => number;
  /** The name in error texts: the script's SHA1, or the function's name. */
  readonly name: string;
  readonly state: RunState;
}

/** Runs requests in one sandbox; one at a time (the caller holds the server's exclusive gate). */
export class ScriptRunner {
  private current: RunState | null = null;
  /** A finished coroutine, ready to run the next request (saves a thread per call). */
  private spare: { thread: LuaState; ref: number } | null = null;

  /** The coroutine of the run in progress: only it may yield to the event loop. */
  private thread: LuaState | null = null;

  constructor(readonly box: Sandbox) {
    box.onInterruptCheck = (L) => {
      const state = this.current;
      if (state?.killRequested) return raiseInterrupt(L, KILLED);
      if (state && state.instructions > scriptLimits.instructionsMax)
        return raiseInterrupt(L, LIMIT);
      return 0;
    };
  }

  /** The run in progress, for redis.* functions. */
  active(): RunState {
    if (!this.current) throw new Error("redis.* called outside a script run");
    return this.current;
  }

  run(request: RunRequest): Reply | Promise<Reply> {
    const co = this.spare ?? this.newThread();
    this.spare = null;
    lua.lua_rawgeti(co.thread, lua.LUA_REGISTRYINDEX, request.fnRef);
    const nargs = request.pushArgs(co.thread);
    return this.drive(co, nargs, request);
  }

  private newThread(): { thread: LuaState; ref: number } {
    const L = this.box.L;
    const thread = lua.lua_newthread(L);
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_sethook(thread, this.hook, lua.LUA_MASKCOUNT, scriptLimits.hookInstructions);
    return { thread, ref };
  }

  private readonly hook = (L: LuaState): void => {
    const state = this.current;
    if (!state) return;
    switch (state.tick(performance.now())) {
      case "kill":
        raiseInterrupt(L, KILLED);
        return;
      case "limit":
        raiseInterrupt(L, LIMIT);
        return;
      case "memory":
        raiseInterrupt(L, MEMORY);
        return;
      case "yield":
        // A coroutine the script made must not yield to us: it would return to the script.
        if (L === this.thread && lua.lua_isyieldable(L)) lua.lua_yield(L, 0);
        return;
      case "go":
        return;
    }
  };

  private drive(
    co: { thread: LuaState; ref: number },
    nargs: number,
    request: RunRequest,
  ): Reply | Promise<Reply> {
    const { thread } = co;
    const state = request.state;
    this.current = state;
    this.thread = thread;
    let status: number;
    try {
      status = lua.lua_resume(thread, null, nargs);
    } catch (error) {
      // A JavaScript failure inside the VM (a bug): drop the thread, keep the runner usable.
      this.current = null;
      this.thread = null;
      lauxlib.luaL_unref(this.box.L, lua.LUA_REGISTRYINDEX, co.ref);
      throw error;
    }
    if (status === lua.LUA_YIELD) {
      const waiting = state.awaiting;
      state.awaiting = null;
      const next = waiting
        ? waiting.then(
            (reply) => reply,
            (error) => (error instanceof RespError ? error : new RespError("ERR", String(error))),
          )
        : new Promise<Reply>((resolve) => setImmediate(() => resolve(null)));
      return next.then((reply) => {
        if (waiting) state.settled = reply;
        return this.drive(co, 0, request);
      });
    }
    this.current = null;
    this.thread = null;
    if (status === lua.LUA_OK) {
      const reply = lua.lua_gettop(thread) >= 1 ? toReply(thread, 1, state.resp) : null;
      lua.lua_settop(thread, 0);
      lua.lua_sethook(thread, this.hook, lua.LUA_MASKCOUNT, scriptLimits.hookInstructions);
      this.spare = co;
      return reply;
    }
    const reply = scriptError(thread, request.name);
    // A thread that failed can't run again: drop it.
    lauxlib.luaL_unref(this.box.L, lua.LUA_REGISTRYINDEX, co.ref);
    return reply;
  }
}

const KILLED = "ERR Script killed by user with SCRIPT KILL...";
const LIMIT = "ERR Script exceeded the instruction limit";
const MEMORY = "ERR Script exceeded the memory limit";

function raiseInterrupt(L: LuaState, text: string): number {
  pushErrorTable(L, text);
  return lua.lua_error(L);
}

/** The error reply for a failed run, with the position of the Lua code that raised it. */
function scriptError(L: LuaState, name: string): RespError {
  // The failed frame's stack slice may be full; the error object is read above it.
  lua.lua_checkstack(L, 8);
  let msg: string;
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
    const err = stringField(L, -1, "err");
    msg = err ? toJsString(err) : `ERR ${luaText(L)}`;
  } else msg = `ERR ${luaText(L)}`;
  const where = position(L);
  if (!where) return errorFromText(msg);
  return errorFromText(`${msg} script: ${name}, on ${where}.`);
}

function luaText(L: LuaState): string {
  const text = toJsString(lauxlib.luaL_tolstring(L, -1));
  lua.lua_pop(L, 1);
  return text;
}

/** "@user_script:3": the innermost frame of script code when the error was raised. */
function position(L: LuaState): string | null {
  for (let level = 0; level < 64; level++) {
    const ar = new lua.lua_Debug();
    if (!lua.lua_getstack(L, level, ar)) return null;
    lua.lua_getinfo(L, "Sl", ar);
    // fengari names JavaScript functions' frames "=[JS]" (C Lua: what == "C").
    const source = toJsString(ar.source);
    if (toJsString(ar.what) === "C" || source === "=[JS]" || source === "=prelude") continue;
    return `${source}:${ar.currentline}`;
  }
  return null;
}
