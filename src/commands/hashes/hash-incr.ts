/**
 * HINCRBY and HINCRBYFLOAT: the arithmetic of INCRBY/INCRBYFLOAT (numeric.ts) inside the
 * hash's shard writer, so concurrent increments never lose one. The increment is parsed
 * before the key's type is checked, as in Redis.
 * A field keeps its TTL, as in Redis 7.4.
 */
import { errors, RespError } from "../../errors.ts";
import type { Reply } from "../../protocol/reply.ts";
import { bigInteger } from "../args.ts";
import { addFloat, addInteger, parseIncrement } from "../numeric.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";
import { editHash } from "./hash.ts";

const encoder = new TextEncoder();
const notIntegerField = () => new RespError("ERR", "hash value is not an integer");
const notFloatField = () => new RespError("ERR", "hash value is not a float");

/** Runs `next(old)` on the field inside its shard's writer and stores what it returns. */
function updateField<T>(
  ctx: KeyCtx,
  args: Uint8Array[],
  next: (old: Uint8Array | null) => { text: string; reply: T },
): Promise<T> {
  const field = args[2]!;
  return editHash(ctx, args[1]!, (hash, now) => {
    const old = hash.get(field, now);
    // next() throws on a non-numeric value or an overflow, before anything is written.
    const { text, reply } = next(old?.value ?? null);
    hash.set(field, encoder.encode(text), old?.expiresAt ?? null, now);
    return reply;
  });
}

function hincrby(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const delta = bigInteger(args[3]!);
  return updateField(ctx, args, (old) => {
    const value = addInteger(old, delta, notIntegerField);
    return { text: value.toString(), reply: value };
  });
}

function hincrbyfloat(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const increment = parseIncrement(args[3]!);
  if (increment === null) throw errors.notFloat();
  // Unlike INCRBYFLOAT, Redis refuses an infinite increment before looking at the field.
  if (increment === "inf") throw new RespError("ERR", "value is NaN or Infinity");
  return updateField(ctx, args, (old) => {
    const text = addFloat(old, increment, notFloatField);
    return { text, reply: text };
  });
}

const K1 = { first: 1, last: 1, step: 1 } as const;

export const hashIncrCommands: CommandSpec[] = [
  {
    name: "hincrby",
    arity: 4,
    flags: ["write", "denyoom", "fast"],
    keys: K1,
    group: "hash",
    since: "2.0.0",
    syntax: "key field increment",
    handler: hincrby,
    summary:
      "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
  },
  {
    name: "hincrbyfloat",
    arity: 4,
    flags: ["write", "denyoom", "fast"],
    keys: K1,
    group: "hash",
    since: "2.6.0",
    syntax: "key field increment",
    handler: hincrbyfloat,
    summary:
      "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
  },
];
