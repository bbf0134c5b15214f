/**
 * Test helpers: an in-process server on port 0 with a temporary data dir, released by
 * `await using`, plus a raw-socket client for protocol edge cases that libraries hide.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, type DeepPartial, defaultConfig } from "../../src/config/index.ts";
import { silentLogger } from "../../src/log.ts";
import { type ServerHandle, startServer } from "../../src/server/server.ts";

export interface TestServer extends AsyncDisposable {
  readonly port: number;
  readonly dir: string;
  readonly handle: ServerHandle;
  readonly config: Config;
  /** Stops the server but keeps the data dir (for restart tests). */
  stop(): Promise<void>;
}

export function tempDir(prefix = "blobasaur-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestServer(
  overrides: DeepPartial<Config> = {},
  options: { dir?: string; clock?: () => number; keepDir?: boolean } = {},
): Promise<TestServer> {
  const dir = options.dir ?? tempDir();
  const config = defaultConfig({
    dataDir: join(dir, "data"),
    numShards: 4,
    ...overrides,
    addr: { host: "127.0.0.1", port: 0, ...(overrides.addr ?? {}) },
  } as DeepPartial<Config>);
  const handle = await startServer(config, { log: silentLogger(), clock: options.clock });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await handle.close();
  };
  return {
    port: handle.port,
    dir,
    handle,
    config,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Sends raw bytes and collects the reply bytes until the server closes the connection or
 * `quietMs` pass without new data (or `untilBytes` bytes arrived).
 */
export async function rawExchange(
  port: number,
  payload: Uint8Array | string | (Uint8Array | string)[],
  options: { quietMs?: number; untilBytes?: number; timeoutMs?: number; unix?: string } = {},
): Promise<{ data: Buffer; closed: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  /** True only when the server closed the connection, not when we ended it. */
  let closed = false;
  let endedByUs = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const quiet = options.quietMs ?? 150;
  return await new Promise((resolve, reject) => {
    let finished = false;
    const finish = (sock?: { end(): void }) => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      clearTimeout(overall);
      if (sock) {
        endedByUs = true;
        sock.end();
      }
      resolve({ data: Buffer.concat(chunks), closed });
    };
    const overall = setTimeout(() => finish(), options.timeoutMs ?? 10_000);
    const arm = (sock: { end(): void }) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => finish(sock), quiet);
    };
    // Bytes the socket has not taken yet; sent on drain (large payloads need several writes).
    const backlog: Buffer[] = [];
    let sending = false;
    const pump = (sock: { write(d: Uint8Array): number }) => {
      while (backlog.length > 0) {
        const head = backlog[0]!;
        const n = sock.write(head);
        if (n < head.length) {
          backlog[0] = head.subarray(Math.max(0, n));
          return;
        }
        backlog.shift();
      }
      sending = false;
    };
    const handler = {
      data(sock: { end(): void }, d: Buffer) {
        chunks.push(Buffer.from(d));
        size += d.length;
        if (options.untilBytes !== undefined && size >= options.untilBytes) finish(sock);
        else arm(sock);
      },
      drain(sock: { write(d: Uint8Array): number; end(): void }) {
        if (sending) pump(sock);
      },
      close() {
        if (!endedByUs) closed = true;
        finish();
      },
      error(_s: unknown, e: Error) {
        reject(e);
      },
      async open(sock: { write(d: Uint8Array): number; end(): void }) {
        const parts = Array.isArray(payload) ? payload : [payload];
        for (const p of parts) {
          backlog.push(Buffer.from(typeof p === "string" ? Buffer.from(p) : p));
          sending = true;
          pump(sock);
          while (sending) await Bun.sleep(1);
          if (parts.length > 1) await Bun.sleep(1);
        }
        arm(sock);
      },
    };
    const target = options.unix ? { unix: options.unix } : { hostname: "127.0.0.1", port };
    Bun.connect({ ...target, socket: handler } as Parameters<typeof Bun.connect>[0]).catch(reject);
  });
}

/** Encodes a command as a RESP multibulk request. */
export function resp(...args: (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? Buffer.from(a) : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}
