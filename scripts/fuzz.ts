/**
 * `npm run fuzz`: sends at least a million mutated RESP frames to a live Blobasaur server (its
 * own process) over many connections, and reports crashes (server exits), hangs (a fresh
 * connection's PING unanswered within 5 s), replies that are not well-formed RESP, and the
 * server's RSS before and after. Exit status 1 on any crash, hang or malformed reply.
 *
 *   bun scripts/fuzz.ts [--frames 1000000] [--connections 64] [--batch 40] [--seed 1]
 *
 * Every frame is a command (strings, hashes, keys, TTLs, bits, transactions) mutated once:
 * nine in ten keep their framing but get hostile arguments (bytes flipped, inserted or cut,
 * arguments added, dropped or replaced by edge values); one in ten has its framing broken (a
 * length header made huge, negative or non-numeric, a byte flipped, inserted or deleted, the
 * frame cut short, raw garbage, inline lines). Each batch goes on its own connection and ends
 * with a PING; the batch is done when the PONG arrives, the server closes the connection (a
 * protocol error), or 200 ms pass with the server waiting for bytes a broken header promised.
 */
import { parseArgs } from "node:util";
import { pingWithin, startLiveServer } from "./lib/live-server.ts";

const { values: flags } = parseArgs({
  options: {
    frames: { type: "string", default: "1000000" },
    connections: { type: "string", default: "64" },
    batch: { type: "string", default: "40" },
    seed: { type: "string", default: "1" },
  },
});
const totalFrames = Number(flags.frames);
const connections = Number(flags.connections);
const batchFrames = Number(flags.batch);

/** xorshift32: reproducible runs from --seed. */
let state = Number(flags.seed) >>> 0 || 1;
function rand(n: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
}
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;

const words = [
  "0",
  "1",
  "-1",
  "100",
  "EX",
  "PX",
  "NX",
  "XX",
  "GET",
  "KEEPTTL",
  "COUNT",
  "MATCH",
  "*",
  "WITHVALUES",
  "FIELDS",
  "inf",
  "1.5",
  "9223372036854775807",
  "-9223372036854775808",
  "",
  "\r\n",
  "\x00",
];
const key = () => `k${rand(64)}`;
const value = () => (rand(8) === 0 ? "x".repeat(rand(4096)) : `v${rand(1000)}`);
const templates: (() => string[])[] = [
  () => ["SET", key(), value()],
  () => [
    "SET",
    key(),
    value(),
    pick(["EX", "PX", "NX", "XX", "GET", "KEEPTTL"]),
    String(rand(1000)),
  ],
  () => ["GET", key()],
  () => ["MGET", key(), key(), key()],
  () => ["DEL", key(), key()],
  () => ["INCRBY", key(), pick(words)],
  () => ["APPEND", key(), value()],
  () => ["GETRANGE", key(), pick(words), pick(words)],
  () => ["SETRANGE", key(), String(rand(10_000)), value()],
  () => ["HSET", `h${rand(16)}`, `f${rand(32)}`, value(), `f${rand(32)}`, value()],
  () => ["HGETALL", `h${rand(16)}`],
  () => ["HINCRBYFLOAT", `h${rand(16)}`, "f", pick(words)],
  () => ["HEXPIRE", `h${rand(16)}`, pick(words), "FIELDS", "1", "f1"],
  () => ["EXPIRE", key(), pick(words)],
  () => ["TTL", key()],
  () => ["SCAN", pick(words), "MATCH", pick(["k*", "*", "[a-"]), "COUNT", pick(words)],
  () => ["SETBIT", key(), pick(words), pick(["0", "1", "2"])],
  () => ["BITFIELD", key(), "SET", pick(["u8", "i64", "u0"]), pick(words), pick(words)],
  () => ["BITCOUNT", key(), pick(words), pick(words)],
  () => ["TYPE", key()],
  () => ["EXISTS", key(), key()],
  () => ["RENAME", key(), key()],
  () => ["SELECT", pick(words)],
  () => ["MULTI"],
  () => ["EXEC"],
  () => ["DISCARD"],
  () => ["PING", value()],
  () => ["ECHO", value()],
  () => [
    pick(["NOSUCH", "get", "GeT", "Hset", "COMMAND"]),
    ...Array.from({ length: rand(4) }, () => pick(words)),
  ],
];

function encode(args: string[]): Buffer {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return Buffer.from(s);
}

function mutate(frame: Buffer): Buffer {
  const bytes = [...frame];
  switch (rand(9)) {
    case 0:
      bytes[rand(bytes.length)] = rand(256);
      break;
    case 1:
      bytes.splice(rand(bytes.length + 1), 0, rand(256));
      break;
    case 2:
      bytes.splice(rand(bytes.length), 1);
      break;
    case 3:
      return frame.subarray(0, rand(frame.length));
    case 4: {
      const text = frame
        .toString("latin1")
        .replace(
          /\$(\d+)/,
          () => `$${pick(["-5", "99999999999", "536870913", "abc", "", "1e3", "4294967296"])}`,
        );
      return Buffer.from(text, "latin1");
    }
    case 5: {
      const text = frame
        .toString("latin1")
        .replace(/^\*(\d+)/, () => `*${pick(["-1", "0", "1048577", "x", "99999999999"])}`);
      return Buffer.from(text, "latin1");
    }
    case 6:
      return Buffer.from(`${pick(words)} ${pick(words)} "unbalanced ${rand(9)}\r\n`);
    case 7:
      return Buffer.from(Array.from({ length: rand(64) }, () => rand(256)));
    default:
      return Buffer.concat([frame, frame.subarray(0, rand(frame.length))]);
  }
  return Buffer.from(bytes);
}

/** Hostile arguments with intact framing. */
function mutateArgs(args: string[]): string[] {
  const out = [...args];
  switch (rand(6)) {
    case 0: {
      const i = rand(out.length);
      const a = Buffer.from(out[i]!, "latin1");
      if (a.length > 0) a[rand(a.length)] = rand(256);
      out[i] = a.toString("latin1");
      break;
    }
    case 1:
      out.splice(1 + rand(out.length), 0, pick(words));
      break;
    case 2:
      if (out.length > 1) out.splice(1 + rand(out.length - 1), 1);
      break;
    case 3:
      out[rand(out.length)] = pick(words);
      break;
    case 4:
      out[0] = out[0]!.toLowerCase();
      out.push(...Array.from({ length: rand(6) }, () => pick(words)));
      break;
    default:
      out[1 + rand(Math.max(1, out.length - 1))] = String.fromCharCode(
        ...Array.from({ length: rand(24) }, () => rand(256)),
      );
  }
  return out;
}

const PING = encode(["PING"]);

function batch(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < batchFrames; i++) {
    const args = pick(templates)();
    parts.push(rand(10) === 0 ? mutate(encode(args)) : encode(mutateArgs(args)));
  }
  parts.push(PING);
  return Buffer.concat(parts);
}

/** Index just past one complete RESP reply at `from`, or -1 (incomplete); throws when malformed. */
function replyEnd(buf: Buffer, from: number): number {
  const lineEnd = buf.indexOf("\r\n", from);
  if (lineEnd < 0) return -1;
  const type = String.fromCharCode(buf[from]!);
  const header = buf.toString("latin1", from + 1, lineEnd);
  const next = lineEnd + 2;
  if ("+-:_,#(".includes(type)) return next;
  const n = Number(header);
  if (!Number.isInteger(n)) throw new Error(`malformed reply header ${JSON.stringify(header)}`);
  if (type === "$" || type === "=" || type === "!")
    return n < 0 ? next : buf.length >= next + n + 2 ? next + n + 2 : -1;
  if (!"*~>%|".includes(type)) throw new Error(`unexpected reply type ${JSON.stringify(type)}`);
  let at = next;
  for (let i = 0; i < (type === "%" || type === "|" ? n * 2 : n); i++) {
    at = replyEnd(buf, at);
    if (at < 0) return -1;
  }
  return at;
}

/** Checks that `buf` is a sequence of well-formed replies (a trailing partial one allowed). */
function wellFormed(buf: Buffer): boolean {
  try {
    let at = 0;
    while (at < buf.length) {
      const end = replyEnd(buf, at);
      if (end < 0) return true;
      at = end;
    }
    return true;
  } catch {
    return false;
  }
}

/** Sends one batch on a new connection, half-closes, and waits for the server to close it. */
async function sendBatch(
  port: number,
  bytes: Buffer,
): Promise<{ closed: boolean; received: number; wellFormed: boolean }> {
  return await new Promise((resolveBatch) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const finish = (closed: boolean, s?: { end(): void }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!closed) s?.end();
      const all = Buffer.concat(chunks);
      resolveBatch({ closed, received, wellFormed: wellFormed(all) });
    };
    let sock: { end(): void } | undefined;
    let timer = setTimeout(() => finish(false, sock), 2_000);
    let offset = 0;
    const pump = (s: { write(b: Uint8Array): number; end(): void }) => {
      while (offset < bytes.length) {
        const n = s.write(bytes.subarray(offset, offset + 256 * 1024));
        if (n <= 0) return;
        offset += n;
      }
      // Everything is written: give the server 200 ms to answer the PING or close.
      clearTimeout(timer);
      timer = setTimeout(() => finish(false, sock), 200);
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => {
          sock = s;
          pump(s);
        },
        drain: (s) => pump(s),
        data: (s, d) => {
          received += d.length;
          chunks.push(Buffer.from(d));
          if (Buffer.concat(chunks).subarray(-7).toString() === "+PONG\r\n") finish(false, s);
        },
        close: () => finish(true),
        error: () => finish(true),
      },
    }).catch(() => finish(true));
  });
}

const server = await startLiveServer();
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
await Bun.sleep(500);
const rssBefore = server.rssBytes();
console.log(`fuzz: server pid ${server.pid} on port ${server.port}; RSS before ${mib(rssBefore)}`);
let sentFrames = 0;
let hangs = 0;
let malformed = 0;
let answered = 0;
let batches = 0;
let bytesSent = 0;
let bytesReceived = 0;
const started = performance.now();
let nextReport = 100_000;

async function worker(): Promise<void> {
  while (sentFrames < totalFrames && server.alive()) {
    const bytes = batch();
    sentFrames += batchFrames;
    bytesSent += bytes.length;
    const r = await sendBatch(server.port, bytes);
    bytesReceived += r.received;
    batches++;
    if (!r.wellFormed) malformed++;
    if (r.received > 0) answered++;
    if (sentFrames >= nextReport) {
      nextReport += 100_000;
      const ok = await pingWithin(server.port, 5000);
      if (!ok && server.alive()) hangs++;
      console.log(
        `  ${sentFrames.toLocaleString()} frames, RSS ${mib(server.rssBytes())}, hangs ${hangs}`,
      );
    }
  }
}

await Promise.all(Array.from({ length: connections }, worker));
const crashed = !server.alive();
const finalPing = crashed ? false : await pingWithin(server.port, 5000);
if (!crashed && !finalPing) hangs++;
await Bun.sleep(2000);
const rssAfter = crashed ? 0 : server.rssBytes();
const seconds = (performance.now() - started) / 1000;
const report = {
  frames: sentFrames,
  batches,
  seconds: Number(seconds.toFixed(1)),
  framesPerSecond: Math.round(sentFrames / seconds),
  bytesSent,
  bytesReceived,
  crashes: crashed ? 1 : 0,
  hangs,
  batchesAnswered: answered,
  malformedReplies: malformed,
  rssBeforeBytes: rssBefore,
  rssAfterBytes: rssAfter,
};
console.log(JSON.stringify(report, null, 2));
console.log(
  `fuzz: ${sentFrames.toLocaleString()} frames in ${seconds.toFixed(1)} s; crashes ${report.crashes}, hangs ${hangs}; RSS ${mib(rssBefore)} -> ${mib(rssAfter)}`,
);
if (crashed) console.log(server.output().slice(-4000));
await server.stop();
process.exit(crashed || hangs > 0 || malformed > 0 ? 1 : 0);
