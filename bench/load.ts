/**
 * Load client for what redis-benchmark cannot do: value sizes drawn from a distribution
 * (fixed seed), a read/write mix, and a check of every value read. Each value is derived from
 * its key and a per-key version (header `key#version#length#tag#`, then bytes from a seeded pool),
 * so a GET proves it got a whole value that was really written for that key, and — when this
 * run wrote the key — one no older than the last write acknowledged before the GET was sent
 * (counting only writes that did not overlap another write of the same key).
 *
 * Loopback only, bounded by --requests and --duration (whichever comes first), and it exits by
 * itself; run.ts also wraps it in `timeout`.
 *
 *   bun bench/load.ts --port 6379 [--connections 50] [--pipeline 1] [--requests 100000]
 *     [--duration 30] [--keyspace 100000] [--reads 0.8] [--size fixed:100 | uniform:A:B |
 *     lognormal:100:1MiB[:median]] [--seed 1] [--prefix load:] [--type string|hash|hashes]
 *     [--hash-key myhash] [--fill] [--fill-only] [--no-verify] [--json]
 *
 * --fill writes every key of the keyspace once (version 0, pipelined) before the timed run;
 * --fill-only stops after that. Exit status 1 when a check failed or the server answered an error.
 */
import { parseArgs } from "node:util";
import { Connection, frame, ReplyError, type RespValue } from "./lib/resp.ts";
import { num, parseSize, percentileSorted } from "./lib/stats.ts";

const { values: f } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    connections: { type: "string", default: "50" },
    pipeline: { type: "string", default: "1" },
    requests: { type: "string", default: "100000" },
    duration: { type: "string", default: "30" },
    keyspace: { type: "string", default: "100000" },
    reads: { type: "string", default: "0.8" },
    size: { type: "string", default: "fixed:100" },
    seed: { type: "string", default: "1" },
    prefix: { type: "string", default: "load:" },
    type: { type: "string", default: "string" },
    "hash-key": { type: "string", default: "load:hash" },
    fill: { type: "boolean", default: false },
    "fill-only": { type: "boolean", default: false },
    "fill-connections": { type: "string", default: "4" },
    "fill-pipeline": { type: "string", default: "64" },
    "no-verify": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});

if (!["127.0.0.1", "localhost", "::1"].includes(f.host!)) {
  console.error("load.ts only targets the loopback interface (127.0.0.1, ::1, localhost)");
  process.exit(2);
}
if (!f.port) {
  console.error("usage: bun bench/load.ts --port N [options]; see the header of bench/load.ts");
  process.exit(2);
}
const port = Number(f.port);
const connections = Math.max(1, Number(f.connections));
const pipeline = Math.max(1, Number(f.pipeline));
const requests = Math.max(0, parseSize(f.requests!));
const durationMs = Number(f.duration) * 1000;
const keyspace = Math.max(1, parseSize(f.keyspace!));
const readShare = Number(f.reads);
const verify = !f["no-verify"];
const hash = f.type === "hash";
/** One small hash per key, field `f`: the "millions of small hashes" shape (`--type hashes`). */
const hashes = f.type === "hashes";
if (!hash && !hashes && f.type !== "string") throw new Error("--type is string, hash or hashes");

/** mulberry32 */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit mix of (key, version, salt), uniform in [0, 1). */
function unit(key: number, version: number, salt: number): number {
  let h = Math.imul(key ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(version + salt, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

// ---- value sizes ----
const [dist, a = "100", b = "100", c] = f.size!.split(":");
const minSize = parseSize(a);
const maxSize = dist === "fixed" ? minSize : parseSize(b);
const sizeOf: (key: number, version: number) => number = (() => {
  switch (dist) {
    case "fixed":
      return () => minSize;
    case "uniform":
      return (k, v) => minSize + Math.floor(unit(k, v, 1) * (maxSize - minSize + 1));
    case "lognormal": {
      // Median defaults to the geometric mean; ±3σ spans [min, max]; then clamped.
      const mu = Math.log(c ? parseSize(c) : Math.sqrt(minSize * maxSize));
      const sigma = Math.log(maxSize / minSize) / 6;
      return (k, v) => {
        const u1 = Math.max(unit(k, v, 2), 1e-12);
        const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * unit(k, v, 3));
        return Math.min(maxSize, Math.max(minSize, Math.round(Math.exp(mu + sigma * z))));
      };
    }
    default:
      throw new Error(
        `--size: fixed:N, uniform:MIN:MAX or lognormal:MIN:MAX[:MEDIAN], not ${f.size}`,
      );
  }
})();

// ---- values: header + bytes of a seeded pool at a key/version-derived offset ----
const POOL_SLACK = 64 * 1024;
const pool = new Uint8Array(maxSize + POOL_SLACK);
{
  const r = rng(Number(f.seed) ^ 0x5eed);
  for (let i = 0; i < pool.length; i += 4) {
    const x = (r() * 4294967296) >>> 0;
    pool[i] = x;
    pool[i + 1] = x >>> 8;
    pool[i + 2] = x >>> 16;
    pool[i + 3] = x >>> 24;
  }
}
const poolBuf = Buffer.from(pool.buffer);
const encoder = new TextEncoder();
const crlf = encoder.encode("\r\n");
const keyName = (k: number) => `${f.prefix}${String(k).padStart(12, "0")}`;

/** Marks values written with this seed and size spec; others are only checked loosely. */
const runTag = (Bun.hash.wyhash(`${f.seed}/${f.size}`) & 0xffffffffn).toString(16).padStart(8, "0");

interface Value {
  head: Uint8Array;
  offset: number;
  body: number;
}
function valueFor(k: number, version: number): Value {
  const size = sizeOf(k, version);
  const head = encoder.encode(`${keyName(k)}#${version}#${size}#${runTag}#`);
  const body = Math.max(0, size - head.length);
  return { head, offset: Math.floor(unit(k, version, 4) * POOL_SLACK), body };
}

/** Request frame parts for a write of (key, version); small values become one buffer. */
function writeFrame(k: number, version: number): { parts: Uint8Array[]; bytes: number } {
  const v = valueFor(k, version);
  const length = v.head.length + v.body;
  const cmd = hash
    ? ["HSET", f["hash-key"]!, keyName(k)]
    : hashes
      ? ["HSET", keyName(k), "f"]
      : ["SET", keyName(k)];
  let pre = `*${cmd.length + 1}\r\n`;
  for (const s of cmd) pre += `$${s.length}\r\n${s}\r\n`;
  const head = encoder.encode(`${pre}$${length}\r\n`);
  const tail = pool.subarray(v.offset, v.offset + v.body);
  if (length > 16 * 1024) return { parts: [head, v.head, tail, crlf], bytes: length };
  const one = new Uint8Array(head.length + length + 2);
  one.set(head);
  one.set(v.head, head.length);
  one.set(tail, head.length + v.head.length);
  one.set(crlf, head.length + length);
  return { parts: [one], bytes: length };
}
const latin1 = new TextDecoder("latin1");
/**
 * Checks a value read for key k; returns its version, or an error text. A value written by an
 * earlier run with another seed or size spec (other tag) is only checked for key and length,
 * and only accepted when no write of that key by this run was acknowledged before the GET
 * was sent (`floor` < 0).
 */
const FOREIGN = -1;
function check(k: number, got: Uint8Array, floor: number): number | string {
  const marks: number[] = [];
  for (let i = 0; i < got.length && i < 96 && marks.length < 4; i++)
    if (got[i] === 35) marks.push(i);
  if (marks.length < 4) return floor < 0 ? FOREIGN : "no value header";
  const [p1, p2, p3, p4] = marks as [number, number, number, number];
  const key = latin1.decode(got.subarray(0, p1));
  if (key !== keyName(k)) return `value of ${key} returned for ${keyName(k)}`;
  const version = Number(latin1.decode(got.subarray(p1 + 1, p2)));
  const size = Number(latin1.decode(got.subarray(p2 + 1, p3)));
  if (got.length !== Math.max(size, p4 + 1)) return `length ${got.length}, header says ${size}`;
  if (latin1.decode(got.subarray(p3 + 1, p4)) !== runTag) {
    return floor < 0 ? FOREIGN : "value from another run after this run's write was acknowledged";
  }
  if (size !== sizeOf(k, version)) return `size ${size}, expected ${sizeOf(k, version)}`;
  const v = valueFor(k, version);
  const body = Buffer.from(got.buffer, got.byteOffset + p4 + 1, got.length - p4 - 1);
  if (!body.equals(poolBuf.subarray(v.offset, v.offset + v.body))) return "value bytes differ";
  return version;
}

// ---- per-key state ----
// issued: last version sent. acked: the newest version that must be visible — a write counts
// only if no other write of the key was in flight when it was sent (writes that overlap may
// take effect in either order, so an older overlapping version may legitimately win).
// writing: writes of the key currently in flight.
const issued = new Int32Array(keyspace).fill(-1);
const acked = new Int32Array(keyspace).fill(-1);
const writing = new Int32Array(keyspace);

const failures: string[] = [];
let failureCount = 0;
let errorReplies = 0;
function fail(text: string): void {
  failureCount++;
  if (failures.length < 20) failures.push(text);
}

async function openAll(n: number): Promise<Connection[]> {
  return Promise.all(Array.from({ length: n }, () => Connection.open(port, f.host!)));
}

/** Drives `conns` until `next` returns false and nothing is in flight; hard deadline. */
function drive(
  conns: Connection[],
  depth: number,
  next: (c: Connection) => boolean,
  deadlineMs: number,
) {
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    const hard = setTimeout(() => {
      finished = true;
      reject(new Error(`load did not finish within ${Math.round(deadlineMs / 1000)} s`));
    }, deadlineMs);
    const pump = (c: Connection) => {
      if (finished) return;
      if (c.failure || c.closed) {
        finished = true;
        clearTimeout(hard);
        reject(c.failure ?? new Error("server closed the connection"));
        return;
      }
      while (c.inflight < depth && next(c)) {}
      c.flush();
      if (conns.every((x) => x.inflight === 0)) {
        finished = true;
        clearTimeout(hard);
        resolve();
      }
    };
    for (const c of conns) {
      c.onAfterData = () => pump(c);
      pump(c);
    }
  });
}

async function fill(): Promise<{ seconds: number; bytes: number }> {
  const conns = await openAll(Number(f["fill-connections"]));
  let nextKey = 0;
  let bytes = 0;
  const t0 = performance.now();
  await drive(
    conns,
    Number(f["fill-pipeline"]),
    (c) => {
      if (nextKey >= keyspace) return false;
      const k = nextKey++;
      const w = writeFrame(k, 0);
      bytes += w.bytes;
      c.send(w.parts, (r) => {
        if (r instanceof ReplyError) {
          errorReplies++;
          fail(`fill ${keyName(k)}: ${r.message}`);
        } else {
          issued[k] = 0;
          acked[k] = 0;
        }
      });
      return true;
    },
    Math.max(600_000, durationMs * 4),
  );
  for (const c of conns) c.close();
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

async function load() {
  const conns = await openAll(connections);
  const pick = rng(Number(f.seed));
  const latencies = new Float64Array(requests);
  let started = 0;
  let done = 0;
  let gets = 0;
  let hits = 0;
  let foreign = 0;
  let sets = 0;
  let bytes = 0;
  const t0 = performance.now();
  const stopAt = t0 + durationMs;
  await drive(
    conns,
    pipeline,
    (c) => {
      if (started >= requests || ((started & 63) === 0 && performance.now() >= stopAt))
        return false;
      started++;
      const k = Math.floor(pick() * keyspace);
      const sentAt = performance.now();
      const record = () => {
        latencies[done++] = performance.now() - sentAt;
      };
      if (pick() < readShare) {
        gets++;
        const floor = acked[k]!;
        const args = hash
          ? ["HGET", f["hash-key"]!, keyName(k)]
          : hashes
            ? ["HGET", keyName(k), "f"]
            : ["GET", keyName(k)];
        c.send(frame(args), (r) => {
          record();
          if (r instanceof ReplyError) {
            errorReplies++;
            fail(`GET ${keyName(k)}: ${r.message}`);
          } else if (r === null) {
            if (floor >= 0) fail(`GET ${keyName(k)}: nil after version ${floor} was acknowledged`);
          } else if (r instanceof Uint8Array) {
            hits++;
            bytes += r.length;
            if (!verify) return;
            const version = check(k, r, floor);
            if (typeof version === "string") fail(`GET ${keyName(k)}: ${version}`);
            else if (version === FOREIGN) foreign++;
            else if (floor >= 0 && version < floor) {
              fail(`GET ${keyName(k)}: version ${version} after ${floor} was acknowledged`);
            } else if (floor >= 0 && version > issued[k]!) {
              fail(`GET ${keyName(k)}: version ${version} was never written (last ${issued[k]})`);
            }
          } else fail(`GET ${keyName(k)}: unexpected reply ${JSON.stringify(r)}`);
        });
      } else {
        sets++;
        const version = issued[k]! + 1;
        issued[k] = version;
        const alone = writing[k] === 0;
        writing[k]!++;
        const w = writeFrame(k, version);
        bytes += w.bytes;
        c.send(w.parts, (r: RespValue) => {
          record();
          writing[k]!--;
          if (r instanceof ReplyError) {
            errorReplies++;
            fail(`SET ${keyName(k)}: ${r.message}`);
          } else if (alone && version > acked[k]!) acked[k] = version;
        });
      }
      return true;
    },
    durationMs + 60_000,
  );
  const seconds = (performance.now() - t0) / 1000;
  for (const c of conns) c.close();
  const sorted = latencies.subarray(0, done).sort();
  return {
    ops: done,
    seconds,
    rps: done / seconds,
    p50: percentileSorted(sorted, 50),
    p99: percentileSorted(sorted, 99),
    mbps: bytes / 1e6 / seconds,
    gets,
    hits,
    foreign,
    sets,
  };
}

let exitCode = 0;
const report: Record<string, unknown> = {
  port,
  connections,
  pipeline,
  keyspace,
  size: f.size,
  reads: readShare,
};
try {
  if (f.fill || f["fill-only"]) {
    const r = await fill();
    report.fill = { keys: keyspace, seconds: r.seconds, mbps: r.bytes / 1e6 / r.seconds };
    if (!f.json) {
      console.log(
        `fill: ${num(keyspace)} keys in ${r.seconds.toFixed(1)} s (${num(keyspace / r.seconds)} keys/s, ${(r.bytes / 1e6 / r.seconds).toFixed(0)} MB/s)`,
      );
    }
  }
  if (!f["fill-only"] && requests > 0) {
    const r = await load();
    Object.assign(report, r);
    if (!f.json) {
      console.log(
        `${num(r.ops)} ops in ${r.seconds.toFixed(2)} s: ${num(r.rps)} ops/s, p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, ${r.mbps.toFixed(1)} MB/s values; GET ${num(r.gets)} (${num(r.hits)} hits, ${num(r.foreign)} from other runs), SET ${num(r.sets)}`,
      );
    }
  }
} catch (error) {
  report.fatal = (error as Error).message;
  exitCode = 1;
}
report.errors = errorReplies;
report.verifyFailures = failureCount;
report.failureSamples = failures.slice(0, 5);
if (failureCount > 0 || errorReplies > 0) exitCode = 1;
if (f.json) console.log(JSON.stringify(report));
else if (exitCode !== 0)
  console.error(`FAILED: ${report.fatal ?? ""}\n${failures.slice(0, 10).join("\n")}`);
process.exit(exitCode);
