/**
 * Runs in a Bun Worker: one BLOBASAUR.VACUUM step on its own connection to a shard file, so
 * the server's thread keeps answering reads while SQLite rebuilds or trims the file (WAL mode
 * lets readers run beside one writer; the shard's write queue is held meanwhile).
 * Message in: { path, options, busyTimeoutMs }. Message out: { result } or { error }.
 */
import { Database } from "bun:sqlite";
import { executeVacuum, type VacuumOptions } from "../maintenance/vacuum.ts";

declare const self: Worker;

self.onmessage = (
  event: MessageEvent<{ path: string; options: VacuumOptions; busyTimeoutMs: number }>,
) => {
  const { path, options, busyTimeoutMs } = event.data;
  let db: Database | null = null;
  try {
    db = new Database(path);
    db.run(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    postMessage({ result: executeVacuum(db, options) });
  } catch (error) {
    postMessage({ error: String((error as Error).message ?? error) });
  } finally {
    db?.close();
  }
};
