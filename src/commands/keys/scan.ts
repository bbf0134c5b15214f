import { limits } from "../../limits.ts";
import type { Reply } from "../../protocol/reply.ts";
import {
  type KeyParam,
  type KeyRows,
  keyBytes,
  ROW_STRING,
  type RowType,
} from "../../storage/api.ts";
import { ks } from "../db.ts";
import { globMatch, matchesAll } from "../glob.ts";
import { scanCursor, scanOptions } from "../scan-args.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";

/** Redis's type names of our row types. */
function typeName(type: RowType): "string" | "hash" {
  return type === ROW_STRING ? "string" : "hash";
}

/** Whether a scanned row is a live key (the row's own expiry was already checked). */
function rowIsKey(table: KeyRows, key: KeyParam, type: RowType, now: number): boolean {
  return type === ROW_STRING || table.entry(key, now) !== null;
}

/**
 * SCAN's cursor names a shard and a rowid in it: cursor = rowid * shards + shard. Rowids are
 * kept by upserts, so a key present for the whole scan is returned, whatever else changes.
 */
function scan(ctx: KeyCtx, args: Uint8Array[]): Reply {
  ctx.server.store.settle();
  const keyspace = ks(ctx);
  const cursor = scanCursor(args[1]!);
  const { count, pattern, type: typeFilter } = scanOptions(args, 2, { type: true });
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
    const table = keyspace.rowsOf(shard);
    const rows = table.scanPage(rowid, Math.min(count - examined, limits.scanRowsPerStepMax));
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

function keys(ctx: KeyCtx, args: Uint8Array[]): Reply {
  ctx.server.store.settle();
  const keyspace = ks(ctx);
  const pattern = matchesAll(args[1]!) ? null : args[1]!;
  const now = keyspace.now();
  const out: Reply[] = [];
  for (let shard = 0; shard < keyspace.shardCount; shard++) {
    const table = keyspace.rowsOf(shard);
    let after = 0;
    for (;;) {
      const rows = table.scanPage(after, limits.scanRowsPerStepMax);
      for (const row of rows) {
        after = row.rowid;
        if (row.expires_at !== null && row.expires_at <= now) continue;
        const bytes = keyBytes(row.key);
        if (pattern && !globMatch(pattern, bytes)) continue;
        if (rowIsKey(table, row.key, row.type, now)) out.push(bytes);
      }
      if (rows.length < limits.scanRowsPerStepMax) break;
    }
  }
  return out;
}

function randomkey(ctx: KeyCtx): Reply {
  ctx.server.store.settle();
  const keyspace = ks(ctx);
  const now = keyspace.now();
  const shards = keyspace.shardCount;
  const start = Math.floor(Math.random() * shards);
  for (let i = 0; i < shards; i++) {
    const key = keyspace.rowsOf((start + i) % shards).randomKey(now);
    if (key !== null) return keyBytes(key);
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
    acl: ["@dangerous"],
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
