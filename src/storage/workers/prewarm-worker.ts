/**
 * Runs in a Bun Worker: reads files once, front to back, so the kernel keeps their pages in
 * its page cache (see prewarm.ts). The bytes are thrown away; one 1 MiB buffer is reused.
 * Message in: { paths }. Message out: { bytes, ms, error? } when done.
 */
import { closeSync, openSync, readSync } from "node:fs";

declare const self: Worker;

const CHUNK = 1024 * 1024;

self.onmessage = (event: MessageEvent<{ paths: string[] }>) => {
  const started = performance.now();
  const buffer = new Uint8Array(CHUNK);
  let bytes = 0;
  try {
    for (const path of event.data.paths) {
      let fd: number;
      try {
        fd = openSync(path, "r");
      } catch {
        continue; // a WAL that does not exist (yet) has nothing to warm
      }
      try {
        for (;;) {
          const n = readSync(fd, buffer, 0, CHUNK, null);
          if (n <= 0) break;
          bytes += n;
        }
      } finally {
        closeSync(fd);
      }
    }
    postMessage({ bytes, ms: performance.now() - started });
  } catch (error) {
    postMessage({ bytes, ms: performance.now() - started, error: String(error) });
  }
};
