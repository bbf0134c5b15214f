/**
 * The /metrics families read from the store at scrape time: the value cache, each shard's
 * writer queue, WAL and database file and key count, and the codec's byte totals. Nothing
 * here is recorded on the hot path; each call reads what the store already keeps.
 */
import { statSync } from "node:fs";
import type { Store } from "../storage/api.ts";
import type { TextExposition } from "./instruments.ts";

/** The in-memory value cache in front of SQLite. */
export function renderValueCache(out: TextExposition, store: Store): void {
  const cache = store.valueCacheStats();
  out.scalar(
    "blobasaur_value_cache_hits_total",
    "counter",
    "Lookups served by the in-memory value cache in front of SQLite.",
    cache.hits,
  );
  out.scalar(
    "blobasaur_value_cache_misses_total",
    "counter",
    "Value cache lookups that went to SQLite.",
    cache.misses,
  );
  out.scalar(
    "blobasaur_value_cache_bytes",
    "gauge",
    "Bytes held by the value cache.",
    cache.usedBytes,
  );
  out.scalar(
    "blobasaur_value_cache_entries",
    "gauge",
    "Entries in the value cache.",
    cache.entries,
  );
}

/** Per shard: writer queue, commit health, WAL and database sizes, live keys. */
export function renderShardFiles(out: TextExposition, store: Store): void {
  out.family("blobasaur_writer_queue_depth", "gauge", "Write operations waiting, by shard.");
  for (const w of store.writers) {
    out.sample("blobasaur_writer_queue_depth", w.depth, [["shard", String(w.shard.index)]]);
  }
  out.family(
    "blobasaur_writer_commit_failing",
    "gauge",
    "1 when the shard's last transaction failed to commit (see /health), else 0.",
  );
  for (const w of store.writers) {
    out.sample("blobasaur_writer_commit_failing", w.lastCommitError === null ? 0 : 1, [
      ["shard", String(w.shard.index)],
    ]);
  }
  out.family("blobasaur_wal_bytes", "gauge", "Size of the shard's SQLite WAL file.");
  for (const shard of store.shards) {
    out.sample("blobasaur_wal_bytes", fileBytes(`${shard.path}-wal`), [
      ["shard", String(shard.index)],
    ]);
  }
  out.family("blobasaur_database_bytes", "gauge", "Size of the shard's SQLite database file.");
  for (const shard of store.shards) {
    out.sample("blobasaur_database_bytes", fileBytes(shard.path), [["shard", String(shard.index)]]);
  }
  out.family(
    "blobasaur_keys",
    "gauge",
    "Live keys of every database, by shard (a cached count; see INFO keyspace).",
  );
  const keyspace = store.keyCounts.byShard();
  for (let i = 0; i < keyspace.length; i++) {
    out.sample("blobasaur_keys", keyspace[i]!.keys, [["shard", String(i)]]);
  }
}

/** Bytes handed to the codec and bytes stored, by stored form. */
export function renderCompression(out: TextExposition, store: Store): void {
  const totals = store.codec.totals;
  const forms = Object.keys(totals) as (keyof typeof totals)[];
  out.family(
    "blobasaur_compression_input_bytes_total",
    "counter",
    "Value bytes handed to the codec, by stored form (raw = stored uncompressed).",
  );
  for (const f of forms) {
    out.sample("blobasaur_compression_input_bytes_total", totals[f].inputBytes, [["algorithm", f]]);
  }
  out.family(
    "blobasaur_compression_stored_bytes_total",
    "counter",
    "Bytes stored after encoding (header included), by stored form.",
  );
  for (const f of forms) {
    out.sample("blobasaur_compression_stored_bytes_total", totals[f].storedBytes, [
      ["algorithm", f],
    ]);
  }
}

/** Size of a file, 0 when it does not exist (a WAL after a clean checkpoint, for instance). */
function fileBytes(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
}
