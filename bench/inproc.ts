/**
 * In-process cost of the request path, without sockets: N fake connections each get a burst of
 * P pipelined commands (GET or SET of 100 B values over a keyspace), replies are counted on a
 * fake socket. Prints µs of this thread's time per request, which is what our code costs on top
 * of the kernel's share. Bounded by --requests; touches only a temporary directory.
 *
 *   bun bench/inproc.ts [--cmd get|set|hget|hset|hget1|hset1] [--pipeline 16] [--conns 50] [--requests 400000]
 *                       [--keyspace 100000] [--value-bytes 100]   (values up to 64 KiB: replies are
 *                       counted per written chunk, and larger ones are written in pieces)
 *                       [--distinct 256] (distinct pre-built bursts; more = colder caches)
 *                       [--fill N] (keys written first; default the keyspace)  [--cluster]   (a one-node cluster owning every slot, bus not started:
 *                       what routing and the slot column cost a request, without the network)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Cluster } from "../src/cluster/cluster.ts";
import { clusterSettings } from "../src/cluster/settings.ts";
import { commandRows } from "../src/commands/index.ts";
import type { ServerContext } from "../src/commands/spec.ts";
import { buildTable } from "../src/commands/table.ts";
import { defaultConfig } from "../src/config/index.ts";
import { createLogger } from "../src/log.ts";
import { Connection, type ConnectionHost } from "../src/server/connection.ts";
import { Dispatcher } from "../src/server/dispatch.ts";
import { MonitorFeed } from "../src/server/monitor.ts";
import { InstantRates } from "../src/server/rates.ts";
import { newStats } from "../src/server/server.ts";
import { Store } from "../src/storage/store.ts";

const { values: o } = parseArgs({
  options: {
    cmd: { type: "string", default: "get" },
    pipeline: { type: "string", default: "16" },
    conns: { type: "string", default: "50" },
    requests: { type: "string", default: "400000" },
    keyspace: { type: "string", default: "100000" },
    "value-bytes": { type: "string", default: "100" },
    reps: { type: "string", default: "3" },
    distinct: { type: "string", default: "256" },
    cluster: { type: "boolean", default: false },
    // Keys written before the runs (default: the whole keyspace, so reads hit); smaller than
    // --keyspace, writes mostly create new keys.
    fill: { type: "string" },
  },
});
const P = Number(o.pipeline);
const C = Number(o.conns);
const N = Number(o.requests);
const K = Number(o.keyspace);
const DISTINCT = 2 ** Math.round(Math.log2(Number(o.distinct)));
const dir = mkdtempSync(join(tmpdir(), "inproc-"));
const config = defaultConfig({
  dataDir: dir,
  numShards: 4,
  sourcePath: join(dir, "c.toml"),
  ...(o.cluster
    ? {
        cluster: {
          enabled: true,
          nodeId: "inproc",
          secret: "inproc",
          port: 17_000,
          slotRanges: [{ start: 0, end: 16383 }],
        },
      }
    : {}),
});
const log = createLogger();
log.level = 1;
const stats = newStats();
const store = new Store({
  dataDir: dir,
  numShards: 4,
  sqlite: config.sqlite,
  compression: config.storageCompression,
  batchSize: config.batchSize,
  batchTimeoutMs: 0,
  log,
  asyncWrite: false,
  valueCacheMb: config.valueCacheMb,
  events: {},
  clusterSlots: o.cluster,
});
const cluster = o.cluster
  ? new Cluster(clusterSettings(config), () => store.keyspace(0), log)
  : undefined;
const context: ServerContext = {
  config,
  store,
  rates: new InstantRates(stats),
  table: buildTable(commandRows),
  startedAt: Date.now(),
  version: "bench",
  clients: new Map(),
  stats,
  configValues: new Map(),
  configChanged: new Set(),
  metrics: undefined,
  port: () => 0,
  shutdown: () => {},
  monitors: new MonitorFeed(),
  runTransaction: async () => null,
  cluster,
};
const host: ConnectionHost = {
  server: context,
  dispatcher: new Dispatcher(context, log),
  gate: { owner: null, waiters: [] },
  closed() {},
};

let replies = 0;
let wake: (() => void) | null = null;
let want = 0;
function fakeSocket() {
  return {
    remoteAddress: "127.0.0.1",
    localAddress: "127.0.0.1",
    write(chunk: Uint8Array) {
      // Every reply we send here ends in CRLF once; count reply starts by their first byte
      // is unreliable for bulk values, so count requests answered per burst instead.
      replies += countReplies(chunk);
      if (replies >= want && wake) {
        const w = wake;
        wake = null;
        w();
      }
      return chunk.length;
    },
    pause() {},
    resume() {},
    end() {},
    setNoDelay() {},
  };
}
// Replies here are +OK, $100 bulks, :n integers or $-1: count type bytes at line starts.
function countReplies(chunk: Uint8Array): number {
  let n = 0;
  let i = 0;
  while (i < chunk.length) {
    const t = chunk[i]!;
    if (t === 36 /* $ */) {
      let len = 0;
      let j = i + 1;
      let neg = false;
      if (chunk[j] === 45) {
        neg = true;
        j++;
      }
      while (chunk[j] !== 13) len = len * 10 + chunk[j++]! - 48;
      i = j + 2 + (neg ? 0 : len + 2);
    } else {
      while (chunk[i] !== 10) i++;
      i++;
    }
    n++;
  }
  return n;
}

const enc = new TextEncoder();
const value = "v".repeat(Number(o["value-bytes"]));
function frame(parts: string[]): string {
  let s = `*${parts.length}\r\n`;
  for (const p of parts) s += `$${Buffer.byteLength(p)}\r\n${p}\r\n`;
  return s;
}
function command(cmd: string, i: number): string {
  const key = `key:${String(i).padStart(12, "0")}`;
  switch (cmd) {
    case "get":
      return frame(["GET", key]);
    case "set":
      return frame(["SET", key, value]);
    case "hget":
      return frame(["HGET", "myhash", `element:${i}`]);
    case "hset":
      return frame(["HSET", "myhash", `element:${i}`, value]);
    // One small hash per key: the "millions of small hashes" shape.
    case "hget1":
      return frame(["HGET", `h:${String(i).padStart(12, "0")}`, "f"]);
    case "hset1":
      return frame(["HSET", `h:${String(i).padStart(12, "0")}`, "f", value]);
    default:
      throw new Error(`unknown --cmd ${cmd}`);
  }
}

// Pre-built bursts so the harness itself costs little: --distinct bursts (a power of two),
// shared by the connections. The default 256 keeps every key hot in the value cache; a
// keyspace-sized count (e.g. 1048576 over 1M keys) makes reads miss it as random clients do.
function bursts(cmd: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seed = 12345;
  for (let b = 0; b < DISTINCT; b++) {
    let s = "";
    for (let p = 0; p < P; p++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      s += command(cmd, seed % K);
    }
    out.push(enc.encode(s));
  }
  return out;
}

const conns: Connection[] = [];
for (let c = 0; c < C; c++) conns.push(new Connection(fakeSocket() as never, c + 1, host));

async function drive(cmd: string, total: number): Promise<number> {
  const data = bursts(cmd);
  let sent = 0;
  let k = 0;
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  while (sent < total) {
    want = replies + C * P;
    const done = new Promise<void>((r) => {
      wake = r;
    });
    for (const conn of conns) conn.onData(data[k++ & (DISTINCT - 1)]!);
    sent += C * P;
    await done;
  }
  const t = process.cpuUsage(t0);
  const wall = performance.now() - w0;
  const us = (t.user + t.system) / sent;
  return Math.min(us, (wall * 1000) / sent);
}

// Fill the keyspace so reads hit, then warm the JIT.
const fillCmd =
  o.cmd === "get" || o.cmd === "set" ? "set" : o.cmd!.endsWith("1") ? "hset1" : "hset";
{
  let s = "";
  const fill = o.fill === undefined ? K : Number(o.fill);
  for (let i = 0; i < fill; i++) {
    s += command(fillCmd, i);
    if ((i + 1) % 1000 === 0) {
      want = replies + 1000;
      const done = new Promise<void>((r) => {
        wake = r;
      });
      conns[0]!.onData(enc.encode(s));
      s = "";
      await done;
    }
  }
}
await drive(o.cmd!, Math.min(N, 100000));
const results: number[] = [];
for (let r = 0; r < Number(o.reps); r++) results.push(await drive(o.cmd!, N));
results.sort((a, b) => a - b);
console.log(
  `${o.cmd} P${P} c${C}: ${results.map((x) => x.toFixed(2)).join(" ")} µs/req (median ${results[Math.floor(results.length / 2)]!.toFixed(2)})`,
);
await store.close();
rmSync(dir, { recursive: true, force: true });
