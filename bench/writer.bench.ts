/**
 * Reply writer benchmark (mitata): MB/s of RESP2 output rendered by src/protocol/writer.ts
 * ReplyWriter for bulk replies of 16 B, 1 KiB, 64 KiB and 1 MiB, integer replies and array
 * replies (10 × 16 B bulk, like MGET), and +OK. One iteration renders a burst of replies worth about
 * 1 MiB of wire bytes into one reused writer, then take() + reset(), as a connection does per
 * flush. Bulk payloads above limits.replyInlineCopyBytesMax are queued by reference, not
 * copied, so the 1 MiB row measures bookkeeping only. No sockets.
 * Usage: bun bench/writer.bench.ts
 */
import { bench, do_not_optimize, run } from "mitata";
import type { Reply } from "../src/protocol/reply.ts";
import { ReplyWriter } from "../src/protocol/writer.ts";

const BURST_BYTES = 1024 * 1024;
const bytes = (n: number) => new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);

interface Case {
  label: string;
  replies: Reply[];
  wire: number;
}

function makeCase(label: string, one: (i: number) => Reply): Case {
  const replies: Reply[] = [];
  let wire = 0;
  const w = new ReplyWriter(2);
  while (wire < BURST_BYTES) {
    const r = one(replies.length);
    replies.push(r);
    w.write(r);
    wire = w.pendingBytes;
  }
  w.take();
  return { label, replies, wire };
}

const v16 = bytes(16);
const cases: Case[] = [
  makeCase("bulk 16 B", () => v16),
  makeCase(
    "bulk 1 KiB",
    (() => {
      const v = bytes(1024);
      return () => v;
    })(),
  ),
  makeCase(
    "bulk 64 KiB",
    (() => {
      const v = bytes(64 * 1024);
      return () => v;
    })(),
  ),
  makeCase(
    "bulk 1 MiB (by reference)",
    (() => {
      const v = bytes(1024 * 1024);
      return () => v;
    })(),
  ),
  makeCase("integer", (i) => i * 7919),
  makeCase("simple +OK", () => ({ kind: "simple", text: "OK" })),
  makeCase("array of 10 × 16 B bulk", () => Array.from({ length: 10 }, () => v16)),
];

for (const c of cases) {
  const w = new ReplyWriter(2);
  // Sanity check outside the timing: the burst renders to the expected byte count.
  for (const r of c.replies) w.write(r);
  const total = w.take().reduce((n, chunk) => n + chunk.length, 0);
  w.reset();
  if (total !== c.wire) throw new Error(`${c.label}: rendered ${total} bytes, expected ${c.wire}`);
  bench(c.label, () => {
    for (const r of c.replies) w.write(r);
    do_not_optimize(w.take());
    w.reset();
  });
}

const { benchmarks } = await run({ format: "quiet" });

console.log("| case | replies per burst | MB/s (wire) | replies/s | time per burst |");
console.log("|---|---:|---:|---:|---:|");
for (const [i, trial] of benchmarks.entries()) {
  const c = cases[i]!;
  const avgNs = trial.runs[0]?.stats?.avg;
  if (avgNs === undefined) throw new Error(`${c.label}: no result`);
  const seconds = avgNs / 1e9;
  console.log(
    `| ${c.label} | ${c.replies.length} | ${(c.wire / 1e6 / seconds).toFixed(0)} | ${Math.round(c.replies.length / seconds).toLocaleString("en-US")} | ${(seconds * 1e6).toFixed(1)} µs |`,
  );
}
