/**
 * MEMORY: USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP.
 *
 * MEMORY USAGE is an honest estimate of what the key would cost in Redis's memory layout: the
 * key's bytes and the value's bytes, each rounded up to an allocator size class, plus Redis's
 * fixed per-key overheads (dict entry, object header, sds headers). It is not what the key
 * costs us (the value lives in SQLite on disk), but it scales with the stored bytes the way
 * Redis's number does, which is what tools comparing keys want. A large hash is sampled like
 * Redis: SAMPLES fields (default 5, 0 = all) read in insertion order, averaged, multiplied by
 * the field count. The other subcommands report process-wide figures from Bun's runtime.
 */
import { errors } from "../../errors.ts";
import { map, OK, type Reply, simple } from "../../protocol/reply.ts";
import { keyParam, ROW_HASH_INLINE, ROW_HASH_TABLE } from "../../storage/api.ts";
import { equalsToken, parseInt64 } from "../args.ts";
import { ks } from "../db.ts";
import type { RowDefaults } from "../rows.ts";
import type { CommandSpec, Ctx } from "../spec.ts";

/** Redis's per-key fixed costs on 64-bit builds (bytes). */
const DICT_ENTRY = 24;
const ROBJ = 16;
const DICT_HEADER = 56;
const EMBSTR_BYTES_MAX = 44;
const SAMPLES_DEFAULT = 5;

/** jemalloc's size class for a request of `n` bytes: 8, 16, then four classes per doubling. */
export function sizeClass(n: number): number {
  if (n <= 8) return 8;
  if (n <= 128) return Math.ceil(n / 16) * 16;
  const step = 2 ** (Math.floor(Math.log2(n - 1)) - 2);
  return Math.ceil(n / step) * step;
}

/** Bytes of an sds string holding `len` bytes: header (by length) + bytes + NUL. */
function sds(len: number): number {
  const header = len < 256 ? 3 : len < 65_536 ? 5 : len < 2 ** 32 ? 9 : 17;
  return sizeClass(header + len + 1);
}

function isInteger(value: Uint8Array): boolean {
  return value.length <= 20 && parseInt64(value) !== null;
}

/** MEMORY USAGE key [SAMPLES count]. */
function usage(ctx: Ctx, args: Uint8Array[]): Reply {
  let samples = SAMPLES_DEFAULT;
  for (let i = 3; i < args.length; i++) {
    if (equalsToken(args[i]!, "SAMPLES") && i + 1 < args.length) {
      const n = parseInt64(args[++i]!);
      if (n === null) throw errors.notInteger();
      if (n < 0n) throw errors.syntax();
      samples = n === 0n ? Number.MAX_SAFE_INTEGER : Number(n > 1_000_000n ? 1_000_000n : n);
    } else throw errors.syntax();
  }
  const keys = ks(ctx);
  const key = args[2]!;
  const entry = keys.entry(key);
  if (entry === null) return null;
  const fixed = DICT_ENTRY + sds(key.length);
  if (entry.type === ROW_HASH_INLINE) {
    // A listpack: the inline blob is our equivalent, byte for byte within a few headers.
    return fixed + ROBJ + sizeClass(entry.value.length + 7);
  }
  if (entry.type === ROW_HASH_TABLE) {
    const now = keys.now();
    const view = keys.tableFor(key).hash(keyParam(key), now);
    if (view === null) return null;
    const len = view.len(now);
    let sampled = 0;
    let bytes = 0;
    for (let after = 0; sampled < samples; ) {
      const page = view.page(after, Math.min(samples - sampled, 1000), now);
      for (const item of page.items) {
        if (sampled >= samples) break;
        bytes += DICT_ENTRY + sds(item.field.length) + sds(item.value.length);
        sampled++;
      }
      if (page.next === 0) break;
      after = page.next;
    }
    const buckets = 2 ** Math.ceil(Math.log2(Math.max(len, 4)));
    const perField = sampled > 0 ? bytes / sampled : 0;
    return fixed + ROBJ + DICT_HEADER + 8 * buckets + Math.round(perField * len);
  }
  const value = entry.value;
  const forced = keys.encodingMarks.of(key, value);
  if (forced === null && isInteger(value)) return fixed + ROBJ;
  if (forced !== "raw" && value.length <= EMBSTR_BYTES_MAX)
    return fixed + sizeClass(ROBJ + 3 + value.length + 1);
  return fixed + ROBJ + sds(value.length);
}

function stats(ctx: Ctx): Reply {
  const m = process.memoryUsage();
  const allocated = m.heapUsed + m.external + m.arrayBuffers;
  const peak = Math.max(process.resourceUsage().maxRSS * 1024, m.rss);
  const clients = ctx.server.clients.size;
  const fields: [string, Reply][] = [
    ["peak.allocated", peak],
    ["total.allocated", allocated],
    ["startup.allocated", 0],
    ["replication.backlog", 0],
    ["clients.slaves", 0],
    ["clients.normal", clients * 1024],
    ["cluster.links", 0],
    ["aof.buffer", 0],
    ["lua.caches", 0],
    ["functions.caches", 0],
    ["overhead.total", clients * 1024],
    ["keys.count", 0],
    ["keys.bytes-per-key", 0],
    ["dataset.bytes", allocated],
    ["dataset.percentage", "100"],
    ["peak.percentage", ((allocated / peak) * 100).toFixed(2)],
    ["allocator.allocated", allocated],
    ["allocator.active", m.heapTotal + m.external],
    ["allocator.resident", m.rss],
    ["allocator-fragmentation.ratio", ((m.heapTotal + m.external) / allocated).toFixed(3)],
    ["fragmentation", (m.rss / allocated).toFixed(3)],
    ["fragmentation.bytes", m.rss - allocated],
  ];
  return map(fields);
}

const DOCTOR =
  "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base: values live in SQLite on disk, so the memory the server uses is its caches and its clients. Use INFO memory and the value_cache_* fields of INFO blobasaur for the details.";

const help = [
  "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "DOCTOR",
  "    Return memory problems reports.",
  "MALLOC-STATS",
  "    Return internal statistics report from the memory allocator.",
  "PURGE",
  "    Attempt to purge dirty pages for reclamation by the allocator.",
  "STATS",
  "    Return information about the memory usage of the server.",
  "USAGE <key> [SAMPLES <count>]",
  "    Return memory in bytes used by <key> and its value. Nested values are",
  "    sampled up to <count> times (default: 5, 0 means sample all).",
  "HELP",
  "    Prints this help.",
];

const sub: RowDefaults = { flags: [], group: "server", since: "4.0.0", keys: null };

const memorySubs: CommandSpec[] = [
  {
    ...sub,
    name: "memory|usage",
    arity: -3,
    summary: "Estimates the memory in bytes a key and its value would take in Redis's layout.",
    syntax: "key [SAMPLES count]",
    handler: usage,
    flags: ["readonly"],
    keys: { first: 2, last: 2, step: 1 },
    quietLookup: true,
  },
  {
    ...sub,
    name: "memory|stats",
    arity: 2,
    summary: "Returns details about memory usage.",
    syntax: "",
    handler: stats,
  },
  {
    ...sub,
    name: "memory|doctor",
    arity: 2,
    summary: "Outputs a memory problems report.",
    syntax: "",
    handler: () => DOCTOR,
  },
  {
    ...sub,
    name: "memory|malloc-stats",
    arity: 2,
    summary: "Returns the allocator statistics.",
    syntax: "",
    handler: () => JSON.stringify(process.memoryUsage()),
  },
  {
    ...sub,
    name: "memory|purge",
    arity: 2,
    summary: "Runs a garbage collection to give memory back.",
    syntax: "",
    handler: () => {
      Bun.gc(true);
      return OK;
    },
  },
  {
    ...sub,
    name: "memory|help",
    arity: 2,
    summary: "Returns helpful text about the different subcommands.",
    syntax: "",
    handler: () => help.map((line) => simple(line)),
    flags: ["loading", "stale"],
  },
];

export const memoryCommands: CommandSpec[] = [
  {
    name: "memory",
    arity: -2,
    flags: [],
    keys: null,
    group: "server",
    since: "4.0.0",
    summary: "A container for memory diagnostics commands.",
    syntax: "<subcommand> [arguments]",
    subcommands: memorySubs,
  },
];
