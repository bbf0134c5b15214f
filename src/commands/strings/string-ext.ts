/**
 * The rest of Redis's string commands on the client's database (db.ts): SETNX, SETEX, PSETEX,
 * GETSET, GETDEL, GETEX, MSETNX, APPEND, SETRANGE, SUBSTR, INCR, DECR, INCRBY, DECRBY and
 * INCRBYFLOAT (LCS lives in lcs.ts). Each handler parses every argument first, then runs;
 * read-modify-write happens inside the shard writer's closure, so it is atomic. Like Redis,
 * APPEND, SETRANGE and the INCR family keep the key's TTL; SETNX, GETSET and SETEX replace it.
 * A command that reads the old value as a string gets WRONGTYPE for a hash from RowTable.live;
 * SETNX and MSETNX only test existence, SETEX and PSETEX replace a key of any type.
 */

import { errors, RespError } from "../../errors.ts";
import { limits } from "../../limits.ts";
import { OK, type Reply } from "../../protocol/reply.ts";
import { keyParam } from "../../storage/api.ts";
import { bigInteger, equalsToken } from "../args.ts";
import { ks } from "../db.ts";
import { absoluteExpiry, type ExpireUnit, type ExpiryOption, expiryOption } from "../expiry.ts";
import { clearEncodingMark, markEncoding } from "../keys/encoding-marks.ts";
import { addFloat, addInteger, parseIncrement } from "../numeric.ts";
import type { CommandSpec, Ctx } from "../spec.ts";
import { stringCommands } from "./string.ts";

const INT64_MIN = -9223372036854775808n;
const encoder = new TextEncoder();

/** Redis's checkStringLength: proto-max-bulk-len bounds every string a command builds. */
function tooLong(): RespError {
  return new RespError("ERR", "string exceeds maximum allowed size (proto-max-bulk-len)");
}

function setnx(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const key = keyParam(args[1]!);
  const value = args[2]!;
  return ks(ctx).write(args[1]!, (table, now) => {
    if (table.has(key, now)) return 0;
    table.put(key, value, now, null);
    clearEncodingMark(ks(ctx), args[1]!);
    return 1;
  });
}

/** SETEX key seconds value / PSETEX key milliseconds value. */
function setexCommand(name: string, unit: ExpireUnit) {
  return (ctx: Ctx, args: Uint8Array[]): Promise<Reply> => {
    const store = ks(ctx);
    const expiresAt = absoluteExpiry(args[2]!, unit, true, store.now(), name, true);
    const key = keyParam(args[1]!);
    const value = args[3]!;
    return store.write(args[1]!, (table, now) => {
      table.put(key, value, now, expiresAt);
      clearEncodingMark(store, args[1]!);
      return OK;
    });
  };
}

function getset(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const key = keyParam(args[1]!);
  const value = args[2]!;
  return ks(ctx).write(args[1]!, (table, now) => {
    const old = table.live(key, now);
    table.put(key, value, now, null);
    clearEncodingMark(ks(ctx), args[1]!);
    return old?.value ?? null;
  });
}

function getdel(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const key = keyParam(args[1]!);
  return ks(ctx).write(args[1]!, (table, now) => {
    const old = table.live(key, now);
    if (old === null) return null;
    table.remove(key, now);
    return old.value;
  });
}

type GetexAction =
  | { kind: "none" }
  | { kind: "persist" }
  | { kind: "expire"; raw: Uint8Array; unit: ExpireUnit; relative: boolean };

/**
 * GETEX's options as Redis's parseExtendedStringArgumentsOrReply reads them: one of EX, PX,
 * EXAT, PXAT (the same one may repeat, the last value wins) or PERSIST; anything else, a
 * missing value or two different kinds is a syntax error. The time itself is checked only
 * once the key is found, as Redis does (GETEX missing EX 0 is a nil, not an error).
 */
function parseGetex(args: Uint8Array[]): GetexAction {
  let kind: ExpiryOption | null = null;
  let raw: Uint8Array | null = null;
  let persist = false;
  for (let i = 2; i < args.length; i++) {
    const a = args[i]!;
    const hasNext = i + 1 < args.length;
    if (equalsToken(a, "PERSIST") && kind === null) {
      persist = true;
      continue;
    }
    const k = expiryOption(a);
    if (!k || !hasNext || persist || (kind !== null && kind !== k)) throw errors.syntax();
    kind = k;
    raw = args[++i]!;
  }
  if (kind !== null && raw !== null) {
    return { kind: "expire", raw, unit: kind.unit, relative: kind.relative };
  }
  return persist ? { kind: "persist" } : { kind: "none" };
}

function getex(ctx: Ctx, args: Uint8Array[]): Reply | Promise<Reply> {
  const store = ks(ctx);
  const action = parseGetex(args);
  if (action.kind === "none") return store.get(args[1]!)?.value ?? null;
  const key = keyParam(args[1]!);
  return store.write(args[1]!, (table, now) => {
    const entry = table.live(key, now);
    if (entry === null) return null;
    if (action.kind === "persist") {
      if (entry.expiresAt !== null) table.setExpiry(key, null);
      return entry.value;
    }
    const at = absoluteExpiry(action.raw, action.unit, action.relative, now, "getex", true);
    if (at <= now) table.remove(key, now);
    else table.setExpiry(key, at);
    return entry.value;
  });
}

/**
 * MSETNX: sets every key only when none of them exists. The check and the writes run in one
 * multi-shard operation (Keyspace.writeMany), inside every involved shard's transaction, so no
 * write can slip in between them; readers never see some keys set and others not.
 */
function msetnx(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  if (args.length % 2 === 0) throw errors.wrongArity("msetnx");
  const store = ks(ctx);
  const keys: Uint8Array[] = [];
  for (let i = 1; i < args.length; i += 2) keys.push(args[i]!);
  const params = keys.map(keyParam);
  const shards = keys.map((k) => store.shardOf(k));
  return store.writeMany(shards, (tables, now) => {
    for (let i = 0; i < params.length; i++) if (tables[shards[i]!]!.has(params[i]!, now)) return 0;
    for (let i = 0; i < params.length; i++) {
      tables[shards[i]!]!.put(params[i]!, args[2 * i + 2]!, now, null);
      clearEncodingMark(store, keys[i]!);
    }
    return 1;
  });
}

function append(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const key = keyParam(args[1]!);
  const tail = args[2]!;
  return ks(ctx).write(args[1]!, (table, now) => {
    const old = table.live(key, now);
    if (old === null) {
      // A new key gets the shape-based encoding, as Redis's APPEND creates it with SET's rules.
      table.put(key, tail, now, null);
      clearEncodingMark(ks(ctx), args[1]!);
      return tail.length;
    }
    const total = old.value.length + tail.length;
    if (total > limits.bulkBytesMax) throw tooLong();
    const joined = new Uint8Array(total);
    joined.set(old.value, 0);
    joined.set(tail, old.value.length);
    table.put(key, joined, now, old.expiresAt);
    markEncoding(ks(ctx), args[1]!, joined, "raw");
    return total;
  });
}

function setrange(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const offset = bigInteger(args[2]!);
  if (offset < 0n) throw new RespError("ERR", "offset is out of range");
  const patch = args[3]!;
  const key = keyParam(args[1]!);
  return ks(ctx).write(args[1]!, (table, now) => {
    const old = table.live(key, now);
    // Setting nothing changes nothing (and creates no key), whatever the offset.
    if (patch.length === 0) return old?.value.length ?? 0;
    const end = offset + BigInt(patch.length);
    if (end > BigInt(limits.bulkBytesMax)) throw tooLong();
    const start = Number(offset);
    const length = Math.max(old?.value.length ?? 0, Number(end));
    const next = new Uint8Array(length); // zero-filled: the gap reads as NUL bytes, like Redis
    if (old) next.set(old.value, 0);
    next.set(patch, start);
    table.put(key, next, now, old?.expiresAt ?? null);
    markEncoding(ks(ctx), args[1]!, next, "raw");
    return length;
  });
}

/** INCR, DECR, INCRBY, DECRBY: 64-bit signed arithmetic with Redis's overflow refusal. */
function incrCommand(by: ((args: Uint8Array[]) => bigint) | bigint) {
  return (ctx: Ctx, args: Uint8Array[]): Promise<Reply> => {
    const delta = typeof by === "bigint" ? by : by(args);
    const key = keyParam(args[1]!);
    return ks(ctx).write(args[1]!, (table, now) => {
      const old = table.live(key, now);
      const next = addInteger(old?.value ?? null, delta, errors.notInteger);
      table.put(key, encoder.encode(next.toString()), now, old?.expiresAt ?? null);
      return next;
    });
  };
}

function decrbyAmount(args: Uint8Array[]): bigint {
  const amount = bigInteger(args[2]!);
  // Negating the smallest int64 overflows, and Redis says so before looking at the key.
  if (amount === INT64_MIN) throw new RespError("ERR", "decrement would overflow");
  return -amount;
}

function incrbyfloat(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  // Redis reads the stored value before the increment, but both fail with the same text,
  // so checking the argument first is indistinguishable and spares a write for a bad one.
  const increment = parseIncrement(args[2]!);
  if (increment === null) throw errors.notFloat();
  const key = keyParam(args[1]!);
  return ks(ctx).write(args[1]!, (table, now) => {
    const old = table.live(key, now);
    const text = encoder.encode(addFloat(old?.value ?? null, increment, errors.notFloat));
    table.put(key, text, now, old?.expiresAt ?? null);
    // Redis stores the result as a plain string object: embstr when short, never int.
    if (text.length <= 44) markEncoding(ks(ctx), args[1]!, text, "embstr");
    else clearEncodingMark(ks(ctx), args[1]!);
    return text;
  });
}

const K1 = { first: 1, last: 1, step: 1 } as const;
const getrangeRow = stringCommands.find((row) => row.name === "getrange");
if (!getrangeRow) throw new Error("string-ext: SUBSTR needs the GETRANGE row");

export const stringExtCommands: CommandSpec[] = [
  {
    name: "setnx",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: K1,
    group: "string",
    since: "1.0.0",
    summary: "Set the string value of a key only when the key doesn't exist.",
    syntax: "key value",
    handler: setnx,
  },
  {
    name: "setex",
    arity: 4,
    flags: ["write", "denyoom"],
    keys: K1,
    group: "string",
    since: "2.0.0",
    summary:
      "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
    syntax: "key seconds value",
    handler: setexCommand("setex", "s"),
  },
  {
    name: "psetex",
    arity: 4,
    flags: ["write", "denyoom"],
    keys: K1,
    group: "string",
    since: "2.6.0",
    summary:
      "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
    syntax: "key milliseconds value",
    handler: setexCommand("psetex", "ms"),
  },
  {
    name: "getset",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: K1,
    group: "string",
    since: "1.0.0",
    summary:
      "Returns the previous string value of a key after setting it to a new value (and dropping its TTL).",
    syntax: "key value",
    handler: getset,
  },
  {
    name: "getdel",
    arity: 2,
    flags: ["write", "fast"],
    keys: K1,
    group: "string",
    since: "6.2.0",
    summary: "Returns the string value of a key after deleting the key.",
    syntax: "key",
    handler: getdel,
  },
  {
    name: "getex",
    arity: -2,
    flags: ["write", "fast"],
    keys: K1,
    group: "string",
    since: "6.2.0",
    summary: "Returns the string value of a key after setting its expiration time.",
    syntax:
      "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]",
    handler: getex,
  },
  {
    name: "msetnx",
    arity: -3,
    flags: ["write", "denyoom"],
    keys: { first: 1, last: -1, step: 2 },
    group: "string",
    since: "1.0.1",
    summary:
      "Atomically modifies the string values of one or more keys only when all keys don't exist (atomic across shards).",
    syntax: "key value [key value ...]",
    handler: msetnx,
  },
  {
    name: "append",
    arity: 3,
    flags: ["write", "denyoom"],
    keys: K1,
    group: "string",
    since: "2.0.0",
    summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.",
    syntax: "key value",
    handler: append,
  },
  {
    name: "setrange",
    arity: 4,
    flags: ["write", "denyoom"],
    keys: K1,
    group: "string",
    since: "2.2.0",
    summary:
      "Overwrites a part of a string value with another by an offset, padding with zero bytes. Creates the key if it doesn't exist.",
    syntax: "key offset value",
    handler: setrange,
  },
  {
    ...getrangeRow,
    name: "substr",
    since: "1.0.0",
    summary: "Returns a substring from a string value (the Redis 1.0 name of GETRANGE).",
  },
  {
    name: "incr",
    arity: 2,
    flags: ["write", "denyoom", "fast"],
    keys: K1,
    group: "string",
    since: "1.0.0",
    summary:
      "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    syntax: "key",
    handler: incrCommand(1n),
  },
  {
    name: "decr",
    arity: 2,
    flags: ["write", "denyoom", "fast"],
    keys: K1,
    group: "string",
    since: "1.0.0",
    summary:
      "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    syntax: "key",
    handler: incrCommand(-1n),
  },
  {
    name: "incrby",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: K1,
    group: "string",
    since: "1.0.0",
    summary:
      "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
    syntax: "key increment",
    handler: incrCommand((args) => bigInteger(args[2]!)),
  },
  {
    name: "decrby",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: K1,
    group: "string",
    since: "1.0.0",
    summary:
      "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
    syntax: "key decrement",
    handler: incrCommand(decrbyAmount),
  },
  {
    name: "incrbyfloat",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: K1,
    group: "string",
    since: "2.6.0",
    summary:
      "Increment the floating point value of a key by a number (80-bit long double arithmetic, as Redis on x86-64). Uses 0 as initial value if the key doesn't exist.",
    syntax: "key increment",
    handler: incrbyfloat,
  },
];
