/**
 * String commands that change a value in place, on the client's database (db.ts): APPEND,
 * SETRANGE (and SUBSTR, GETRANGE's old name), INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT.
 * Read-modify-write happens inside the shard writer's closure, so it is atomic; like Redis
 * they keep the key's TTL, and a hash gets WRONGTYPE from RowTable.live. APPEND and SETRANGE
 * on a value kept in a file (storage/large) write a new file around the change instead of
 * reading the value into memory.
 */

import { errors, RespError } from "../../errors.ts";
import { limits } from "../../limits.ts";
import type { Reply } from "../../protocol/reply.ts";
import { keyParam } from "../../storage/api.ts";
import { bigInteger } from "../args.ts";
import { ks } from "../db.ts";
import { addFloat, addInteger, parseIncrement } from "../numeric.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";
import { stringCommands } from "./string.ts";
import { stringLength } from "./string-large.ts";

const INT64_MIN = -9223372036854775808n;
const encoder = new TextEncoder();

/** Redis's checkStringLength: proto-max-bulk-len bounds every string a command builds. */
function tooLong(): RespError {
  return new RespError("ERR", "string exceeds maximum allowed size (proto-max-bulk-len)");
}

function append(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const key = keyParam(args[1]!);
  const tail = args[2]!;
  return ks(ctx).write(args[1]!, (table, now) => {
    const old = table.live(key, now);
    if (old === null) {
      // A new key gets the shape-based encoding, as Redis's APPEND creates it with SET's rules.
      table.put(key, tail, now, null);
      ks(ctx).encodingMarks.clear(args[1]!);
      return tail.length;
    }
    const total = stringLength(old) + tail.length;
    if (total > limits.bulkBytesMax) throw tooLong();
    // A value kept in a file grows by a new file that copies its untouched chunks.
    if (old.large !== undefined && table.patchFile) {
      if (tail.length > 0)
        table.patchFile(key, old.large, old.large.size, tail, now, old.expiresAt);
      return total;
    }
    const joined = new Uint8Array(total);
    joined.set(old.value, 0);
    joined.set(tail, old.value.length);
    table.put(key, joined, now, old.expiresAt);
    ks(ctx).encodingMarks.mark(args[1]!, joined, "raw");
    return total;
  });
}

function setrange(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const offset = bigInteger(args[2]!);
  if (offset < 0n) throw new RespError("ERR", "offset is out of range");
  const patch = args[3]!;
  const key = keyParam(args[1]!);
  return ks(ctx).write(args[1]!, (table, now) => {
    const old = table.live(key, now);
    // Setting nothing changes nothing (and creates no key), whatever the offset.
    if (patch.length === 0) return stringLength(old);
    const end = offset + BigInt(patch.length);
    if (end > BigInt(limits.bulkBytesMax)) throw tooLong();
    const start = Number(offset);
    if (old?.large !== undefined && table.patchFile)
      return table.patchFile(key, old.large, start, patch, now, old.expiresAt);
    const length = Math.max(old?.value.length ?? 0, Number(end));
    const next = new Uint8Array(length); // zero-filled: the gap reads as NUL bytes, like Redis
    if (old) next.set(old.value, 0);
    next.set(patch, start);
    table.put(key, next, now, old?.expiresAt ?? null);
    ks(ctx).encodingMarks.mark(args[1]!, next, "raw");
    return length;
  });
}

/** INCR, DECR, INCRBY, DECRBY: 64-bit signed arithmetic with Redis's overflow refusal. */
function incrCommand(by: ((args: Uint8Array[]) => bigint) | bigint) {
  return (ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> => {
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

function incrbyfloat(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
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
    if (text.length <= 44) ks(ctx).encodingMarks.mark(args[1]!, text, "embstr");
    else ks(ctx).encodingMarks.clear(args[1]!);
    return text;
  });
}

const K1 = { first: 1, last: 1, step: 1 } as const;
const getrangeRow = stringCommands.find((row) => row.name === "getrange");
if (!getrangeRow) throw new Error("modify.ts: SUBSTR needs the GETRANGE row");

export const modifyCommands: CommandSpec[] = [
  {
    name: "append",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
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
