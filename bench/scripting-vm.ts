/**
 * The VM choice, measured (docs/scripting.md): fengari (Lua 5.3 in JS) against wasmoon (Lua 5.4
 * in wasm) — start a VM, one JS -> Lua call, a 10,000-iteration loop. Run it as is, and inside
 * the compiled binary:
 *   bun bench/scripting-vm.ts
 *   bun build bench/scripting-vm.ts --compile --outfile /tmp/vm-bench && /tmp/vm-bench
 */
import { LuaFactory } from "wasmoon";

// fengari ships no types (src/scripting/vm.ts loads it the same way).
const { lua, lauxlib, lualib, to_luastring } = require("fengari");
const LOOP = "local s = 0 for i = 1, 10000 do s = s + i end return s";
const CALLS = 10_000;

function fengariRun(): string {
  let t0 = performance.now();
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  const startup = performance.now() - t0;
  lauxlib.luaL_loadstring(L, to_luastring("return function(a) return a + 1 end"));
  lua.lua_call(L, 0, 1);
  lua.lua_setglobal(L, to_luastring("f"));
  const f = to_luastring("f");
  t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    lua.lua_getglobal(L, f);
    lua.lua_pushinteger(L, i);
    lua.lua_call(L, 1, 1);
    lua.lua_pop(L, 1);
  }
  const call = ((performance.now() - t0) / CALLS) * 1000;
  const loops: number[] = [];
  for (let r = 0; r < 20; r++) {
    lauxlib.luaL_loadstring(L, to_luastring(LOOP));
    t0 = performance.now();
    lua.lua_call(L, 0, 1);
    loops.push(performance.now() - t0);
    lua.lua_pop(L, 1);
  }
  return row("fengari 0.1.5", startup, call, loops);
}

async function wasmoonRun(): Promise<string> {
  let t0 = performance.now();
  const engine = await new LuaFactory().createEngine();
  const startup = performance.now() - t0;
  engine.doStringSync("function f(a) return a + 1 end");
  const f = engine.global.get("f") as (a: number) => number;
  t0 = performance.now();
  for (let i = 0; i < CALLS; i++) f(i);
  const call = ((performance.now() - t0) / CALLS) * 1000;
  const loops: number[] = [];
  for (let r = 0; r < 20; r++) {
    t0 = performance.now();
    engine.doStringSync(LOOP);
    loops.push(performance.now() - t0);
  }
  return row("wasmoon 1.16", startup, call, loops);
}

function row(name: string, startupMs: number, callUs: number, loopsMs: number[]): string {
  const best = Math.min(...loopsMs);
  return `| ${name} | ${startupMs.toFixed(1)} ms | ${callUs.toFixed(2)} µs | ${loopsMs[0]!.toFixed(2)} ms | ${best.toFixed(3)} ms |`;
}

console.log("| VM | start | one call | 10k loop, first | 10k loop, best |");
console.log("| --- | --- | --- | --- | --- |");
console.log(fengariRun());
console.log(await wasmoonRun());
