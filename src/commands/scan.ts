/**
 * Walking the client's database (db.ts): SCAN (with a cursor that survives concurrent writes),
 * KEYS and RANDOMKEY, over keys of every type. Expired rows are skipped; in async-write mode
 * pending writes are committed first (store.settle), so the walk over SQLite sees them. The
 * walk reads the key tables' scan statements directly (rowid order is what makes the cursor
 * stable); a hash row is confirmed through KeyTable.entry(), since a hash whose fields all
 * expired is no key even before the sweep removes its row.
 */
import { errors, RespError } from "../errors.ts";
import type { Reply } from "../protocol/reply.ts";
import type { KeyTable } from "../storage/key-table.ts";
import { type KeyParam, keyBytes } from "../storage/keys.ts";
import { ROW_STRING, type RowType } from "../storage/sql.ts";
import { equalsToken, integer } from "./args.ts";
import { ks } from "./db.ts";
import { globMatch, matchesAll } from "./glob.ts";
import type { CommandSpec, Ctx } from "./spec.ts";

/** Redis's type names of our row types. */
function typeName(type: RowType): "string" | "hash" {
  return type === ROW_STRING ? "string" : "hash";
}

/** Whether a scanned row is a live key (the row's own expiry was already checked). */
function rowIsKey(table: KeyTable, key: KeyParam, type: RowType, now: number): boolean {
  return type === ROW_STRING || table.entry(key, now) !== null;
}

/**
 * SCAN's cursor names a shard and a rowid in it: cursor = rowid * shards + shard. Rowids are
 * kept by upserts, so a key present for the whole scan is returned, whatever else changes.
 */
function scan(ctx: Ctx, args: Uint8Array[]): Reply {
  ctx.server.store.settle();
  const keyspace = ks(ctx);
  const cursor = parseCursor(args[1]!);
  let count = 10;
  let pattern: Uint8Array | null = null;
  let typeFilter: string | null = null;
  for (let i = 2; i < args.length; i += 2) {
    if (i + 1 >= args.length) throw errors.syntax();
    const a = args[i]!;
    if (equalsToken(a, "COUNT")) {
      count = integer(args[i + 1]!);
      if (count < 1) throw errors.syntax();
    } else if (equalsToken(a, "MATCH")) pattern = matchesAll(args[i + 1]!) ? null : args[i + 1]!;
    else if (equalsToken(a, "TYPE"))
      typeFilter = new TextDecoder().decode(args[i + 1]!).toLowerCase();
    else throw errors.syntax();
  }
  const shards = keyspace.shardCount;
  const n = BigInt(shards);
  // A cursor we never handed out (rowid beyond 2^53) has nothing after it.
  if (cursor / n > BigInt(Number.MAX_SAFE_INTEGER)) return ["0", []];
  let shard = Number(cursor % n);
  let rowid = Number(cursor / n);
  const now = keyspace.now();
  const keys: Reply[] = [];
  let examined = 0;
  while (shard < shards && examined < count) {
    const table = keyspace.keyTables[shard]!;
    const rows = table.statements.scanStmt.all(rowid, Math.min(count - examined, 10_000));
    for (const row of rows) {
      examined++;
      rowid = row.rowid;
      if (row.expires_at !== null && row.expires_at <= now) continue;
      if (typeFilter !== null && typeFilter !== typeName(row.type)) continue;
      const bytes = keyBytes(row.key);
      if (pattern && !globMatch(pattern, bytes)) continue;
      if (!rowIsKey(table, row.key, row.type, now)) continue;
      keys.push(bytes);
    }
    if (rows.length === 0 || examined < count) {
      shard++;
      rowid = 0;
    }
  }
  const next = shard >= shards ? 0n : BigInt(rowid) * n + BigInt(shard);
  return [String(next), keys];
}

/** Reads the cursor as Redis 7.0 does (strtoul): negative values wrap around 2^64. */
function parseCursor(arg: Uint8Array): bigint {
  const text = new TextDecoder().decode(arg);
  if (!/^-?[0-9]{1,20}$/.test(text)) throw new RespError("ERR", "invalid cursor");
  let v = BigInt(text);
  if (v < 0n) v += 1n << 64n;
  if (v < 0n || v > 18446744073709551615n) throw new RespError("ERR", "invalid cursor");
  return v;
}

function keys(ctx: Ctx, args: Uint8Array[]): Reply {
  ctx.server.store.settle();
  const keyspace = ks(ctx);
  const pattern = matchesAll(args[1]!) ? null : args[1]!;
  const now = keyspace.now();
  const out: Reply[] = [];
  for (const table of keyspace.keyTables) {
    let after = 0;
    for (;;) {
      const rows = table.statements.scanStmt.all(after, 10_000);
      for (const row of rows) {
        after = row.rowid;
        if (row.expires_at !== null && row.expires_at <= now) continue;
        const bytes = keyBytes(row.key);
        if (pattern && !globMatch(pattern, bytes)) continue;
        if (rowIsKey(table, row.key, row.type, now)) out.push(bytes);
      }
      if (rows.length < 10_000) break;
    }
  }
  return out;
}

function randomkey(ctx: Ctx): Reply {
  ctx.server.store.settle();
  const keyspace = ks(ctx);
  const now = keyspace.now();
  const shards = keyspace.shardCount;
  const start = Math.floor(Math.random() * shards);
  for (let i = 0; i < shards; i++) {
    const table = keyspace.keyTables[(start + i) % shards]!;
    const s = table.statements;
    const max = s.maxRowidStmt.get()?.m ?? null;
    if (max === null) continue;
    const pick = 1 + Math.floor(Math.random() * max);
    const row = s.randomAfterStmt.get(pick, now) ?? s.randomAfterStmt.get(0, now);
    if (row && table.has(row.key, now)) return keyBytes(row.key);
  }
  return null;
}

export const scanCommands: CommandSpec[] = [
  {
    name: "scan",
    arity: -2,
    flags: ["readonly"],
    keys: null,
    group: "generic",
    since: "2.8.0",
    summary: "Iterates over the key names in the database.",
    syntax: "cursor [MATCH pattern] [COUNT count] [TYPE type]",
    handler: scan,
  },
  {
    name: "keys",
    arity: 2,
    flags: ["readonly"],
    keys: null,
    group: "generic",
    since: "1.0.0",
    summary: "Returns all key names that match a pattern.",
    syntax: "pattern",
    handler: keys,
  },
  {
    name: "randomkey",
    arity: 1,
    flags: ["readonly"],
    keys: null,
    group: "generic",
    since: "1.0.0",
    summary: "Returns a random key name from the database.",
    syntax: "",
    handler: randomkey,
  },
];
