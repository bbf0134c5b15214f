/**
 * Runs in a Bun Worker: makes committed WAL frames durable with fdatasync, so that with
 * `synchronous = FULL` the event loop never waits for the disk. The files of one request are
 * synced in parallel (async fs calls run on a thread pool), so four shards cost about one
 * fsync, not four. Messages in: { id, paths } (WAL file paths). Messages out: { id, error? }
 * once every path is synced.
 */
import { open } from "node:fs/promises";

declare const self: Worker;

async function syncFile(path: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r+");
  } catch (error) {
    // No WAL file means nothing is waiting in one (it was checkpointed and removed).
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

self.onmessage = async (event: MessageEvent<{ id: number; paths: string[] }>) => {
  const { id, paths } = event.data;
  try {
    await Promise.all(paths.map(syncFile));
    postMessage({ id });
  } catch (error) {
    postMessage({ id, error: String((error as Error).message ?? error) });
  }
};
