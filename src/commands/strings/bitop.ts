/**
 * BITOP op destkey key [key ...]: AND, OR, XOR, NOT, and Redis 8.2's DIFF, DIFF1, ANDOR and
 * ONE. Missing sources read as empty strings, shorter ones as zero-padded; the result is as
 * long as the longest source. An empty result deletes the destination, as in Redis, and a
 * stored result replaces the destination whatever its type, dropping its TTL (Redis's setKey).
 *
 * The sources must be read after every write this client queued before BITOP (the connection
 * does not wait for them: BITOP is a write) and nothing may change them before the result is
 * stored. With the async overlay (async_write, EXEC) a write closure runs at once and every
 * shard's view already holds every accepted write, so one closure on the destination shard
 * does. Otherwise the shards' queues are flushed in shard order, so a closure on the
 * destination shard could read another shard before that shard's earlier writes: keys on
 * several shards then go through one multi-shard operation (writeMany), which runs after
 * everything already queued on each of them.
 */
import { errors, RespError } from "../../errors.ts";
import type { Reply } from "../../protocol/reply.ts";
import { keyParam, type RowTable } from "../../storage/api.ts";
import { ks } from "../db.ts";
import type { KeyCtx } from "../spec.ts";
import { cToken } from "./bits.ts";

export type BitopName = "AND" | "OR" | "XOR" | "NOT" | "DIFF" | "DIFF1" | "ANDOR" | "ONE";
const NAMES: readonly BitopName[] = ["AND", "OR", "XOR", "NOT", "DIFF", "DIFF1", "ANDOR", "ONE"];

/**
 * The result of `op` over `sources` (null = missing key), as long as the longest source.
 *   DIFF(X, A1..An)  = X & ~(A1 | ... | An)
 *   DIFF1(X, A1..An) = ~X & (A1 | ... | An)
 *   ANDOR(X, A1..An) = X & (A1 | ... | An)
 *   ONE(A1..An)      = the bits set in exactly one source
 */
export function combine(op: BitopName, sources: readonly (Uint8Array | null)[]): Uint8Array {
  const srcs = sources.map((s) => s ?? new Uint8Array(0));
  let maxlen = 0;
  for (const s of srcs) maxlen = Math.max(maxlen, s.length);
  const out = new Uint8Array(maxlen);
  const first = srcs[0]!;
  const rest = srcs.slice(1);
  switch (op) {
    case "NOT":
      for (let j = 0; j < maxlen; j++) out[j] = ~first[j]! & 0xff;
      return out;
    case "AND":
      out.set(first);
      for (const s of rest) {
        for (let j = 0; j < s.length; j++) out[j]! &= s[j]!;
        out.fill(0, s.length);
      }
      return out;
    case "OR":
      out.set(first);
      for (const s of rest) for (let j = 0; j < s.length; j++) out[j]! |= s[j]!;
      return out;
    case "XOR":
      out.set(first);
      for (const s of rest) for (let j = 0; j < s.length; j++) out[j]! ^= s[j]!;
      return out;
    case "ONE": {
      // XOR that forgets every bit already seen in two sources.
      out.set(first);
      const common = new Uint8Array(maxlen);
      for (const s of rest) {
        for (let j = 0; j < s.length; j++) {
          common[j]! |= out[j]! & s[j]!;
          out[j] = (out[j]! ^ s[j]!) & ~common[j]!;
        }
      }
      return out;
    }
    default: {
      const any = new Uint8Array(maxlen);
      for (const s of rest) for (let j = 0; j < s.length; j++) any[j]! |= s[j]!;
      for (let j = 0; j < maxlen; j++) {
        const x = j < first.length ? first[j]! : 0;
        if (op === "DIFF") out[j] = x & ~any[j]!;
        else if (op === "DIFF1") out[j] = ~x & any[j]!;
        else out[j] = x & any[j]!;
      }
      return out;
    }
  }
}

export function bitopCommand(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const op = NAMES.find((name) => cToken(args[1]!, name));
  if (op === undefined) throw errors.syntax();
  if (op === "NOT" && args.length !== 4)
    throw new RespError("ERR", "BITOP NOT must be called with a single source key.");
  if ((op === "DIFF" || op === "DIFF1" || op === "ANDOR") && args.length < 5)
    throw new RespError("ERR", `BITOP ${op} must be called with at least two source keys.`);
  const space = ks(ctx);
  const dest = keyParam(args[2]!);
  const destShard = space.shardOf(args[2]!);
  const sources = args.slice(3).map((k) => ({ param: keyParam(k), shard: space.shardOf(k) }));
  const shards = [destShard, ...sources.map((s) => s.shard)];
  const run = (view: (shard: number) => RowTable, now: number): number => {
    // live() throws WRONGTYPE for a hash source, before anything is written.
    const values = sources.map((s) => view(s.shard).live(s.param, now)?.value ?? null);
    const result = combine(op, values);
    if (result.length > 0) {
      view(destShard).put(dest, result, now, null);
      // BITOP stores a freshly built raw string, whatever its shape.
      space.encodingMarks.mark(args[2]!, result, "raw");
    }
    // Like Redis's dbDelete: only an existing destination is removed (and WATCH touched).
    else if (view(destShard).has(dest, now)) view(destShard).remove(dest, now);
    return result.length;
  };
  // With the overlay (async_write, EXEC) a write closure runs at once and every shard's view
  // already holds every accepted write; so does a closure whose keys all live on its shard.
  const overlay = space.tables === space.pendingTables;
  if (overlay || shards.every((s) => s === destShard)) {
    return space.write(args[2]!, (table, now) =>
      run((shard) => (shard === destShard ? table : space.tables[shard]!), now),
    );
  }
  return space.writeMany(shards, (tables, now) => run((shard) => tables[shard]!, now));
}
