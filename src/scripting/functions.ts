/**
 * Redis 7 function libraries: FUNCTION LOAD compiles a library in its own sandbox and runs it
 * once, with a `redis` table offering only register_function and log (anything else is "a
 * nonexistent global", as in Redis); the registered callbacks then run through FCALL with the
 * full redis.* API. Libraries persist in the data dir (function-store.ts) and are reloaded at
 * start; FUNCTION DUMP/RESTORE carry their code. Owns the library registry, not the commands.
 */
import { RespError } from "../errors.ts";
import { scriptLimits } from "../limits.ts";
import type { Reply } from "../protocol/reply.ts";
import { stringField } from "./convert.ts";
import { dumpPayload, parsePayload, readLibraries, writeLibraries } from "./function-store.ts";
import { parseLibrary, validFunctionName } from "./library-code.ts";
import { type ApiHost, pushRedisTable, raise } from "./redis-api.ts";
import { type RunState, ScriptRunner } from "./runner.ts";
import { compileChunk, createSandbox, missingGlobal, readonlyError } from "./sandbox.ts";
import { type LuaState, lauxlib, lname, lua, toJsString } from "./vm.ts";

export const FUNCTION_FLAGS = [
  "no-writes",
  "allow-oom",
  "allow-stale",
  "no-cluster",
  "allow-cross-slot-keys",
];

export interface RegisteredFunction {
  readonly name: string;
  readonly library: string;
  readonly flags: readonly string[];
  readonly description: string | null;
  readonly ref: number;
}

export interface Library {
  readonly name: string;
  readonly code: Uint8Array;
  readonly functions: Map<string, RegisteredFunction>;
}

export type RestorePolicy = "APPEND" | "REPLACE" | "FLUSH";

export class FunctionLibraries {
  private readonly runner: ScriptRunner;
  private readonly libraries = new Map<string, Library>();
  private readonly byName = new Map<string, RegisteredFunction>();
  /** The library being loaded: register_function adds to it; null outside FUNCTION LOAD. */
  private loading: { name: string; functions: Map<string, RegisteredFunction> } | null = null;
  private readonly envRef: number;
  private readonly runtimeRedisRef: number;
  private readonly loadRedisRef: number;

  constructor(
    private readonly dataDir: string | null,
    api: (runner: () => ScriptRunner) => ApiHost,
    version: string,
  ) {
    let runtimeRef = 0;
    let loadRef = 0;
    const box = createSandbox((L) => {
      pushRedisTable(
        L,
        api(() => this.runner),
      );
      runtimeRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
      pushLoadRedis(L, version, (L2) => this.register(L2));
      loadRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    });
    this.runner = new ScriptRunner(box);
    this.runtimeRedisRef = runtimeRef;
    this.loadRedisRef = loadRef;
    this.envRef = this.makeEnv();
    if (dataDir) for (const code of readLibraries(dataDir)) this.load(code, false, false);
  }

  /**
   * The _ENV of library code: the read-only globals, where `redis` is the loading table during
   * FUNCTION LOAD and the full API when a callback runs.
   */
  private makeEnv(): number {
    const L = this.runner.box.L;
    lua.lua_newtable(L);
    lua.lua_newtable(L);
    lua.lua_pushcfunction(L, (L2: LuaState) => {
      if (
        lua.lua_type(L2, 2) === lua.LUA_TSTRING &&
        toJsString(lua.lua_tolstring(L2, 2)) === "redis"
      ) {
        lua.lua_rawgeti(
          L2,
          lua.LUA_REGISTRYINDEX,
          this.loading ? this.loadRedisRef : this.runtimeRedisRef,
        );
        return 1;
      }
      // While loading, Redis 7 offers library code nothing but `redis`.
      if (this.loading) return missingGlobal(L2);
      // A raw read, so a missing name is reported from here, at the script's position.
      lua.lua_rawgeti(L2, lua.LUA_REGISTRYINDEX, this.runner.box.globalsRef);
      lua.lua_pushvalue(L2, 2);
      if (lua.lua_rawget(L2, -2) === lua.LUA_TNIL) return missingGlobal(L2);
      return 1;
    });
    lua.lua_setfield(L, -2, lname("__index"));
    lua.lua_pushcfunction(L, readonlyError);
    lua.lua_setfield(L, -2, lname("__newindex"));
    lua.lua_setmetatable(L, -2);
    return lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  }

  find(name: string): RegisteredFunction | undefined {
    return this.byName.get(name);
  }

  list(): readonly Library[] {
    return [...this.libraries.values()];
  }

  get functionCount(): number {
    return this.byName.size;
  }

  /** FUNCTION LOAD: returns the library name. */
  load(code: Uint8Array, replace: boolean, persist = true): string {
    const { name, body } = parseLibrary(code);
    const existing = this.libraries.get(name);
    if (existing && !replace) throw new RespError("ERR", `Library '${name}' already exists`);
    const functions = this.compileLibrary(name, body);
    for (const fn of functions.values()) {
      const other = this.byName.get(fn.name);
      if (other && other.library !== name) {
        this.release(functions);
        throw new RespError("ERR", `Function ${fn.name} already exists`);
      }
    }
    if (existing) this.drop(existing);
    const library: Library = { name, code: code.slice(), functions };
    this.libraries.set(name, library);
    for (const fn of functions.values()) this.byName.set(fn.name, fn);
    if (persist) this.persist();
    return name;
  }

  private compileLibrary(name: string, body: Uint8Array): Map<string, RegisteredFunction> {
    const L = this.runner.box.L;
    const compiled = compileChunk(this.runner.box, body, "@user_function", this.envRef);
    if ("error" in compiled)
      throw new RespError("ERR", `Error compiling function: ${compiled.error}`);
    const functions = new Map<string, RegisteredFunction>();
    this.loading = { name, functions };
    try {
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, compiled.ref);
      lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, compiled.ref);
      // Library code runs on the main state, synchronously: a clock check stops a runaway.
      const started = performance.now();
      const hook = (L2: LuaState) => {
        if (performance.now() - started <= scriptLimits.functionLoadTimeoutMs) return;
        lua.lua_sethook(L2, hook, lua.LUA_MASKCOUNT, 1);
        lua.lua_pushstring(L2, lname("FUNCTION LOAD timeout"));
        lua.lua_error(L2);
      };
      lua.lua_sethook(L, hook, lua.LUA_MASKCOUNT, scriptLimits.hookInstructions);
      const status = lua.lua_pcall(L, 0, 0, 0);
      lua.lua_sethook(L, null, 0, 0);
      if (status !== lua.LUA_OK) {
        let text: string;
        const err = lua.lua_type(L, -1) === lua.LUA_TTABLE ? stringField(L, -1, "err") : null;
        if (err) text = toJsString(err);
        else text = `ERR ${toJsString(lauxlib.luaL_tolstring(L, -1))}`;
        lua.lua_settop(L, 0);
        this.release(functions);
        throw new RespError("ERR", `Error registering functions: ${text}`);
      }
    } finally {
      this.loading = null;
    }
    if (functions.size === 0) throw new RespError("ERR", "No functions registered");
    return functions;
  }

  /** redis.register_function(name, callback) or redis.register_function{...}. */
  private register(L: LuaState): number {
    const loading = this.loading;
    if (!loading)
      return raise(L, "redis.register_function can only be called on FUNCTION LOAD command");
    let name: string | null = null;
    let flags: string[] = [];
    let description: string | null = null;
    let hasCallback = false;
    const argc = lua.lua_gettop(L);
    if (argc === 1 && lua.lua_type(L, 1) !== lua.LUA_TTABLE) {
      return raise(
        L,
        "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
      );
    }
    if (argc === 2) {
      // lua_isstring, as in Redis: a number is a name too.
      if (!lua.lua_isstring(L, 1))
        return raise(L, "first argument to redis.register_function must be a string");
      if (lua.lua_type(L, 2) !== lua.LUA_TFUNCTION)
        return raise(L, "second argument to redis.register_function must be a function");
      name = toJsString(lua.lua_tolstring(L, 1));
      lua.lua_pushvalue(L, 2);
      hasCallback = true;
    } else if (argc === 1 && lua.lua_type(L, 1) === lua.LUA_TTABLE) {
      lua.lua_pushnil(L);
      while (lua.lua_next(L, 1) !== 0) {
        const key =
          lua.lua_type(L, -2) === lua.LUA_TSTRING ? toJsString(lua.lua_tolstring(L, -2)) : "";
        const t = lua.lua_type(L, -1);
        if (key === "function_name") {
          if (!lua.lua_isstring(L, -1))
            return raise(
              L,
              "function_name argument given to redis.register_function must be a string",
            );
          name = toJsString(lua.lua_tolstring(L, -1));
        } else if (key === "description") {
          if (!lua.lua_isstring(L, -1))
            return raise(
              L,
              "description argument given to redis.register_function must be a string",
            );
          description = toJsString(lua.lua_tolstring(L, -1));
        } else if (key === "callback") {
          if (t !== lua.LUA_TFUNCTION)
            return raise(
              L,
              "callback argument given to redis.register_function must be a function",
            );
          hasCallback = true;
          lua.lua_pushvalue(L, -1);
          lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, lname("__pending_callback"));
        } else if (key === "flags") {
          if (t !== lua.LUA_TTABLE)
            return raise(
              L,
              "flags argument to redis.register_function must be a table representing function flags",
            );
          flags = readFlags(L);
          if (flags.some((f) => !FUNCTION_FLAGS.includes(f))) return raise(L, "unknown flag given");
        } else return raise(L, "unknown argument given to redis.register_function");
        lua.lua_pop(L, 1);
      }
      if (name === null)
        return raise(L, "redis.register_function must get a function name argument");
      if (!hasCallback) return raise(L, "redis.register_function must get a callback argument");
      lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, lname("__pending_callback"));
    } else return raise(L, "wrong number of arguments to redis.register_function");
    // Redis 7.0 words a bad function name with its library-name text.
    if (!validFunctionName(name!)) {
      return raise(
        L,
        "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
      );
    }
    if (loading.functions.has(name!)) return raise(L, "Function already exists in the library");
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    loading.functions.set(name!, { name: name!, library: loading.name, flags, description, ref });
    return 0;
  }

  run(
    fn: RegisteredFunction,
    state: RunState,
    pushArgs: (L: LuaState) => number,
  ): Reply | Promise<Reply> {
    return this.runner.run({ fnRef: fn.ref, pushArgs, name: fn.name, state });
  }

  /** FUNCTION DELETE. */
  delete(name: string): void {
    const library = this.libraries.get(name);
    if (!library) throw new RespError("ERR", "Library not found");
    this.drop(library);
    this.persist();
  }

  /** FUNCTION FLUSH. */
  flush(): void {
    for (const library of [...this.libraries.values()]) this.drop(library);
    this.persist();
  }

  dump(): Uint8Array {
    return dumpPayload(this.list().map((l) => l.code));
  }

  /** FUNCTION RESTORE: all or nothing; APPEND refuses a library or function that exists. */
  restore(payload: Uint8Array, policy: RestorePolicy): void {
    const codes = parsePayload(payload);
    const before = this.list().map((l) => l.code);
    if (policy === "FLUSH") for (const library of [...this.libraries.values()]) this.drop(library);
    try {
      for (const code of codes) {
        if (policy === "APPEND") {
          const { name } = parseLibrary(code);
          if (this.libraries.has(name))
            throw new RespError("ERR", `Library ${name} already exists`);
        }
        this.load(code, policy !== "APPEND", false);
      }
    } catch (error) {
      for (const library of [...this.libraries.values()]) this.drop(library);
      for (const code of before) this.load(code, true, false);
      throw error;
    }
    this.persist();
  }

  private drop(library: Library): void {
    this.libraries.delete(library.name);
    for (const fn of library.functions.values()) {
      if (this.byName.get(fn.name) === fn) this.byName.delete(fn.name);
    }
    this.release(library.functions);
  }

  private release(functions: Map<string, RegisteredFunction>): void {
    const L = this.runner.box.L;
    for (const fn of functions.values()) lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, fn.ref);
  }

  private persist(): void {
    if (this.dataDir)
      writeLibraries(
        this.dataDir,
        this.list().map((l) => l.code),
      );
  }
}

function readFlags(L: LuaState): string[] {
  const flags: string[] = [];
  for (let i = 1; ; i++) {
    const t = lua.lua_rawgeti(L, -1, i);
    if (t === lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      return flags;
    }
    flags.push(t === lua.LUA_TSTRING ? toJsString(lua.lua_tolstring(L, -1)) : "");
    lua.lua_pop(L, 1);
  }
}

/** The `redis` of library code while it loads: register_function, log and the constants. */
function pushLoadRedis(L: LuaState, version: string, register: (L: LuaState) => number): void {
  lua.lua_newtable(L);
  lua.lua_pushcfunction(L, register);
  lua.lua_setfield(L, -2, lname("register_function"));
  lua.lua_pushcfunction(L, () => 0);
  lua.lua_setfield(L, -2, lname("log"));
  ["LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"].forEach((name, level) => {
    lua.lua_pushnumber(L, level);
    lua.lua_setfield(L, -2, lname(name));
  });
  lua.lua_pushstring(L, new TextEncoder().encode(version));
  lua.lua_setfield(L, -2, lname("REDIS_VERSION"));
  lua.lua_newtable(L);
  lua.lua_pushcfunction(L, missingGlobal);
  lua.lua_setfield(L, -2, lname("__index"));
  lua.lua_pushcfunction(L, readonlyError);
  lua.lua_setfield(L, -2, lname("__newindex"));
  lua.lua_setmetatable(L, -2);
}
