/**
 * String commands on the client's database (db.ts): GET, SET (all options), MGET, MSET,
 * STRLEN, GETRANGE. Each handler parses its arguments completely before touching storage;
 * writes run inside the shard writer so read-modify-write options (NX, XX, GET, KEEPTTL) are
 * atomic. Reading a hash as a string is WRONGTYPE (RowTable.live); SET and MSET replace a key
 * of any type, and MGET answers nil for a hash, as Redis does.
 */

import { errors } from "../../errors.ts";
import { largeBody } from "../../protocol/large-arg.ts";
import { OK, type Reply } from "../../protocol/reply.ts";
import { type ExpiryMs, keyParam, ROW_STRING } from "../../storage/api.ts";
import { equalsToken, integer } from "../args.ts";
import { ks } from "../db.ts";
import { absoluteExpiry, type ExpiryOption, expiryOption } from "../expiry.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";
import { fileRange, setLarge, stringLength, stringReply } from "./string-large.ts";

function get(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const entry = ks(ctx).get(args[1]!);
  const stats = ctx.server.stats;
  if (entry === null) {
    stats.keyspaceMisses++;
    return null;
  }
  stats.keyspaceHits++;
  return stringReply(ctx, entry);
}

interface SetOptions {
  condition: "NX" | "XX" | null;
  get: boolean;
  keepTtl: boolean;
  expiresAt: ExpiryMs | null;
}

/** SET's option grammar, as Redis parses it: repeats of one flag are fine, conflicts are not. */
function parseSetOptions(args: Uint8Array[], now: number): SetOptions {
  const opts: SetOptions = { condition: null, get: false, keepTtl: false, expiresAt: null };
  let expireKind: ExpiryOption | null = null;
  let expireArg: Uint8Array | null = null;
  for (let i = 3; i < args.length; i++) {
    const a = args[i]!;
    const next = i + 1 < args.length;
    if (equalsToken(a, "NX") && opts.condition !== "XX") opts.condition = "NX";
    else if (equalsToken(a, "XX") && opts.condition !== "NX") opts.condition = "XX";
    else if (equalsToken(a, "GET")) opts.get = true;
    else if (equalsToken(a, "KEEPTTL") && expireKind === null) opts.keepTtl = true;
    else {
      const kind = expiryOption(a);
      if (!kind || !next || opts.keepTtl || (expireKind !== null && expireKind !== kind)) {
        throw errors.syntax();
      }
      expireKind = kind;
      expireArg = args[++i]!;
    }
  }
  if (expireKind !== null && expireArg !== null) {
    const { unit, relative } = expireKind;
    opts.expiresAt = absoluteExpiry(expireArg, unit, relative, now, "set", true);
  }
  return opts;
}

function set(ctx: KeyCtx, args: Uint8Array[]): Reply | Promise<Reply> {
  const store = ks(ctx);
  const value = args[2]!;
  // A value streamed to a file by the parser (storage/large/): stored by reference.
  if (largeBody(value) !== null)
    return setLarge(ctx, args, args.length === 3 ? null : parseSetOptions(args, store.now()));
  if (args.length === 3) {
    const key = keyParam(args[1]!);
    return store.write(args[1]!, (table, now) => {
      table.put(key, value, now, null);
      store.encodingMarks.clear(args[1]!);
      return OK;
    });
  }
  const opts = parseSetOptions(args, store.now());
  const key = keyParam(args[1]!);
  const needsOld = opts.condition !== null || opts.get || opts.keepTtl;
  return store.write(args[1]!, (table, now): Reply => {
    // GET reads the old value as a string (WRONGTYPE for a hash, as in Redis); NX, XX and
    // KEEPTTL only look at the key, whatever its type.
    const old = opts.get ? table.live(key, now) : needsOld ? table.entry(key, now) : null;
    const previous: Reply = opts.get ? (old?.value ?? null) : null;
    if ((opts.condition === "NX" && old) || (opts.condition === "XX" && !old)) {
      return opts.get ? previous : null;
    }
    const expiresAt = opts.keepTtl
      ? old === null || old.expiresAt === null
        ? null
        : (table.exactExpiry(key, now) ?? null)
      : opts.expiresAt;
    if (expiresAt !== null && expiresAt <= now) table.remove(key, now);
    else table.put(key, value, now, expiresAt);
    store.encodingMarks.clear(args[1]!);
    return opts.get ? previous : OK;
  });
}

function mget(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const keyspace = ks(ctx);
  const out: Reply[] = new Array(args.length - 1);
  for (let i = 1; i < args.length; i++) {
    const entry = keyspace.entry(args[i]!);
    out[i - 1] = entry !== null && entry.type === ROW_STRING ? entry.value : null;
  }
  return out;
}

async function mset(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  if (args.length % 2 === 0) throw errors.wrongArity("mset");
  const store = ks(ctx);
  const keys: Uint8Array[] = [];
  for (let i = 1; i < args.length; i += 2) keys.push(args[i]!);
  const params = keys.map(keyParam);
  // One operation per shard; the scheduler commits all shards in one synchronous pass,
  // so no client can read a state where only some of the keys were set.
  const writes: Promise<void>[] = [];
  for (const [shard, positions] of store.groupByShard(keys)) {
    writes.push(
      store.writeRows(shard, (table, now) => {
        for (const p of positions) {
          table.put(params[p]!, args[2 * p + 2]!, now, null);
          store.encodingMarks.clear(keys[p]!);
        }
      }),
    );
  }
  await Promise.all(writes);
  return OK;
}

function strlen(ctx: KeyCtx, args: Uint8Array[]): Reply {
  return stringLength(ks(ctx).get(args[1]!));
}

function getrange(ctx: KeyCtx, args: Uint8Array[]): Reply {
  let start = integer(args[2]!);
  let end = integer(args[3]!);
  const entry = ks(ctx).get(args[1]!);
  if (entry === null) return "";
  const len = stringLength(entry);
  // Redis's edge cases: both negative and start > end is empty; negatives count from the end.
  if (start < 0 && end < 0 && start > end) return "";
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  // Redis 8: an end still before the first byte selects nothing (Redis 7 clamped it to 0
  // and returned the first byte for GETRANGE k 0 -100).
  if (end < 0) return "";
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return "";
  // A file row: only the chunks holding the range are read.
  if (entry.large !== undefined) return fileRange(ctx, entry.large, start, end);
  return entry.value.subarray(start, end + 1);
}

const K1 = { first: 1, last: 1, step: 1 } as const;

export const stringCommands: CommandSpec[] = [
  {
    name: "get",
    arity: 2,
    flags: ["readonly", "fast"],
    keys: K1,
    group: "string",
    since: "1.0.0",
    summary: "Returns the string value of a key.",
    syntax: "key",
    handler: get,
  },
  {
    name: "set",
    arity: -3,
    flags: ["write", "denyoom"],
    keys: K1,
    group: "string",
    since: "1.0.0",
    summary:
      "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
    syntax:
      "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
    handler: set,
    largeArgs: true,
  },
  {
    name: "mget",
    arity: -2,
    flags: ["readonly", "fast"],
    keys: { first: 1, last: -1, step: 1 },
    group: "string",
    since: "1.0.0",
    summary: "Atomically returns the string values of one or more keys.",
    syntax: "key [key ...]",
    handler: mget,
  },
  {
    name: "mset",
    arity: -3,
    flags: ["write", "denyoom"],
    keys: { first: 1, last: -1, step: 2 },
    group: "string",
    since: "1.0.1",
    summary: "Atomically creates or modifies the string values of one or more keys.",
    syntax: "key value [key value ...]",
    handler: mset,
  },
  {
    name: "strlen",
    arity: 2,
    flags: ["readonly", "fast"],
    keys: K1,
    group: "string",
    since: "2.2.0",
    summary: "Returns the length of a string value.",
    syntax: "key",
    handler: strlen,
  },
  {
    name: "getrange",
    arity: 4,
    flags: ["readonly"],
    keys: K1,
    group: "string",
    since: "2.4.0",
    summary: "Returns a substring of the string stored at a key.",
    syntax: "key start end",
    handler: getrange,
  },
];
