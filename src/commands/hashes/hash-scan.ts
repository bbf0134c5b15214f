/**
 * HSCAN and HRANDFIELD: the hash commands that walk part of a hash. A small (inline) hash is
 * returned whole by HSCAN with cursor 0, as Redis does for a listpack; a large one is paged by
 * rowid, which survives upserts, so a field present for the whole scan is returned once.
 * HRANDFIELD follows Redis's count rules (negative = with repetition, in random order;
 * positive = distinct fields, here in insertion order like Redis's listpack case).
 */
import { errors, RespError } from "../../errors.ts";
import type { Reply } from "../../protocol/reply.ts";
import type { FieldItem, HashView } from "../../storage/api.ts";
import { equalsToken, parseInt64 } from "../args.ts";
import { ks } from "../db.ts";
import { globMatch } from "../glob.ts";
import { scanCursor, scanOptions } from "../scan-args.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";
import { stringReply } from "../strings/string-large.ts";
import { fieldsOf, HASH_ROW, readHash } from "./hash.ts";

const EMPTY_SCAN: Reply = ["0", []];
const LONG_MAX = 9223372036854775807n;
/**
 * Most fields one HRANDFIELD with a negative count returns. Redis has no bound and would fill
 * its memory with a reply of 2^63 elements; here such a count is refused instead.
 */
const REPEATED_MAX = 10_000_000;

/** HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES] (NOVALUES: Redis 7.4+/8). */
function hscan(ctx: KeyCtx, args: Uint8Array[]): Reply {
  // Redis's order: the cursor, then the key (absent = empty scan, options unread), then options.
  const cursor = scanCursor(args[2]!);
  const hash = readHash(ctx, args[1]!);
  if (hash === null) return EMPTY_SCAN;
  const { count, pattern, noValues } = scanOptions(args, 3, { noValues: true });
  const now = ks(ctx).now();
  // An inline hash ignores the cursor and COUNT: everything, then cursor 0 (Redis's listpack).
  const after = hash.encoding === "listpack" ? 0 : cursorRowid(cursor);
  const page = hash.page(after, Math.min(count, 1_000_000), now);
  const out: Reply[] = [];
  for (const item of page.items) {
    if (pattern && !globMatch(pattern, item.field)) continue;
    out.push(item.field);
    if (!noValues) out.push(stringReply(ctx, item));
  }
  return [String(page.next), out];
}

/** Rowids are below 2^63; a larger cursor (still a valid one for Redis) finds nothing. */
function cursorRowid(cursor: bigint): number {
  return cursor > LONG_MAX ? Number(LONG_MAX) : Number(cursor);
}

/** HRANDFIELD key [count [WITHVALUES]]. */
function hrandfield(ctx: KeyCtx, args: Uint8Array[]): Reply {
  if (args.length === 2) {
    const hash = readHash(ctx, args[1]!);
    if (hash === null) return null;
    const now = ks(ctx).now();
    const picked = pick(hash, [randomBelow(hash.len(now))], now);
    return picked[0]?.field ?? null;
  }
  // The count and options are checked before the key, as Redis does.
  const raw = parseInt64(args[2]!);
  if (raw === null) throw errors.notInteger();
  if (raw < -LONG_MAX) {
    throw new RespError(
      "ERR",
      `value is out of range, value must between ${-LONG_MAX} and ${LONG_MAX}`,
    );
  }
  if (args.length > 4 || (args.length === 4 && !equalsToken(args[3]!, "WITHVALUES"))) {
    throw errors.syntax();
  }
  const withValues = args.length === 4;
  if (withValues && (raw < -LONG_MAX / 2n || raw > LONG_MAX / 2n)) {
    throw new RespError("ERR", "value is out of range");
  }
  if (raw < -BigInt(REPEATED_MAX)) throw new RespError("ERR", "value is out of range");
  const hash = readHash(ctx, args[1]!);
  if (hash === null || raw === 0n) return [];
  const now = ks(ctx).now();
  const size = hash.len(now);
  let items: FieldItem[];
  if (raw < 0n || raw === 1n) {
    // With repetition, in the order drawn (count 1 takes this path in Redis too).
    const n = raw < 0n ? Number(-raw) : 1;
    const draws = Array.from({ length: n }, () => randomBelow(size));
    items = pick(hash, draws, now);
  } else if (raw >= BigInt(size)) {
    items = [...fieldsOf(hash, now)];
  } else {
    items = pick(hash, distinct(Number(raw), size), now);
  }
  return reply(ctx, items, withValues);
}

/** RESP2: a flat list; RESP3 with values: one [field, value] pair per element, as Redis. */
function reply(ctx: KeyCtx, items: FieldItem[], withValues: boolean): Reply {
  if (!withValues) return items.map((item) => item.field);
  if (ctx.client.protocol === 3) return items.map((item) => [item.field, stringReply(ctx, item)]);
  return items.flatMap((item) => [item.field, stringReply(ctx, item)]);
}

function randomBelow(n: number): number {
  return Math.floor(Math.random() * n);
}

/** `k` distinct indices below `n`, ascending (Floyd's sampling: k draws, no n-sized table). */
function distinct(k: number, n: number): number[] {
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = randomBelow(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}

/**
 * The live fields at positions `indices` (insertion order), in the order the indices are
 * given, repeats included: one walk up to the largest index, keeping only the wanted fields.
 */
function pick(hash: HashView, indices: number[], now: number): FieldItem[] {
  const wanted = new Map<number, FieldItem | null>();
  let last = -1;
  for (const i of indices) {
    wanted.set(i, null);
    if (i > last) last = i;
  }
  let at = 0;
  for (const item of fieldsOf(hash, now)) {
    if (at > last) break;
    if (wanted.has(at)) wanted.set(at, item);
    at++;
  }
  const out: FieldItem[] = [];
  for (const i of indices) {
    const item = wanted.get(i);
    if (item) out.push(item);
  }
  return out;
}

export const hashScanCommands: CommandSpec[] = [
  {
    ...HASH_ROW,
    name: "hscan",
    arity: -3,
    flags: ["readonly"],
    since: "2.8.0",
    summary: "Iterates over fields and values of a hash.",
    syntax: "key cursor [MATCH pattern] [COUNT count] [NOVALUES]",
    handler: hscan,
  },
  {
    ...HASH_ROW,
    name: "hrandfield",
    arity: -2,
    flags: ["readonly"],
    since: "6.2.0",
    summary: "Returns one or more random fields from a hash.",
    syntax: "key [count [WITHVALUES]]",
    handler: hrandfield,
  },
];
