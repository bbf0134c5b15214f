/**
 * Hash commands without field expiry or randomness: HSET, HMSET, HSETNX, HGET, HMGET, HDEL,
 * HEXISTS, HLEN, HSTRLEN, HGETALL, HKEYS, HVALS, HGETDEL, and the helpers the other hash-*.ts
 * files share. A hash is one Redis key in the shard of that key (storage/keyspace/hash-rows.ts): small
 * ones inline in their key row, large ones in the fields table, both in insertion order.
 *
 * Ordering rules every handler here follows:
 *  - read-only commands read synchronously through the client's view (the async overlay
 *    included), so they see every write acknowledged before them;
 *  - write commands do all their reads inside their queued writeHash() operation, so the same
 *    client's pipelined writes before and after them apply in order, and one command is one
 *    transaction on one shard (all or nothing);
 *  - a write closure checks everything that can fail before it writes anything: the writer
 *    has no savepoints, so a throw after a write would commit half a command.
 */
import { errors, RespError } from "../../errors.ts";
import { limits } from "../../limits.ts";
import { map, OK, type Reply } from "../../protocol/reply.ts";
import { type FieldItem, type HashView, type HashWriter, keyParam } from "../../storage/api.ts";
import { equalsToken, parseInt64 } from "../args.ts";
import { ks } from "../db.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";
import { withStreamedValues } from "../streamed-values.ts";
import { stringReply } from "../strings/string-large.ts";

/** Fields read per page when a command walks a whole large hash. */
export const PAGE_ROWS = Math.min(1000, limits.scanRowsPerStepMax);

/** The hash at `key` for reading (null when absent); WRONGTYPE when it holds a string. */
export function readHash(ctx: KeyCtx, key: Uint8Array): HashView | null {
  const space = ks(ctx);
  return space.tableFor(key).hash(keyParam(key), space.now());
}

/**
 * Runs `fn` on the hash at `key` inside its shard's writer transaction and saves it: the hash
 * is created when absent (and stays absent if `fn` sets nothing), dropped when `fn` leaves it
 * without fields, converted when it outgrows the inline encoding. WRONGTYPE on a string.
 */
export function editHash<T>(
  ctx: KeyCtx,
  key: Uint8Array,
  fn: (hash: HashWriter, now: number) => T,
): Promise<T> {
  return ks(ctx).writeHash(key, (table, now) => {
    const hash = table.hashWriter(keyParam(key), now);
    const reply = fn(hash, now);
    hash.save(now);
    return reply;
  });
}

/** Every live field of `hash` in insertion order, one page of SQL rows at a time. */
export function* fieldsOf(hash: HashView, now: number): Generator<FieldItem> {
  let after = 0;
  do {
    const page = hash.page(after, PAGE_ROWS, now);
    yield* page.items;
    after = page.next;
  } while (after !== 0);
}

/**
 * The fields after `FIELDS numfields` (Redis 7.4/8 wording): FIELDS must sit at `at`,
 * numfields must be a positive integer (`countError` words the complaint like the command in
 * Redis does) and must match the number of remaining arguments exactly.
 */
export function fieldsAt(args: Uint8Array[], at: number, countError: string): Uint8Array[] {
  if (at >= args.length || !equalsToken(args[at]!, "FIELDS")) {
    throw new RespError("ERR", "Mandatory argument FIELDS is missing or not at the right position");
  }
  const raw = at + 1 < args.length ? parseInt64(args[at + 1]!) : null;
  if (raw === null || raw < 1n) throw new RespError("ERR", countError);
  if (raw !== BigInt(args.length - at - 2)) {
    throw new RespError("ERR", "The `numfields` parameter must match the number of arguments");
  }
  return args.slice(at + 2);
}

/** HSET/HMSET: sets every pair (dropping any field TTL, as Redis does); counts new fields. */
function setPairs(ctx: KeyCtx, args: Uint8Array[]): Promise<number> {
  return withStreamedValues(ctx, args, 2, (take) =>
    editHash(ctx, args[1]!, (hash, now) => {
      let added = 0;
      for (let i = 2; i < args.length; i += 2) {
        const ref = take(i + 1);
        const isNew = ref
          ? hash.setFile(args[i]!, ref, null, now)
          : hash.set(args[i]!, args[i + 1]!, null, now);
        if (isNew) added++;
      }
      return added;
    }),
  );
}

function hset(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  // Odd pair counts are refused before the key is looked at, as Redis does.
  if (args.length % 2 !== 0) throw errors.wrongArity("hset");
  return setPairs(ctx, args);
}

async function hmset(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  if (args.length % 2 !== 0) throw errors.wrongArity("hmset");
  await setPairs(ctx, args);
  return OK;
}

function hsetnx(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  return withStreamedValues(ctx, args, 2, (take) =>
    editHash(ctx, args[1]!, (hash, now) => {
      // A field already there leaves a streamed value untaken: streamed-values.ts removes it.
      if (hash.get(args[2]!, now) !== null) return 0;
      const ref = take(3);
      if (ref) hash.setFile(args[2]!, ref, null, now);
      else hash.set(args[2]!, args[3]!, null, now);
      return 1;
    }),
  );
}

function hget(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const entry = readHash(ctx, args[1]!)?.get(args[2]!, ks(ctx).now());
  // A field kept in a file streams like GET's value does (string-large.ts).
  return entry ? stringReply(ctx, entry) : null;
}

function hmget(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const now = ks(ctx).now();
  const hash = readHash(ctx, args[1]!);
  const out: Reply[] = new Array(args.length - 2);
  for (let i = 2; i < args.length; i++) {
    const entry = hash?.get(args[i]!, now);
    out[i - 2] = entry ? stringReply(ctx, entry) : null;
  }
  return out;
}

function hexists(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const hash = readHash(ctx, args[1]!);
  return hash?.get(args[2]!, ks(ctx).now()) ? 1 : 0;
}

function hstrlen(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const hash = readHash(ctx, args[1]!);
  const entry = hash?.get(args[2]!, ks(ctx).now());
  // A field kept in a file: its size without reading it.
  return entry ? (entry.large?.size ?? entry.value.length) : 0;
}

function hdel(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  return editHash(ctx, args[1]!, (hash, now) => {
    let removed = 0;
    for (let i = 2; i < args.length; i++) if (hash.delete(args[i]!, now)) removed++;
    return removed;
  });
}

function hlen(ctx: KeyCtx, args: Uint8Array[]): Reply {
  return readHash(ctx, args[1]!)?.len(ks(ctx).now()) ?? 0;
}

/** HGETALL, HKEYS, HVALS: the live fields in insertion order, appended page by page. */
function walk(ctx: KeyCtx, key: Uint8Array, keys: boolean, values: boolean): Reply[] {
  const hash = readHash(ctx, key);
  const out: Reply[] = [];
  if (hash === null) return out;
  for (const item of fieldsOf(hash, ks(ctx).now())) {
    // Values kept in files stream past the reply-size limit, as HGET's do.
    if (keys && values) out.push([item.field, stringReply(ctx, item)]);
    else out.push(keys ? item.field : stringReply(ctx, item));
  }
  return out;
}

function hgetall(ctx: KeyCtx, args: Uint8Array[]): Reply {
  return map(walk(ctx, args[1]!, true, true) as [Reply, Reply][]);
}

function hkeys(ctx: KeyCtx, args: Uint8Array[]): Reply {
  return walk(ctx, args[1]!, true, false);
}

function hvals(ctx: KeyCtx, args: Uint8Array[]): Reply {
  return walk(ctx, args[1]!, false, true);
}

/** HGETDEL key FIELDS numfields field … (Redis 8.0): values (nil when absent), then deletes. */
function hgetdel(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  // Redis 8 checks the key's type before the arguments.
  readHash(ctx, args[1]!);
  const fields = fieldsAt(args, 2, "Number of fields must be a positive integer");
  return editHash(ctx, args[1]!, (hash, now) =>
    fields.map((field) => {
      const entry = hash.get(field, now);
      if (entry === null) return null;
      // Opened before the delete: the reply keeps the file's bytes once its name is gone.
      const value = stringReply(ctx, entry);
      hash.delete(field, now);
      return value;
    }),
  );
}

export const K1 = { first: 1, last: 1, step: 1 } as const;
/** What every hash command's row shares: one key, the first argument, in the hash group. */
export const HASH_ROW = { keys: K1, group: "hash" } as const;

export const hashCommands: CommandSpec[] = [
  {
    ...HASH_ROW,
    name: "hset",
    arity: -4,
    flags: ["write", "denyoom", "fast"],
    // Values past the large-value threshold arrive as files (streamed-values.ts).
    largeArgs: true,
    since: "2.0.0",
    summary:
      "Creates or modifies the value of a field in a hash; returns the number of new fields.",
    syntax: "key field value [field value ...]",
    handler: hset,
  },
  {
    ...HASH_ROW,
    name: "hmset",
    arity: -4,
    flags: ["write", "denyoom", "fast"],
    // Values past the large-value threshold arrive as files (streamed-values.ts).
    largeArgs: true,
    since: "2.0.0",
    summary: "Sets the values of multiple fields.",
    syntax: "key field value [field value ...]",
    handler: hmset,
  },
  {
    ...HASH_ROW,
    name: "hsetnx",
    arity: 4,
    flags: ["write", "denyoom", "fast"],
    // A value past the large-value threshold arrives as a file (streamed-values.ts).
    largeArgs: true,
    since: "2.0.0",
    summary: "Sets the value of a field in a hash only when the field doesn't exist.",
    syntax: "key field value",
    handler: hsetnx,
  },
  {
    ...HASH_ROW,
    name: "hget",
    arity: 3,
    flags: ["readonly", "fast"],
    since: "2.0.0",
    summary: "Returns the value of a field in a hash.",
    syntax: "key field",
    handler: hget,
  },
  {
    ...HASH_ROW,
    name: "hmget",
    arity: -3,
    flags: ["readonly", "fast"],
    since: "2.0.0",
    summary: "Returns the values of all fields in a hash.",
    syntax: "key field [field ...]",
    handler: hmget,
  },
  {
    ...HASH_ROW,
    name: "hdel",
    arity: -3,
    flags: ["write", "fast"],
    since: "2.0.0",
    summary:
      "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
    syntax: "key field [field ...]",
    handler: hdel,
  },
  {
    ...HASH_ROW,
    name: "hexists",
    arity: 3,
    flags: ["readonly", "fast"],
    since: "2.0.0",
    summary: "Determines whether a field exists in a hash.",
    syntax: "key field",
    handler: hexists,
  },
  {
    ...HASH_ROW,
    name: "hlen",
    arity: 2,
    flags: ["readonly", "fast"],
    since: "2.0.0",
    summary: "Returns the number of fields in a hash.",
    syntax: "key",
    handler: hlen,
  },
  {
    ...HASH_ROW,
    name: "hstrlen",
    arity: 3,
    flags: ["readonly", "fast"],
    since: "3.2.0",
    summary: "Returns the length of the value of a field.",
    syntax: "key field",
    handler: hstrlen,
  },
  {
    ...HASH_ROW,
    name: "hgetall",
    arity: 2,
    flags: ["readonly"],
    since: "2.0.0",
    summary: "Returns all fields and values in a hash.",
    syntax: "key",
    handler: hgetall,
  },
  {
    ...HASH_ROW,
    name: "hkeys",
    arity: 2,
    flags: ["readonly"],
    since: "2.0.0",
    summary: "Returns all fields in a hash.",
    syntax: "key",
    handler: hkeys,
  },
  {
    ...HASH_ROW,
    name: "hvals",
    arity: 2,
    flags: ["readonly"],
    since: "2.0.0",
    summary: "Returns all values in a hash.",
    syntax: "key",
    handler: hvals,
  },
  {
    ...HASH_ROW,
    name: "hgetdel",
    arity: -5,
    flags: ["write", "fast"],
    since: "8.0.0",
    summary: "Returns the value of a field and deletes it from the hash.",
    syntax: "key FIELDS numfields field [field ...]",
    handler: hgetdel,
  },
];
