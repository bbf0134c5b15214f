/**
 * Client limits under Redis's names: maxclients, timeout, client-query-buffer-limit,
 * client-output-buffer-limit (normal), proto-max-bulk-len, the half-sent-frame (slowloris)
 * timeout, and protected mode.
 */
import { describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { PROTECTED_MODE_DENIED } from "../../src/security/security.ts";
import { RawClient } from "../helpers/redis-ref.ts";
import { resp, startTestServer } from "../helpers/server.ts";

const send = async (c: RawClient, ...args: string[]) => (await c.send(resp(...args))).toString();

/** A raw socket that records what it receives and when the server closed it. */
async function rawSocket(port: number, hostname = "127.0.0.1") {
  let received = "";
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  const socket: Socket<undefined> = await Bun.connect({
    hostname,
    port,
    socket: {
      data: (_s, d) => {
        received += d.toString();
      },
      close: () => resolveClosed(),
      error: () => resolveClosed(),
    },
  });
  return { socket, closed, received: () => received };
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, Bun.sleep(ms).then(() => Promise.reject(new Error(`not within ${ms} ms`)))]);

describe("maxclients", () => {
  test("the client over the limit gets Redis's error and is closed", async () => {
    await using srv = await startTestServer({ maxclients: 2 });
    const a = await RawClient.connect({ port: srv.port });
    const b = await RawClient.connect({ port: srv.port });
    expect(await send(a, "PING")).toBe("+PONG\r\n");
    expect(await send(b, "PING")).toBe("+PONG\r\n");
    const c = await rawSocket(srv.port);
    await within(c.closed, 5000);
    expect(c.received()).toBe("-ERR max number of clients reached\r\n");
    expect(await send(a, "CONFIG", "GET", "maxclients")).toBe(
      "*2\r\n$10\r\nmaxclients\r\n$1\r\n2\r\n",
    );
  });
});

describe("timeout", () => {
  test("an idle client is closed after timeout seconds; CONFIG SET changes it live", async () => {
    await using srv = await startTestServer();
    const admin = await RawClient.connect({ port: srv.port });
    expect(await send(admin, "CONFIG", "SET", "timeout", "1")).toBe("+OK\r\n");
    const idle = await rawSocket(srv.port);
    const started = Date.now();
    await within(idle.closed, 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });
});

describe("half-sent frames (slowloris)", () => {
  test("a request held half-sent past client_frame_timeout_ms is closed", async () => {
    await using srv = await startTestServer({ clientFrameTimeoutMs: 200 });
    const slow = await rawSocket(srv.port);
    slow.socket.write("*2\r\n$3\r\nGET\r\n$10\r\nabc");
    await within(slow.closed, 5000);
    // A client that finishes its frames in time is left alone.
    const ok = await RawClient.connect({ port: srv.port });
    expect(await send(ok, "PING")).toBe("+PONG\r\n");
  });
});

describe("client-query-buffer-limit and proto-max-bulk-len", () => {
  test("a request growing past client-query-buffer-limit closes the client", async () => {
    await using srv = await startTestServer({ clientQueryBufferLimit: 1024 * 1024 });
    const big = await rawSocket(srv.port);
    // One multibulk of many small arguments that never ends (small bulks are buffered in
    // memory; large ones stream to disk and do not count, see storage/large).
    big.socket.write("*1000000\r\n");
    const piece = Buffer.from("$10\r\n0123456789\r\n".repeat(4096));
    for (let i = 0; i < 20; i++) {
      big.socket.write(piece);
      await Bun.sleep(1);
    }
    await within(big.closed, 5000);
    expect(big.received()).toBe("");
  });

  test("a bulk longer than proto-max-bulk-len is a protocol error", async () => {
    await using srv = await startTestServer();
    const admin = await RawClient.connect({ port: srv.port });
    expect(await send(admin, "CONFIG", "SET", "proto-max-bulk-len", "1mb")).toBe("+OK\r\n");
    const c = await rawSocket(srv.port);
    c.socket.write("*2\r\n$3\r\nGET\r\n$2000000\r\n");
    await within(c.closed, 5000);
    expect(c.received()).toBe("-ERR Protocol error: invalid bulk length\r\n");
  });
});

function rssBytes(): number {
  return process.memoryUsage.rss();
}

describe("client-output-buffer-limit normal", () => {
  test("a reader that stops reading is cut off at the hard limit and memory stays flat", async () => {
    await using srv = await startTestServer();
    const admin = await RawClient.connect({ port: srv.port });
    expect(await send(admin, "CONFIG", "SET", "client-output-buffer-limit", "normal 8mb 0 0")).toBe(
      "+OK\r\n",
    );
    const value = "v".repeat(1024 * 1024);
    expect(await send(admin, "SET", "big", value)).toBe("+OK\r\n");
    Bun.gc(true);
    const before = rssBytes();
    // 512 GETs of 1 MiB asked for in one burst; the client never reads a byte.
    let received = 0;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => {
      resolveClosed = r;
    });
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: srv.port,
      socket: {
        data: (s, d) => {
          received += d.length;
          s.pause();
        },
        close: () => resolveClosed(),
        error: () => resolveClosed(),
      },
    });
    socket.pause();
    socket.write(Buffer.from(resp("GET", "big").toString().repeat(512)));
    await within(closed, 10_000);
    Bun.gc(true);
    const growth = rssBytes() - before;
    expect(received).toBeLessThan(512 * 1024 * 1024);
    // Without the limit the server would hold up to 512 MiB of replies for this client.
    expect(growth).toBeLessThan(128 * 1024 * 1024);
    expect(await send(admin, "PING")).toBe("+PONG\r\n");
    expect(await send(admin, "CONFIG", "GET", "client-output-buffer-limit")).toContain(
      "normal 8388608 0 0",
    );
  });
});

describe("protected mode", () => {
  const externalAddress = (() => {
    for (const list of Object.values(
      require("node:os").networkInterfaces() as Record<
        string,
        { address: string; family: string; internal: boolean }[]
      >,
    ))
      for (const a of list ?? []) if (!a.internal && a.family === "IPv4") return a.address;
    return null;
  })();

  test("with no password, a non-loopback client gets DENIED and is disconnected", async () => {
    expect(externalAddress).not.toBeNull();
    await using srv = await startTestServer({ addr: { host: "0.0.0.0", port: 0 } } as never);
    const outside = await rawSocket(srv.port, externalAddress!);
    await within(outside.closed, 5000);
    expect(outside.received()).toBe(`-${PROTECTED_MODE_DENIED}\r\n`);
    const local = await RawClient.connect({ port: srv.port });
    expect(await send(local, "PING")).toBe("+PONG\r\n");
    // protected-mode no lets the same client in.
    expect(await send(local, "CONFIG", "SET", "protected-mode", "no")).toBe("+OK\r\n");
    const again = await rawSocket(srv.port, externalAddress!);
    again.socket.write(resp("PING"));
    await Bun.sleep(100);
    expect(again.received()).toBe("+PONG\r\n");
    again.socket.end();
  });

  test("with a password set, a non-loopback client may connect and AUTH", async () => {
    await using srv = await startTestServer({
      addr: { host: "0.0.0.0", port: 0 },
      requirepass: "pw",
    } as never);
    const outside = await rawSocket(srv.port, externalAddress!);
    outside.socket.write(resp("AUTH", "pw"));
    await Bun.sleep(100);
    expect(outside.received()).toBe("+OK\r\n");
    outside.socket.end();
  });
});
