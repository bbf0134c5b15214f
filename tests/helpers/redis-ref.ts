/**
 * A real `redis-server` for parity tests, reached over a unix socket and released by
 * `await using`, plus a raw RESP client that reads exactly one reply per request (so replies
 * can be compared byte for byte, command by command, against our server).
 *
 * CI installs Redis 7; when `redis-server` is missing the parity tests fail loudly instead of
 * being skipped.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { resp } from "./server.ts";

export interface RedisRef extends AsyncDisposable {
  /** Path of the unix socket redis-server listens on (it listens on no TCP port). */
  readonly socket: string;
  readonly dir: string;
}

/**
 * Starts `redis-server --port 0 --unixsocket <tmp>/redis.sock --save '' --appendonly no`,
 * waits until the socket answers PING and returns a handle whose disposal kills the server and
 * removes its directory. `extraArgs` are appended (e.g. `["--databases", "1"]`).
 */
export async function startRedisRef(extraArgs: string[] = []): Promise<RedisRef> {
  const binary = Bun.which("redis-server");
  if (!binary) {
    throw new Error(
      "redis-server is not on PATH: the parity tests compare replies with a real Redis 7. " +
        "Install it (Debian/Ubuntu: apt-get install redis-server) and run the tests again.",
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "blobasaur-redis-ref-"));
  const socket = join(dir, "redis.sock");
  const proc = Bun.spawn(
    [
      binary,
      "--port",
      "0",
      "--unixsocket",
      socket,
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      ...extraArgs,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const dispose = async () => {
    proc.kill();
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) {
      const out = await new Response(proc.stdout).text();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `redis-server exited with code ${proc.exitCode} before answering PING:\n${out}`,
      );
    }
    try {
      const client = await RawClient.connect({ unix: socket });
      const reply = await client.command("PING");
      client.close();
      if (reply.toString() === "+PONG\r\n") break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await dispose();
      throw new Error("redis-server did not answer PING within 10 s");
    }
    await Bun.sleep(10);
  }
  return { socket, dir, [Symbol.asyncDispose]: dispose };
}

/**
 * Index just past the one complete RESP2/RESP3 reply starting at `from`, or -1 when the buffer
 * ends before the reply does.
 */
export function replyEnd(buf: Buffer, from = 0): number {
  const lineEnd = buf.indexOf("\r\n", from);
  if (lineEnd < 0) return -1;
  const type = String.fromCharCode(buf[from]!);
  const header = buf.toString("latin1", from + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
    case "-":
    case ":":
    case "_":
    case ",":
    case "#":
    case "(":
      return next;
    case "$":
    case "=":
    case "!": {
      const len = Number(header);
      if (len < 0) return next;
      return buf.length >= next + len + 2 ? next + len + 2 : -1;
    }
    case "*":
    case "~":
    case ">":
    case "%":
    case "|": {
      let n = Number(header);
      if (n < 0) return next;
      if (type === "%" || type === "|") n *= 2;
      let at = next;
      for (let i = 0; i < n; i++) {
        at = replyEnd(buf, at);
        if (at < 0) return -1;
      }
      return at;
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)} at ${from}`);
  }
}

/**
 * A persistent raw connection: `command()` sends one request and resolves with the exact
 * bytes of its one reply. Requests are answered in order, so several may be in flight.
 */
export class RawClient {
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiting: { resolve(b: Buffer): void; reject(e: Error): void }[] = [];
  closed = false;

  private constructor(private socket: Socket<unknown> | null) {}

  static async connect(target: { port: number } | { unix: string }): Promise<RawClient> {
    const client = new RawClient(null);
    const where =
      "unix" in target ? { unix: target.unix } : { hostname: "127.0.0.1", port: target.port };
    client.socket = await Bun.connect({
      ...where,
      socket: {
        data: (_s, d) => client.onData(d),
        close: () => client.onClose(),
        error: () => client.onClose(),
      },
    } as Parameters<typeof Bun.connect>[0]);
    return client;
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? Buffer.from(d) : Buffer.concat([this.buf, d]);
    while (this.waiting.length > 0 && this.buf.length > 0) {
      const end = replyEnd(this.buf);
      if (end < 0) return;
      const reply = this.buf.subarray(0, end);
      this.buf = this.buf.subarray(end);
      this.waiting.shift()!.resolve(Buffer.from(reply));
    }
  }

  private onClose(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error("connection closed"));
  }

  /** Sends raw bytes and resolves with the next `replies` replies, concatenated. */
  async send(bytes: Uint8Array | string, replies = 1): Promise<Buffer> {
    if (this.closed || !this.socket) throw new Error("connection closed");
    const promises: Promise<Buffer>[] = [];
    for (let i = 0; i < replies; i++) {
      promises.push(
        new Promise((resolve, reject) => {
          this.waiting.push({ resolve, reject });
        }),
      );
    }
    this.socket.write(bytes);
    return Buffer.concat(await Promise.all(promises));
  }

  /** Resolves with the next reply the server sends unasked (a MONITOR line), or rejects. */
  receive(timeoutMs = 5_000): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error("connection closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        resolve: (b: Buffer) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiting.push(waiter);
      this.onData(Buffer.alloc(0));
    });
  }

  /** Sends one command as a RESP multibulk and resolves with its reply bytes. */
  command(...args: (string | Uint8Array)[]): Promise<Buffer> {
    return this.send(resp(...args));
  }

  close(): void {
    this.socket?.end();
    this.closed = true;
  }
}

/**
 * Like rawExchange in server.ts, but `closedByPeer` is true only when the other side closed
 * the connection (rawExchange's `closed` is also set when the exchange itself ends the
 * socket after the quiet period, so it cannot tell "still open" from "closed").
 */
export async function exchange(
  target: { port: number } | { unix: string },
  payload: Uint8Array | string | (Uint8Array | string)[],
  options: { quietMs?: number; untilBytes?: number; timeoutMs?: number } = {},
): Promise<{ data: Buffer; closedByPeer: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let closedByPeer = false;
  let ending = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const quiet = options.quietMs ?? 150;
  return await new Promise((resolve, reject) => {
    let finished = false;
    let overall: ReturnType<typeof setTimeout> | null = null;
    const finish = (sock?: { end(): void }) => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      if (overall) clearTimeout(overall);
      const result = { data: Buffer.concat(chunks), closedByPeer };
      ending = true;
      sock?.end();
      resolve(result);
    };
    const arm = (sock: { end(): void }) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => finish(sock), quiet);
    };
    const where =
      "unix" in target ? { unix: target.unix } : { hostname: "127.0.0.1", port: target.port };
    Bun.connect({
      ...where,
      socket: {
        data(sock: { end(): void }, d: Buffer) {
          chunks.push(Buffer.from(d));
          size += d.length;
          if (options.untilBytes !== undefined && size >= options.untilBytes) finish(sock);
          else arm(sock);
        },
        close() {
          if (!ending) closedByPeer = true;
          finish();
        },
        error(_s: unknown, e: Error) {
          if (!finished) reject(e);
        },
        async open(sock: { write(d: Uint8Array | string): number; end(): void }) {
          overall = setTimeout(() => finish(sock), options.timeoutMs ?? 10_000);
          const parts = Array.isArray(payload) ? payload : [payload];
          for (const p of parts) {
            await writeAll(sock, typeof p === "string" ? Buffer.from(p) : p);
            if (parts.length > 1) await Bun.sleep(1);
          }
          arm(sock);
        },
      },
    } as Parameters<typeof Bun.connect>[0]).catch(reject);
  });
}

/** Bun's socket.write may take only part of a large buffer; the rest is retried until sent. */
async function writeAll(sock: { write(d: Uint8Array): number }, bytes: Uint8Array): Promise<void> {
  let rest = bytes;
  for (;;) {
    const written = sock.write(rest);
    if (written < 0 || written >= rest.length) return;
    rest = rest.subarray(written);
    await Bun.sleep(1);
  }
}
