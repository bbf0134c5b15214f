/**
 * The server's scripting engine: one sandbox for EVAL scripts (a cache by SHA1, as in Redis:
 * lost on restart, emptied by SCRIPT FLUSH) and the function libraries (functions.ts). Every
 * run goes through the host's atomically(): no other client's command interleaves and its
 * writes commit together; an error halfway keeps the writes made before it, as in Redis.
 * Tracks the run in progress for BUSY and SCRIPT/FUNCTION KILL. One instance per server.
 */
import { createHash } from "node:crypto";
import type { CommandTableOf } from "../commands/row.ts";
import { RespError } from "../errors.ts";
import { scriptLimits } from "../limits.ts";
import { OK, type Reply } from "../protocol/reply.ts";
import { commandRunner, scriptCtx } from "./calls.ts";
import { FunctionLibraries } from "./functions.ts";
import { BUSY_FUNCTION, BUSY_SCRIPT, type ScriptCtx, type ScriptHost } from "./host.ts";
import { parseScriptShebang } from "./library-code.ts";
import { type ApiHost, pushRedisTable } from "./redis-api.ts";
import { RunState, ScriptRunner } from "./runner.ts";
import { compileChunk, createSandbox, setRawGlobal } from "./sandbox.ts";
import { type LuaState, lauxlib, lname, lua } from "./vm.ts";

export interface EngineOptions {
  readonly host: ScriptHost;
  readonly table: CommandTableOf;
  readonly version: string;
  /** Where function libraries persist (functions.lua.json); null keeps them in memory. */
  readonly dataDir: string | null;
}

export interface Running {
  readonly state: RunState;
  readonly kind: "script" | "function";
  /** The SHA1 or function name, and the command that started it (FUNCTION STATS). */
  readonly name: string;
  readonly command: readonly Uint8Array[];
}

export class ScriptEngine {
  /** busy-reply-threshold (lua-time-limit) in ms. */
  busyThresholdMs: number = scriptLimits.busyReplyThresholdMs;
  /** How much a script may grow the heap before it is stopped (tests lower it). */
  heapGrowthMaxBytes: number = scriptLimits.heapGrowthMaxBytes;
  private readonly runner: ScriptRunner;
  /** Cached scripts by SHA1: the compiled function and its shebang flags (null: none). */
  private readonly scripts = new Map<
    string,
    { ref: number; flags: string[] | null; bytes: number }
  >();
  /** Source bytes of the cached scripts (INFO's used_memory_scripts_eval). */
  private scriptBytes = 0;
  readonly functions: FunctionLibraries;
  /** The run in progress (at most one: runs hold the server's exclusive gate). */
  running: Running | null = null;

  constructor(private readonly options: EngineOptions) {
    const api = (runner: () => ScriptRunner): ApiHost => ({
      current: () => runner().active(),
      log: (level, text) => options.host.log(level, text),
      version: options.version,
    });
    const box = createSandbox((L) => {
      pushRedisTable(
        L,
        api(() => this.runner),
      );
      lua.lua_setglobal(L, lname("redis"));
    });
    this.runner = new ScriptRunner(box);
    this.functions = new FunctionLibraries(options.dataDir, api, options.version);
  }

  /** SCRIPT LOAD / the caching half of EVAL: compiles once per SHA1. */
  load(body: Uint8Array): string {
    const sha = createHash("sha1").update(body).digest("hex");
    if (this.scripts.has(sha)) return sha;
    const shebang = parseScriptShebang(body);
    const compiled = compileChunk(this.runner.box, shebang.body, "@user_script");
    if ("error" in compiled) {
      throw new RespError("ERR", `Error compiling script (new function): ${compiled.error}`);
    }
    this.scripts.set(sha, { ref: compiled.ref, flags: shebang.flags, bytes: body.length });
    this.scriptBytes += body.length;
    return sha;
  }

  exists(sha: string): boolean {
    return this.scripts.has(sha.toLowerCase());
  }

  /** SCRIPT FLUSH: forget every cached script (their functions are left to the GC). */
  flush(): void {
    const L = this.runner.box.L;
    for (const { ref } of this.scripts.values()) lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, ref);
    this.scripts.clear();
    this.scriptBytes = 0;
  }

  /**
   * INFO memory's scripting fields, as far as they can be known here: counts, and the source
   * bytes of cached scripts and loaded libraries. fengari's Lua state lives in the JS heap,
   * which keeps no per-VM account, so the used_memory_vm_* fields report 0 (docs/scripting.md).
   */
  memoryInfo(): {
    cachedScripts: number;
    scriptBytes: number;
    functions: number;
    libraries: number;
    libraryBytes: number;
  } {
    const libraries = this.functions.list();
    return {
      cachedScripts: this.scripts.size,
      scriptBytes: this.scriptBytes,
      functions: this.functions.functionCount,
      libraries: libraries.length,
      libraryBytes: libraries.reduce((n, lib) => n + lib.code.length, 0),
    };
  }

  get cachedScripts(): number {
    return this.scripts.size;
  }

  eval(
    ctx: ScriptCtx,
    body: Uint8Array,
    keys: Uint8Array[],
    argv: Uint8Array[],
    readOnly: boolean,
    command: readonly Uint8Array[] = [],
  ) {
    const sha = this.load(body);
    return this.runScript(ctx, sha, keys, argv, readOnly, command);
  }

  evalsha(
    ctx: ScriptCtx,
    sha: string,
    keys: Uint8Array[],
    argv: Uint8Array[],
    readOnly: boolean,
    command: readonly Uint8Array[] = [],
  ) {
    const lowered = sha.toLowerCase();
    if (!this.scripts.has(lowered)) {
      throw new RespError("NOSCRIPT", "No matching script. Please use EVAL.");
    }
    return this.runScript(ctx, lowered, keys, argv, readOnly, command);
  }

  private runScript(
    ctx: ScriptCtx,
    sha: string,
    keys: Uint8Array[],
    argv: Uint8Array[],
    readOnly: boolean,
    command: readonly Uint8Array[],
  ): Reply | Promise<Reply> {
    const { ref: fnRef, flags } = this.scripts.get(sha)!;
    // With a shebang, a script writes unless it says no-writes; *_RO refuses such a script.
    if (flags && readOnly && !flags.includes("no-writes")) {
      throw new RespError("ERR", "Can not execute a script with write flag using *_ro command.");
    }
    const noWrites = readOnly || (flags?.includes("no-writes") ?? false);
    return this.options.host.atomically(ctx, (beginWrites) => {
      const run = {
        declaredKeys: keys,
        crossSlot: flags?.includes("allow-cross-slot-keys") ?? false,
      };
      const state = this.newState(ctx, noWrites, BUSY_SCRIPT, beginWrites, run);
      const box = this.runner.box;
      setRawGlobal(box, "KEYS", (L) => pushStrings(L, keys));
      setRawGlobal(box, "ARGV", (L) => pushStrings(L, argv));
      return this.track(ctx, { state, kind: "script", name: sha, command }, () =>
        this.runner.run({ fnRef, pushArgs: () => 0, name: sha, state }),
      );
    });
  }

  /** FCALL / FCALL_RO. */
  fcall(
    ctx: ScriptCtx,
    name: string,
    keys: Uint8Array[],
    argv: Uint8Array[],
    readOnly: boolean,
    command: readonly Uint8Array[] = [],
  ) {
    const fn = this.functions.find(name);
    if (!fn) throw new RespError("ERR", "Function not found");
    const effectiveReadOnly = readOnly || fn.flags.includes("no-writes");
    if (readOnly && !fn.flags.includes("no-writes")) {
      throw new RespError("ERR", "Can not execute a script with write flag using *_ro command.");
    }
    return this.options.host.atomically(ctx, (beginWrites) => {
      const run = { declaredKeys: keys, crossSlot: fn.flags.includes("allow-cross-slot-keys") };
      const state = this.newState(ctx, effectiveReadOnly, BUSY_FUNCTION, beginWrites, run);
      return this.track(ctx, { state, kind: "function", name, command }, () =>
        this.functions.run(fn, state, (L) => {
          pushStrings(L, keys);
          pushStrings(L, argv);
          return 2;
        }),
      );
    });
  }

  private newState(
    ctx: ScriptCtx,
    readOnly: boolean,
    busyText: string,
    beginWrites: () => void,
    run: ScriptCtx["run"],
  ): RunState {
    const host = this.options.host;
    const state = new RunState(
      (args) => call(args),
      () => host.busy(ctx, new RespError("BUSY", busyText)),
      this.busyThresholdMs,
      beginWrites,
      this.heapGrowthMaxBytes,
    );
    const call = commandRunner(
      ctx.server.table,
      host.execute,
      scriptCtx(ctx, run),
      state,
      readOnly,
    );
    return state;
  }

  private track(ctx: ScriptCtx, running: Running, body: () => Reply | Promise<Reply>) {
    const state = running.state;
    this.running = running;
    const done = () => {
      this.running = null;
      if (state.busy) this.options.host.busy(ctx, null);
    };
    let result: Reply | Promise<Reply>;
    try {
      result = body();
    } catch (error) {
      done();
      throw error;
    }
    if (!(result instanceof Promise)) {
      done();
      return result;
    }
    return result.finally(done);
  }

  /** SCRIPT KILL / FUNCTION KILL. */
  /**
   * SHUTDOWN while a script runs past the busy threshold, as Redis: without NOSAVE it is
   * refused with the BUSY error of the running kind; with NOSAVE the script is stopped at
   * its next check, even one that has written.
   */
  shutdownCheck(nosave: boolean): RespError | null {
    const running = this.running;
    if (!running?.state.busy) return null;
    if (!nosave) {
      return new RespError("BUSY", running.kind === "script" ? BUSY_SCRIPT : BUSY_FUNCTION);
    }
    running.state.killRequested = true;
    return null;
  }

  kill(kind: Running["kind"]): Reply {
    const running = this.running;
    if (!running) throw new RespError("NOTBUSY", "No scripts in execution right now.");
    if (running.kind !== kind) {
      throw new RespError(
        "BUSY",
        kind === "script"
          ? "Redis is busy running a function. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
          : "Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
      );
    }
    if (running.state.wrote) {
      throw new RespError(
        "UNKILLABLE",
        "Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
      );
    }
    running.state.killRequested = true;
    return OK;
  }
}

function pushStrings(L: LuaState, items: Uint8Array[]): void {
  lua.lua_createtable(L, items.length, 0);
  for (let i = 0; i < items.length; i++) {
    lua.lua_pushlstring(L, items[i]!, items[i]!.length);
    lua.lua_rawseti(L, -2, i + 1);
  }
}
