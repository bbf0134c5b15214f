/**
 * Hash commands without field expiry: HSET, HMSET, HSETNX, HGET, HMGET, HDEL, HEXISTS, HLEN,
 * HSTRLEN, HGETALL, HKEYS, HVALS, HSCAN, HGETDEL, the namespace commands BLOBASAUR.NAMESPACES and
 * BLOBASAUR.DROPNAMESPACE, and the helpers hash-ttl.ts (field expiry) shares. The Redis hash
 * key is a namespace (its own table per shard, see storage/namespaces.ts); each field lives in
 * the shard it hashes to. Namespaces and plain keys are separate spaces: TYPE, EXISTS, DEL,
 * SCAN and DBSIZE see plain keys only.
 *
 * Ordering rules every handler here follows:
 *  - read-only commands read synchronously: the connection runs them only after the client's
 *    earlier writes settled, and no write runs while a handler does;
 *  - write commands do all their reads inside their queued write operations, so the same
 *    client's pipelined writes before and after them apply in order;
 *  - a multi-field write queues one operation per shard in the same tick; the scheduler runs
 *    all of them in one synchronous pass, so no client sees it half applied (see
 *    writeJointly in namespace-writes.ts for the all-or-nothing case and the crash guarantee).
 */
import { errors, RespError } from "../errors.ts";
import { limits } from "../limits.ts";
import { map, OK, type Reply } from "../protocol/reply.ts";
import type { FieldRows } from "../storage/inflight-fields.ts";
import { type KeyParam, keyBytes, keyParam } from "../storage/keys.ts";
import { writeFields, writeNamespaceShard } from "../storage/namespace-writes.ts";
import { type FieldEntry, parseNamespace } from "../storage/namespaces.ts";
import type { Store } from "../storage/store.ts";
import { equalsToken, integer, parseInt64, text } from "./args.ts";
import { globMatch, matchesAll } from "./glob.ts";
import type { CommandSpec, Ctx } from "./spec.ts";

/** Rows read per SQLite query when a command walks a whole namespace. */
const PAGE_ROWS = Math.min(1000, limits.scanRowsPerStepMax);

/** The namespace argument (args[1]), validated before anything else. */
export function namespaceArg(args: Uint8Array[]): string {
  const ns = parseNamespace(args[1]!);
  if (ns === null) {
    throw new RespError(
      "ERR",
      "invalid hash namespace: must be non-empty and contain only [A-Za-z0-9_]",
    );
  }
  return ns;
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

/**
 * Queues `fn` once per shard that one of `fields` hashes to, all in the same tick, and
 * resolves with their results after every part committed. `fn` gets the field positions.
 */
export function perShard<T>(
  store: Store,
  fields: Uint8Array[],
  fn: (shard: number, positions: number[], now: number) => T,
): Promise<T[]> {
  const parts: Promise<T>[] = [];
  for (const [shard, positions] of store.groupByShard(fields)) {
    parts.push(writeFields(store, shard, (now) => fn(shard, positions, now)));
  }
  return Promise.all(parts);
}

/**
 * Visits every field of `fields` that is live in namespace `ns`, inside its shard's writer
 * (one operation per shard, all in the same pass). Fields that are absent or expired, and
 * shards without the namespace's table, are skipped.
 */
export async function forEachLiveField(
  store: Store,
  ns: string,
  fields: Uint8Array[],
  visit: (
    table: FieldRows,
    position: number,
    field: KeyParam,
    entry: FieldEntry,
    now: number,
  ) => void,
): Promise<void> {
  const params = fields.map(keyParam);
  await perShard(store, fields, (shard, positions, now) => {
    const table = store.namespaces.table(shard, ns);
    if (table === null) return;
    for (const p of positions) {
      const entry = table.live(params[p]!, now);
      if (entry !== null) visit(table, p, params[p]!, entry, now);
    }
  });
}

function sum(counts: number[]): number {
  let total = 0;
  for (const n of counts) total += n;
  return total;
}

/** HSET/HMSET: sets every pair (dropping any field TTL, as Redis does); counts new fields. */
async function setPairs(ctx: Ctx, args: Uint8Array[], name: string): Promise<number> {
  if (args.length % 2 !== 0) throw errors.wrongArity(name);
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  const fields: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  for (let i = 2; i < args.length; i += 2) {
    fields.push(args[i]!);
    values.push(store.codec.encode(args[i + 1]!));
  }
  const params = fields.map(keyParam);
  const namespaces = store.namespaces;
  const counts = await perShard(store, fields, (shard, positions, now) => {
    const table = namespaces.ensure(shard, ns);
    let added = 0;
    // One upsert per field reports whether it was new (no SELECT first).
    for (const p of positions)
      if (table.putEncodedIsNew(params[p]!, args[2 * p + 3]!, values[p]!, now, null)) added++;
    return added;
  });
  return sum(counts);
}

function hset(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  if (args.length === 4) return setOne(ctx, args);
  return setPairs(ctx, args, "hset");
}

/** HSET with one pair, the common case: one shard, so no grouping or Promise.all. */
function setOne(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  const field = keyParam(args[2]!);
  const stored = store.codec.encode(args[3]!);
  const shard = store.shardOf(args[2]!);
  return writeFields(store, shard, (now) =>
    store.namespaces.ensure(shard, ns).putEncodedIsNew(field, args[3]!, stored, now, null) ? 1 : 0,
  );
}

async function hmset(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  await setPairs(ctx, args, "hmset");
  return OK;
}

function hsetnx(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  const field = keyParam(args[2]!);
  const stored = store.codec.encode(args[3]!);
  const shard = store.shardOf(args[2]!);
  return writeFields(store, shard, (now) => {
    if (store.namespaces.table(shard, ns)?.has(field, now)) return 0;
    store.namespaces.ensure(shard, ns).putEncoded(field, args[3]!, stored, now, null);
    return 1;
  });
}

function hget(ctx: Ctx, args: Uint8Array[]): Reply {
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  const table = store.namespaces.table(store.shardOf(args[2]!), ns);
  if (table === null) return null;
  return table.live(keyParam(args[2]!), store.now())?.value ?? null;
}

function hmget(ctx: Ctx, args: Uint8Array[]): Reply {
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  const now = store.now();
  const out: Reply[] = new Array(args.length - 2);
  for (let i = 2; i < args.length; i++) {
    const table = store.namespaces.table(store.shardOf(args[i]!), ns);
    out[i - 2] = table?.live(keyParam(args[i]!), now)?.value ?? null;
  }
  return out;
}

function hexists(ctx: Ctx, args: Uint8Array[]): Reply {
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  const table = store.namespaces.table(store.shardOf(args[2]!), ns);
  return table?.has(keyParam(args[2]!), store.now()) ? 1 : 0;
}

function hstrlen(ctx: Ctx, args: Uint8Array[]): Reply {
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  const table = store.namespaces.table(store.shardOf(args[2]!), ns);
  return table?.live(keyParam(args[2]!), store.now())?.value.length ?? 0;
}

async function hdel(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  const fields = args.slice(2);
  const params = fields.map(keyParam);
  const counts = await perShard(store, fields, (shard, positions, now) => {
    const table = store.namespaces.table(shard, ns);
    if (table === null) return 0;
    let removed = 0;
    for (const p of positions) if (table.remove(params[p]!, now)) removed++;
    return removed;
  });
  return sum(counts);
}

function hlen(ctx: Ctx, args: Uint8Array[]): Reply {
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  const now = store.now();
  let n = 0;
  for (let shard = 0; shard < store.shardCount; shard++) {
    n += store.namespaces.table(shard, ns)?.countLive(now) ?? 0;
  }
  return n;
}

/**
 * HGETALL, HKEYS, HVALS: walk the namespace one page at a time and append straight to the
 * reply, so the only whole-namespace structure ever built is the reply itself.
 */
function walk(
  ctx: Ctx,
  args: Uint8Array[],
  keys: boolean,
  values: boolean,
): Reply[] | [Reply, Reply][] {
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  // With async_write, commit pending field writes first: the walk reads SQLite.
  store.settle();
  const now = store.now();
  const pairs: [Reply, Reply][] = [];
  const flat: Reply[] = [];
  for (const { table, rows } of store.namespaces.pages(ns, PAGE_ROWS)) {
    for (const row of rows) {
      if (row.expires_at !== null && row.expires_at <= now) continue;
      if (keys && values) pairs.push([keyBytes(row.key), table.decode(row.value)]);
      else flat.push(keys ? keyBytes(row.key) : table.decode(row.value));
    }
  }
  return keys && values ? pairs : flat;
}

function hgetall(ctx: Ctx, args: Uint8Array[]): Reply {
  return map(walk(ctx, args, true, true) as [Reply, Reply][]);
}

function hkeys(ctx: Ctx, args: Uint8Array[]): Reply {
  return walk(ctx, args, true, false);
}

function hvals(ctx: Ctx, args: Uint8Array[]): Reply {
  return walk(ctx, args, false, true);
}

/**
 * HSCAN's cursor names a shard and a rowid in it, like SCAN's: cursor = rowid * shards +
 * shard. Rowids survive upserts, so a field present for the whole scan is returned.
 */
function hscan(ctx: Ctx, args: Uint8Array[]): Reply {
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  const cursor = parseCursor(args[2]!);
  let count = 10;
  let pattern: Uint8Array | null = null;
  let withValues = true;
  for (let i = 3; i < args.length; i++) {
    const a = args[i]!;
    const hasValue = i + 1 < args.length;
    if (equalsToken(a, "COUNT") && hasValue) {
      count = integer(args[++i]!);
      if (count < 1) throw errors.syntax();
    } else if (equalsToken(a, "MATCH") && hasValue) {
      const p = args[++i]!;
      pattern = matchesAll(p) ? null : p;
    } else if (equalsToken(a, "NOVALUES")) withValues = false;
    else throw errors.syntax();
  }
  const shards = BigInt(store.shardCount);
  let shard = Number(cursor % shards);
  let rowid = Number(cursor / shards);
  const now = store.now();
  const out: Reply[] = [];
  let examined = 0;
  while (shard < store.shardCount && examined < count) {
    const table = store.namespaces.table(shard, ns);
    const want = Math.min(count - examined, PAGE_ROWS);
    const rows = table ? table.page(rowid, want) : [];
    for (const row of rows) {
      examined++;
      rowid = row.rowid;
      if (row.expires_at !== null && row.expires_at <= now) continue;
      const field = keyBytes(row.key);
      if (pattern && !globMatch(pattern, field)) continue;
      out.push(field);
      if (withValues) out.push(table!.decode(row.value));
    }
    if (rows.length < want) {
      shard++;
      rowid = 0;
    }
  }
  const next = shard >= store.shardCount ? 0n : BigInt(rowid) * shards + BigInt(shard);
  return [String(next), out];
}

function parseCursor(arg: Uint8Array): bigint {
  const v = parseInt64(arg);
  if (v !== null && v >= 0n) return v;
  // Like Redis: the whole unsigned 64-bit range is a valid cursor, anything else is refused.
  const digits = text(arg);
  if (/^[0-9]{1,20}$/.test(digits) && BigInt(digits) <= 18446744073709551615n)
    return BigInt(digits);
  throw new RespError("ERR", "invalid cursor");
}

/** HGETDEL ns FIELDS numfields field … (Redis 8.0): values (nil when absent), then deletes. */
async function hgetdel(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const ns = namespaceArg(args);
  const fields = fieldsAt(args, 2, "Number of fields must be a positive integer");
  const out: Reply[] = new Array(fields.length).fill(null);
  await forEachLiveField(ctx.server.store, ns, fields, (table, p, field, entry, now) => {
    out[p] = entry.value;
    table.remove(field, now);
  });
  return out;
}

function namespacesCommand(ctx: Ctx): Reply {
  // A namespace first written by a pending async write exists once that write commits.
  ctx.server.store.settle();
  return ctx.server.store.namespaces.names();
}

/** Drops the namespace's table in every shard in one pass; replies with the live fields removed. */
async function dropNamespace(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const ns = namespaceArg(args);
  const store = ctx.server.store;
  const parts: Promise<number>[] = [];
  for (let shard = 0; shard < store.shardCount; shard++) {
    const shardNamespaces = store.namespaces.shards[shard]!;
    parts.push(writeNamespaceShard(store, shard, (now) => shardNamespaces.drop(ns, now)));
  }
  return sum(await Promise.all(parts));
}

const K1 = { first: 1, last: 1, step: 1 } as const;
const row = (
  name: string,
  arity: number,
  flags: CommandSpec["flags"],
  since: string,
  syntax: string,
  summary: string,
  handler: CommandSpec["handler"],
): CommandSpec => ({
  name,
  arity,
  flags,
  keys: K1,
  group: "hash",
  since,
  summary,
  syntax,
  handler,
});

// biome-ignore format: one row per command reads best as a table
export const hashCommands: CommandSpec[] = [
  row("hset", -4, ["write", "denyoom", "fast"], "2.0.0", "key field value [field value ...]",
    "Creates or modifies the value of a field in a hash (a namespace); returns the number of new fields.", hset),
  row("hmset", -4, ["write", "denyoom", "fast"], "2.0.0", "key field value [field value ...]",
    "Sets the values of multiple fields.", hmset),
  row("hsetnx", 4, ["write", "denyoom", "fast"], "2.0.0", "key field value",
    "Sets the value of a field in a hash only when the field doesn't exist.", hsetnx),
  row("hget", 3, ["readonly", "fast"], "2.0.0", "key field", "Returns the value of a field in a hash.", hget),
  row("hmget", -3, ["readonly", "fast"], "2.0.0", "key field [field ...]",
    "Returns the values of all fields in a hash.", hmget),
  row("hdel", -3, ["write", "fast"], "2.0.0", "key field [field ...]",
    "Deletes one or more fields and their values from a hash.", hdel),
  row("hexists", 3, ["readonly", "fast"], "2.0.0", "key field", "Determines whether a field exists in a hash.", hexists),
  row("hlen", 2, ["readonly", "fast"], "2.0.0", "key", "Returns the number of fields in a hash.", hlen),
  row("hstrlen", 3, ["readonly", "fast"], "3.2.0", "key field", "Returns the length of the value of a field.", hstrlen),
  row("hgetall", 2, ["readonly"], "2.0.0", "key", "Returns all fields and values in a hash.", hgetall),
  row("hkeys", 2, ["readonly"], "2.0.0", "key", "Returns all fields in a hash.", hkeys),
  row("hvals", 2, ["readonly"], "2.0.0", "key", "Returns all values in a hash.", hvals),
  row("hscan", -3, ["readonly"], "2.8.0", "key cursor [MATCH pattern] [COUNT count] [NOVALUES]",
    "Iterates over fields and values of a hash.", hscan),
  row("hgetdel", -5, ["write", "fast"], "8.0.0", "key FIELDS numfields field [field ...]",
    "Returns the value of a field and deletes it from the hash.", hgetdel),
  { name: "blobasaur.namespaces", arity: 1, flags: ["readonly"], keys: null, group: "blobasaur",
    since: "0.1.0", syntax: "",
    summary: "BLOBASAUR.NAMESPACES: lists every namespace (hash key) that has a table in at least one shard, sorted; a namespace whose fields were all deleted or expired stays listed until BLOBASAUR.DROPNAMESPACE.",
    handler: namespacesCommand },
  { name: "blobasaur.dropnamespace", arity: 2, flags: ["write"], keys: K1, group: "blobasaur",
    since: "0.1.0", syntax: "namespace",
    summary: "BLOBASAUR.DROPNAMESPACE namespace: drops the namespace's table in every shard in one pass and replies with the number of live fields removed (0 when it has no table).",
    handler: dropNamespace },
];
