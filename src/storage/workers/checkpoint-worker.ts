/**
 * Runs in a Bun Worker: folds each shard's WAL back into its database file with its own
 * SQLite connection, so the fsyncs of a checkpoint never stall the event loop that serves
 * clients. PASSIVE checkpoints never block the writer; journal_size_limit (set by the main
 * connection) truncates the WAL file when it is reset, so the WAL stays bounded.
 * Messages in: { type: "start", paths, walBytesThreshold, intervalMs, busyTimeoutMs } and
 * { type: "stop" }. Messages out: { type: "checkpoint", shard, walBytes, ok, error? }.
 */
import { Database } from "bun:sqlite";
import { statSync } from "node:fs";

declare const self: Worker;

interface Start {
  type: "start";
  paths: string[];
  walBytesThreshold: number;
  intervalMs: number;
  busyTimeoutMs: number;
}

const connections = new Map<number, Database>();
let timer: ReturnType<typeof setInterval> | null = null;

function walBytes(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

function connection(shard: number, path: string, busyTimeoutMs: number): Database {
  let db = connections.get(shard);
  if (!db) {
    db = new Database(path);
    db.run(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    connections.set(shard, db);
  }
  return db;
}

function round(cfg: Start): void {
  cfg.paths.forEach((path, shard) => {
    const size = walBytes(path);
    if (size < cfg.walBytesThreshold) return;
    try {
      connection(shard, path, cfg.busyTimeoutMs).run("PRAGMA wal_checkpoint(PASSIVE)");
      postMessage({ type: "checkpoint", shard, walBytes: size, ok: true });
    } catch (error) {
      postMessage({
        type: "checkpoint",
        shard,
        walBytes: size,
        ok: false,
        error: String((error as Error).message),
      });
    }
  });
}

self.onmessage = (event: MessageEvent<Start | { type: "stop" }>) => {
  const msg = event.data;
  if (msg.type === "start") {
    if (timer) clearInterval(timer);
    timer = setInterval(() => round(msg), msg.intervalMs);
    return;
  }
  if (timer) clearInterval(timer);
  for (const db of connections.values()) db.close();
  connections.clear();
  postMessage({ type: "stopped" });
};
