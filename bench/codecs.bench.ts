/**
 * Codec benchmark: compress/decompress throughput (MB/s of uncompressed bytes) and ratio for
 * each value codec at the levels worth configuring, on a 16 KB JSON-like value and a 1 MiB
 * mixed value (JSON + log text + random blocks), both generated from a fixed seed.
 * Prints a markdown table. Usage: bun bench/codecs.bench.ts [reps=5] [secondsPerRep=0.3]
 */
import { type Algorithm, codecFor, decodeValue, rawEncode } from "../src/storage/codecs/codec.ts";

const reps = Number(process.argv[2] ?? 5);
const secondsPerRep = Number(process.argv[3] ?? 0.3);

/** mulberry32: small, fast and deterministic. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const next = rng(20240601);
const int = (n: number) => Math.floor(next() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const FIRST = ["Ada", "Linus", "Grace", "Ken", "Barbara", "Dennis", "Margaret", "Alan", "Edsger"];
const LAST = ["Lovelace", "Torvalds", "Hopper", "Thompson", "Liskov", "Ritchie", "Hamilton"];
const TAGS = ["admin", "beta", "trial", "vip", "eu", "us", "mobile", "legacy", "newsletter"];
const CITIES = ["Lisbon", "Oslo", "Austin", "Kyoto", "Lagos", "Lima", "Perth", "Tallinn"];
const LEVELS = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
const PATHS = ["/api/v1/users", "/api/v1/orders", "/healthz", "/login", "/api/v1/search"];

const hex = (digits: number) => Array.from({ length: digits }, () => int(16).toString(16)).join("");
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${hex(4)}-${hex(12)}`;
const isoDate = () => new Date(1_600_000_000_000 + int(200_000_000) * 1000).toISOString();

function json(bytes: number): Uint8Array {
  const rows: string[] = [];
  let size = 2;
  while (size < bytes) {
    const first = pick(FIRST);
    const row = JSON.stringify({
      id: uuid(),
      name: `${first} ${pick(LAST)}`,
      email: `${first.toLowerCase()}.${int(10_000)}@example.com`,
      created_at: isoDate(),
      tags: [pick(TAGS), pick(TAGS)],
      address: {
        street: `${int(999)} Main St`,
        city: pick(CITIES),
        zip: String(10000 + int(89999)),
      },
    });
    rows.push(row);
    size += row.length + 1;
  }
  return new TextEncoder().encode(`[${rows.join(",")}]`.slice(0, bytes));
}

function logText(bytes: number): Uint8Array {
  let text = "";
  while (text.length < bytes) {
    text += `${isoDate()} ${pick(LEVELS)} req=${hex(16)} ${pick(["GET", "POST"])} ${pick(PATHS)} status=${pick([200, 200, 201, 404, 500])} ms=${int(900)}\n`;
  }
  return new TextEncoder().encode(text.slice(0, bytes));
}

function random(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = int(256);
  return out;
}

/** 16 blocks of 64 KiB: 6 JSON, 5 log text, 5 random, interleaved. */
function mixed(): Uint8Array {
  const block = 64 * 1024;
  const out = new Uint8Array(16 * block);
  for (let i = 0; i < 16; i++) {
    const kind = i % 3;
    out.set(kind === 0 ? json(block) : kind === 1 ? logText(block) : random(block), i * block);
  }
  return out;
}

const INPUTS: Array<[string, Uint8Array]> = [
  ["16 KB JSON", json(16 * 1024)],
  ["1 MiB mixed", mixed()],
];

interface Row {
  name: string;
  level: string;
  compress: (value: Uint8Array) => Uint8Array;
  decompress: (stored: Uint8Array) => Uint8Array;
}

function codecRow(algorithm: Exclude<Algorithm, "none">, level: number | null): Row {
  const impl = codecFor(algorithm);
  const lvl = level ?? impl.levels.default;
  return {
    name: algorithm,
    level: level === null ? `${lvl} (default)` : String(level),
    compress: (value) => impl.compress(value, lvl),
    decompress: (payload) => impl.decompress(payload),
  };
}

const ROWS: Row[] = [
  { name: "raw (header copy)", level: "-", compress: rawEncode, decompress: decodeValue },
  codecRow("zstd", 1),
  codecRow("zstd", 3),
  codecRow("gzip", 1),
  codecRow("gzip", 6),
  codecRow("brotli", 4),
  codecRow("lz4", null),
];

/** Median of `reps` runs, each repeating `fn` for at least `secondsPerRep`: calls per second. */
function callsPerSecond(fn: () => unknown): number {
  for (let i = 0; i < 3; i++) fn();
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < secondsPerRep * 1000) {
      fn();
      calls++;
      elapsed = performance.now() - start;
    }
    rates.push(calls / (elapsed / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1]!;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en") : n.toFixed(1));

console.log(`Bun ${Bun.version}, ${reps} reps x ${secondsPerRep} s, median\n`);
console.log(
  "| input | codec | level | ratio | compress MB/s | µs/value | decompress MB/s | µs/value |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const [label, input] of INPUTS) {
  for (const row of ROWS) {
    const stored = row.compress(input);
    if (!sameBytes(row.decompress(stored), input)) throw new Error(`${row.name}: bad round trip`);
    const enc = callsPerSecond(() => row.compress(input));
    const dec = callsPerSecond(() => row.decompress(stored));
    const mb = input.length / 1e6;
    const cells = [
      label,
      row.name,
      row.level,
      (input.length / stored.length).toFixed(2),
      fmt(enc * mb),
      fmt(1e6 / enc),
      fmt(dec * mb),
      fmt(1e6 / dec),
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
}
