/**
 * Experiment, not the server: how fast could SET go if SQLite ran on a Worker? A minimal RESP
 * server (our parser and router, 4 shard files with our table layout) answers SET +OK only
 * after the row is committed, like the server's default mode, but every group commit runs
 * on writer Workers while the event loop only parses, routes and replies. The batch of one
 * event-loop turn goes to the Workers as one transferable buffer per shard. Compare it with
 * the real server and Redis in the same minutes (see bench/README.md, "Experiments").
 *
 *   bun bench/experiments/worker-writer.ts --port 17700 --dir /tmp/ww [--workers 1|4]
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Command, RespParser } from "../../src/protocol/parser.ts";
import { createRouter } from "../../src/storage/engine/routing.ts";

const { values: o } = parseArgs({
  options: {
    port: { type: "string", default: "17700" },
    dir: { type: "string", default: "/tmp/worker-writer" },
    workers: { type: "string", default: "1" },
    shards: { type: "string", default: "4" },
  },
});
const SHARDS = Number(o.shards);
const WORKERS = Number(o.workers);
mkdirSync(o.dir!, { recursive: true });
const router = createRouter(SHARDS);
const OK = new TextEncoder().encode("+OK\r\n");

// Shard s is written by Worker s % WORKERS; each Worker opens its shards' files.
const workers: Worker[] = [];
for (let w = 0; w < WORKERS; w++) {
  const worker = new Worker(new URL("./worker-writer-worker.ts", import.meta.url).href);
  const paths: string[] = [];
  for (let s = w; s < SHARDS; s += WORKERS) paths.push(join(o.dir!, `shard_${s}.db`));
  worker.postMessage({ type: "open", paths });
  worker.onmessage = (e: MessageEvent<{ id: number }>) => done(e.data.id);
  workers.push(worker);
}
const shardWorker = (s: number) => workers[s % WORKERS]!;
const shardSlot = (s: number) => Math.floor(s / WORKERS);

interface Conn {
  socket: import("bun").Socket<Conn>;
  parser: RespParser;
  requests: Command[];
  /** Replies owed in order: the batch id each +OK waits for. */
  owed: number[];
}

// The current turn's batch: per shard, keys and values to upsert.
let batchId = 1;
let pendingKeys: Uint8Array[][] = Array.from({ length: SHARDS }, () => []);
let pendingVals: Uint8Array[][] = Array.from({ length: SHARDS }, () => []);
let scheduled = false;
const waitingConns = new Map<number, Set<Conn>>();
const outstanding = new Map<number, number>(); // batch id -> shard messages not yet done

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushBatch);
}

/** Packs one shard's rows as [klen u32][vlen u32][key][value]... into one transferable buffer. */
function pack(keys: Uint8Array[], vals: Uint8Array[]): ArrayBuffer {
  let size = 0;
  for (let i = 0; i < keys.length; i++) size += 8 + keys[i]!.length + vals[i]!.length;
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  let at = 0;
  for (let i = 0; i < keys.length; i++) {
    view.setUint32(at, keys[i]!.length);
    view.setUint32(at + 4, vals[i]!.length);
    bytes.set(keys[i]!, at + 8);
    bytes.set(vals[i]!, at + 8 + keys[i]!.length);
    at += 8 + keys[i]!.length + vals[i]!.length;
  }
  return buf;
}

function flushBatch(): void {
  scheduled = false;
  const id = batchId++;
  let parts = 0;
  const perWorker = new Map<Worker, { slot: number; buf: ArrayBuffer }[]>();
  for (let s = 0; s < SHARDS; s++) {
    if (pendingKeys[s]!.length === 0) continue;
    const buf = pack(pendingKeys[s]!, pendingVals[s]!);
    const w = shardWorker(s);
    if (!perWorker.has(w)) perWorker.set(w, []);
    perWorker.get(w)!.push({ slot: shardSlot(s), buf });
  }
  for (const [w, shards] of perWorker) {
    parts++;
    w.postMessage(
      { type: "batch", id, shards },
      shards.map((x) => x.buf),
    );
  }
  outstanding.set(id, parts);
  pendingKeys = Array.from({ length: SHARDS }, () => []);
  pendingVals = Array.from({ length: SHARDS }, () => []);
}

function done(id: number): void {
  const left = outstanding.get(id)! - 1;
  if (left > 0) {
    outstanding.set(id, left);
    return;
  }
  outstanding.delete(id);
  const conns = waitingConns.get(id);
  waitingConns.delete(id);
  if (conns) for (const c of conns) drain(c);
}

/** Sends every reply at the head of `c.owed` whose batch has committed. */
function drain(c: Conn): void {
  let n = 0;
  // A batch is done once flushed (id < batchId) and no longer outstanding.
  while (n < c.owed.length && c.owed[n]! < batchId && !outstanding.has(c.owed[n]!)) n++;
  if (n === 0) return;
  c.owed.splice(0, n);
  if (n === 1) c.socket.write(OK);
  else {
    const out = new Uint8Array(OK.length * n);
    for (let i = 0; i < n; i++) out.set(OK, i * OK.length);
    c.socket.write(out);
  }
}

Bun.listen<Conn>({
  hostname: "127.0.0.1",
  port: Number(o.port),
  socket: {
    open(socket) {
      socket.setNoDelay(true);
      socket.data = { socket, parser: new RespParser(), requests: [], owed: [] };
    },
    data(socket, chunk) {
      const c = socket.data;
      c.parser.feed(chunk, c.requests);
      for (const args of c.requests) {
        const name = new TextDecoder().decode(args[0]!).toUpperCase();
        if (name === "SET") {
          const s = router.shardOf(args[1]!);
          pendingKeys[s]!.push(args[1]!);
          pendingVals[s]!.push(args[2]!);
          c.owed.push(batchId);
          let set = waitingConns.get(batchId);
          if (!set) {
            set = new Set();
            waitingConns.set(batchId, set);
          }
          set.add(c);
          schedule();
        } else if (name === "CONFIG") {
          socket.write("*0\r\n");
        } else {
          socket.write("+PONG\r\n");
        }
      }
      c.requests.length = 0;
    },
  },
});
console.log(`worker-writer listening on ${o.port} with ${WORKERS} writer Worker(s)`);
