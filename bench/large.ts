/**
 * Large-values bench (issue 16): starts our server (temporary data dir, default config unless
 * --ours-config lines are given) and prints
 *   - RSS growth during one 256 MiB SET then GET (target ≤ 64 MiB),
 *   - RSS growth during 4 concurrent 256 MiB uploads (target ≤ 256 MiB),
 *   - a third client's GET p99 on a 100 B value, idle vs while one client uploads and another
 *     downloads 256 MiB (target ≤ 3×), for our server and for redis-server in the same run,
 *   - bytes the server wrote to disk (/proc/PID/io write_bytes) per byte stored (target ≈ 1).
 * Every value goes over raw sockets in 1 MiB pieces, so the client holds no whole value; each
 * read is checked for its length and sha256. Loopback only; the server is killed on exit.
 *
 *   bun bench/large.ts [--size-mib 256] [--uploads 4] [--ours-config 'key = value' ...]
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { installCleanupHandlers, memoryOf, removeOnSignal } from "./lib/proc.ts";
import { OursServer, RedisServer } from "./lib/servers.ts";

const { values: flags } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "256" },
    uploads: { type: "string", default: "4" },
    "ours-config": { type: "string", multiple: true, default: [] },
  },
});
const MiB = 1024 * 1024;
const SIZE = Number(flags["size-mib"]) * MiB;
const UPLOADS = Number(flags.uploads);
const BLOCK = randomBytes(MiB);

function writeBytes(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  return Number(io.match(/^write_bytes:\s+(\d+)/m)?.[1] ?? 0);
}

/** Samples the server's RSS every 10 ms while `work` runs; returns the peak growth. */
async function rssGrowth(
  pid: number,
  work: () => Promise<void>,
): Promise<{ base: number; peak: number }> {
  const base = memoryOf(pid)!.rss;
  let peak = base;
  const timer = setInterval(() => {
    const m = memoryOf(pid);
    if (m && m.rss > peak) peak = m.rss;
  }, 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const m = memoryOf(pid);
  if (m && m.rss > peak) peak = m.rss;
  return { base, peak: peak - base };
}

function open(port: number): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect(port, "127.0.0.1", () => res(s));
    s.once("error", rej);
  });
}

/** SET key <size bytes of BLOCK repeated>, written with backpressure; resolves at +OK. */
async function upload(port: number, key: string, size: number): Promise<string> {
  const s = await open(port);
  const hash = createHash("sha256");
  const reply = new Promise<string>((res) => s.once("data", (d) => res(d.toString())));
  s.write(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${size}\r\n`);
  for (let sent = 0; sent < size; ) {
    const piece = BLOCK.subarray(0, Math.min(MiB, size - sent));
    hash.update(piece);
    sent += piece.length;
    if (!s.write(piece)) await new Promise((r) => s.once("drain", r));
  }
  s.write("\r\n");
  const text = await reply;
  s.destroy();
  if (text !== "+OK\r\n") throw new Error(`SET ${key}: ${text}`);
  return hash.digest("hex");
}

/** GET key, hashing the body as it arrives (a slow-ish but steady reader). */
async function download(port: number, key: string): Promise<{ size: number; sha: string }> {
  const s = await open(port);
  const hash = createHash("sha256");
  return await new Promise((res, rej) => {
    let header = "";
    let need = -1;
    let got = 0;
    s.on("data", (d: Buffer) => {
      let body = d;
      if (need < 0) {
        header += d.toString("latin1");
        const i = header.indexOf("\r\n");
        if (i < 0) return;
        need = Number(header.slice(1, i));
        body = d.subarray(
          Buffer.byteLength(header.slice(0, i + 2), "latin1") - (header.length - d.length),
        );
      }
      const take = Math.min(body.length, need - got);
      hash.update(body.subarray(0, take));
      got += take;
      if (got === need) {
        s.destroy();
        res({ size: need, sha: hash.digest("hex") });
      }
    });
    s.once("error", rej);
    s.write(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`);
  });
}

/** Sequential GETs of a 100 B value until `stop()` is true; returns their latencies in ms. */
async function probe(port: number, stop: () => boolean, min = 2000): Promise<number[]> {
  const s = await open(port);
  const lat: number[] = [];
  const cmd = "*2\r\n$3\r\nGET\r\n$5\r\nsmall\r\n";
  while (lat.length < min || !stop()) {
    const t = performance.now();
    await new Promise<void>((res) => {
      let n = 0;
      const on = (d: Buffer) => {
        n += d.length;
        if (n >= 107) {
          s.off("data", on);
          res();
        }
      };
      s.on("data", on);
      s.write(cmd);
    });
    lat.push(performance.now() - t);
  }
  s.destroy();
  return lat;
}

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length * 0.99)]!;
}

function cli(port: number, args: string[], stdin: "ignore" | ReturnType<typeof Bun.file>) {
  return Bun.spawn(["redis-cli", "-p", String(port), ...args], { stdin, stdout: "ignore" }).exited;
}

/**
 * A third client's GET p99 on a 100 B value, idle and while one redis-cli uploads SIZE bytes
 * and another downloads them (separate processes, so this one only probes).
 */
async function fairness(
  port: number,
  file: string,
): Promise<{ idle: number; during: number; n: number }> {
  await probe(port, () => true, 3000); // warm-up (JIT, connection)
  const idle = await probe(port, () => true, 20_000);
  let busy = true;
  const loaded = probe(port, () => !busy, 3000);
  await Promise.all([
    cli(port, ["-x", "SET", "fair-up"], Bun.file(file)),
    cli(port, ["--raw", "GET", "big"], "ignore"),
  ]);
  busy = false;
  const during = await loaded;
  return { idle: p99(idle), during: p99(during), n: during.length };
}

const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

installCleanupHandlers();
const work = mkdtempSync(join(tmpdir(), "blobasaur-large-bench-"));
removeOnSignal(work);
const server = new OursServer(work, false, 4, (flags["ours-config"] as string[]).join("\n"));
await server.start();
try {
  const pid = server.pid;
  const port = server.port;
  const small = await open(port);
  small.write(`*3\r\n$3\r\nSET\r\n$5\r\nsmall\r\n$100\r\n${"x".repeat(100)}\r\n`);
  await new Promise((r) => small.once("data", r));
  small.destroy();

  // 1. One SET + GET: memory and bytes written per byte stored.
  let sha = "";
  const w0 = writeBytes(pid);
  const setGrowth = await rssGrowth(pid, async () => {
    sha = await upload(port, "big", SIZE);
  });
  await Bun.sleep(1500); // let a checkpoint run, so WAL write-back would be counted too
  const written = writeBytes(pid) - w0;
  const getGrowth = await rssGrowth(pid, async () => {
    const got = await download(port, "big");
    if (got.size !== SIZE || got.sha !== sha) throw new Error("GET returned different bytes");
  });
  console.log(
    `one ${mib(SIZE)} SET: RSS +${mib(setGrowth.peak)} (from ${mib(setGrowth.base)}); GET: RSS +${mib(getGrowth.peak)}; sha256 ok`,
  );
  console.log(
    `bytes written to disk per byte stored: ${(written / SIZE).toFixed(3)} (${mib(written)} for ${mib(SIZE)})`,
  );

  // 2. Concurrent uploads.
  const many = await rssGrowth(pid, async () => {
    await Promise.all(Array.from({ length: UPLOADS }, (_, i) => upload(port, `up${i}`, SIZE)));
  });
  console.log(
    `${UPLOADS} concurrent ${mib(SIZE)} uploads: RSS +${mib(many.peak)} (from ${mib(many.base)})`,
  );

  // 3. Fairness, ours and redis-server (same machine, same minutes, same clients).
  const file = join(work, "value.bin");
  const out = Bun.file(file).writer();
  for (let o = 0; o < SIZE; o += MiB) out.write(BLOCK.subarray(0, Math.min(MiB, SIZE - o)));
  await out.end();
  const redis = new RedisServer(work, false);
  await redis.start();
  try {
    await cli(redis.port, ["SET", "small", "x".repeat(100)], "ignore");
    await cli(redis.port, ["-x", "SET", "big"], Bun.file(file));
    for (const [name, p] of [
      ["ours", port],
      ["redis", redis.port],
    ] as const) {
      const f = await fairness(p, file);
      console.log(
        `${name}: GET 100 B p99 idle ${f.idle.toFixed(3)} ms, during a ${mib(SIZE)} upload + download ${f.during.toFixed(3)} ms (${f.n} GETs): ${(f.during / f.idle).toFixed(2)}× idle`,
      );
    }
  } finally {
    await redis.stop();
  }
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
