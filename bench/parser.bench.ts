/**
 * Request parser benchmark: MB/s (10^6 bytes of wire input per second) for pipelined
 * `SET key:<n> <value>` with 16 B, 1 KiB and 64 KiB values, fed in 64 KiB chunks the way a
 * socket delivers them. It only measures src/protocol/parser.ts; no sockets, no storage.
 * Usage: bun bench/parser.bench.ts
 */
import { bench, do_not_optimize, run } from "mitata";
import { type Command, RespParser } from "../src/protocol/parser.ts";

const CHUNK = 64 * 1024;
/** Wire bytes per measured iteration, so every value size parses a comparable amount. */
const STREAM_BYTES = 8 * 1024 * 1024;

const encoder = new TextEncoder();

function setCommand(key: string, value: Uint8Array): Uint8Array {
  const head = encoder.encode(
    `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n`,
  );
  const frame = new Uint8Array(head.length + value.length + 2);
  frame.set(head);
  frame.set(value, head.length);
  frame.set([13, 10], head.length + value.length);
  return frame;
}

/** A pipelined stream of SET commands, cut into fresh 64 KiB chunks (as a socket delivers). */
function makeChunks(valueBytes: number): { chunks: Uint8Array[]; bytes: number; commands: number } {
  const value = new Uint8Array(valueBytes).map((_, i) => (i * 31 + 7) & 0xff);
  const frames: Uint8Array[] = [];
  let bytes = 0;
  while (bytes < STREAM_BYTES) {
    const frame = setCommand(`key:${frames.length}`, value);
    frames.push(frame);
    bytes += frame.length;
  }
  const stream = new Uint8Array(bytes);
  let o = 0;
  for (const f of frames) {
    stream.set(f, o);
    o += f.length;
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes; i += CHUNK) chunks.push(stream.slice(i, i + CHUNK));
  return { chunks, bytes, commands: frames.length };
}

const cases = [
  { label: "SET 16 B values", valueBytes: 16 },
  { label: "SET 1 KiB values", valueBytes: 1024 },
  { label: "SET 64 KiB values", valueBytes: 64 * 1024 },
].map((c) => ({ ...c, ...makeChunks(c.valueBytes) }));

for (const c of cases) {
  // Sanity check outside the timing: every command comes out.
  const out: Command[] = [];
  const parser = new RespParser();
  for (const chunk of c.chunks) parser.feed(chunk, out);
  if (out.length !== c.commands || out.at(-1)?.[2]?.length !== c.valueBytes) {
    throw new Error(`${c.label}: parsed ${out.length} of ${c.commands} commands`);
  }
  bench(c.label, () => {
    const p = new RespParser();
    const sink: Command[] = [];
    for (const chunk of c.chunks) p.feed(chunk, sink);
    do_not_optimize(sink);
  });
}

const { benchmarks } = await run({ format: "quiet" });

console.log("| case | MB/s | commands/s | time per 8 MiB |");
console.log("|---|---:|---:|---:|");
for (const [i, trial] of benchmarks.entries()) {
  const c = cases[i]!;
  const avgNs = trial.runs[0]?.stats?.avg;
  if (avgNs === undefined) throw new Error(`${c.label}: no result`);
  const seconds = avgNs / 1e9;
  const mbps = c.bytes / 1e6 / seconds;
  const cps = c.commands / seconds;
  console.log(
    `| ${c.label} | ${mbps.toFixed(0)} | ${Math.round(cps).toLocaleString("en-US")} | ${(seconds * 1e3).toFixed(2)} ms |`,
  );
}
