/**
 * The `bit` library Redis bundles (LuaBitOp): 32-bit operations on numbers, results as signed
 * 32-bit integers, tohex with LuaBitOp's width and case rules. Pure functions on the stack.
 */
import { type LuaState, lname, lua } from "./vm.ts";

const toBit = (L: LuaState, i: number): number => {
  const n = lua.lua_tonumber(L, i);
  // LuaBitOp rounds to the nearest integer (ties to even) and keeps the low 32 bits.
  const r = Math.round(n);
  const even = Math.abs(n % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  return Number(BigInt.asIntN(32, BigInt(Number.isFinite(even) ? even : 0)));
};

const push = (L: LuaState, n: number): number => {
  lua.lua_pushnumber(L, n | 0);
  return 1;
};

function fold(op: (a: number, b: number) => number) {
  return (L: LuaState): number => {
    let acc = toBit(L, 1);
    for (let i = 2; i <= lua.lua_gettop(L); i++) acc = op(acc, toBit(L, i));
    return push(L, acc);
  };
}

const functions: Record<string, (L: LuaState) => number> = {
  tobit: (L) => push(L, toBit(L, 1)),
  bnot: (L) => push(L, ~toBit(L, 1)),
  band: fold((a, b) => a & b),
  bor: fold((a, b) => a | b),
  bxor: fold((a, b) => a ^ b),
  lshift: (L) => push(L, toBit(L, 1) << (toBit(L, 2) & 31)),
  rshift: (L) => push(L, toBit(L, 1) >>> (toBit(L, 2) & 31)),
  arshift: (L) => push(L, toBit(L, 1) >> (toBit(L, 2) & 31)),
  rol: (L) => {
    const x = toBit(L, 1);
    const n = toBit(L, 2) & 31;
    return push(L, (x << n) | (x >>> (32 - n)));
  },
  ror: (L) => {
    const x = toBit(L, 1);
    const n = toBit(L, 2) & 31;
    return push(L, (x >>> n) | (x << (32 - n)));
  },
  bswap: (L) => {
    const x = toBit(L, 1);
    return push(L, ((x >>> 24) & 0xff) | ((x >>> 8) & 0xff00) | ((x & 0xff00) << 8) | (x << 24));
  },
  tohex: (L) => {
    const x = toBit(L, 1);
    let n = lua.lua_isnoneornil(L, 2) ? 8 : toBit(L, 2);
    const upper = n < 0;
    if (upper) n = -n;
    if (n > 8) n = 8;
    let hex = (x >>> 0)
      .toString(16)
      .padStart(8, "0")
      .slice(8 - n);
    if (upper) hex = hex.toUpperCase();
    lua.lua_pushstring(L, new TextEncoder().encode(hex));
    return 1;
  },
};

/** Pushes the bit table. */
export function pushBitLibrary(L: LuaState): void {
  lua.lua_newtable(L);
  for (const [name, fn] of Object.entries(functions)) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, lname(name));
  }
}
