/**
 * Diffs two bench/run.ts result files: per workload, the ours/Redis ratio before and after (the
 * number to trust, since both sides ran in the same minutes), plus ours req/s and server CPU
 * µs/request; then memory and startup figures when both files have them.
 *   bun bench/compare.ts bench/results/A.json bench/results/B.json
 */
export {};

interface Side {
  rps: number;
  cpuUsPerReq?: number | null;
}
interface MemoryRow {
  server: string;
  afterWrite: number;
  afterRead: number;
  /** Absent in results written before it was measured. */
  settled?: number;
  peak: number;
}
interface Result {
  date: string;
  commit: string;
  ours?: string;
  redis?: string;
  results: Record<string, { ours: Side; redis: Side; ratio: number }>;
  memory?: { rows: MemoryRow[] };
  startup?: { times: Record<string, number[]> };
}

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error("usage: bun bench/compare.ts BEFORE.json AFTER.json");
  process.exit(2);
}
const before = (await Bun.file(a).json()) as Result;
const after = (await Bun.file(b).json()) as Result;
console.log(
  `before: ${before.commit} ${before.date} (${before.ours ?? "?"} vs ${before.redis ?? "?"})`,
);
console.log(
  `after:  ${after.commit} ${after.date} (${after.ours ?? "?"} vs ${after.redis ?? "?"})\n`,
);
if (before.redis !== after.redis || before.ours !== after.ours) {
  console.log("WARNING: the two files used different server settings\n");
}

const pct = (x: number | undefined, y: number | undefined) =>
  x !== undefined && y !== undefined && x !== 0 ? `${(((y - x) / x) * 100).toFixed(1)}%` : "-";
const fix = (x: number | null | undefined, d: number) =>
  typeof x === "number" ? x.toFixed(d) : "-";
const int = (x: number | undefined) =>
  x === undefined ? "-" : Math.round(x).toLocaleString("en-US");

console.log(
  "| workload | ratio before | ratio after | change | ours req/s before → after | ours CPU µs/req before → after |",
);
console.log("|---|---|---|---|---|---|");
const names = new Set([...Object.keys(before.results), ...Object.keys(after.results)]);
for (const name of names) {
  const x = before.results[name];
  const y = after.results[name];
  console.log(
    `| ${name} | ${fix(x?.ratio, 2)} | ${fix(y?.ratio, 2)} | ${pct(x?.ratio, y?.ratio)} | ${int(x?.ours.rps)} → ${int(y?.ours.rps)} | ${fix(x?.ours.cpuUsPerReq, 1)} → ${fix(y?.ours.cpuUsPerReq, 1)} |`,
  );
}

const mb = (x: number | undefined) => (x === undefined ? "-" : `${(x / 1048576).toFixed(0)} MiB`);
if (before.memory && after.memory) {
  console.log("\n| memory | RSS after write | RSS after read | RSS 5 s later | peak |");
  console.log("|---|---|---|---|---|");
  for (const row of after.memory.rows) {
    const old = before.memory.rows.find((r) => r.server === row.server);
    const cell = (k: "afterWrite" | "afterRead" | "settled" | "peak") =>
      `${mb(old?.[k])} → ${mb(row[k])}`;
    const cells = [cell("afterWrite"), cell("afterRead"), cell("settled"), cell("peak")];
    console.log(`| ${row.server} | ${cells.join(" | ")} |`);
  }
}
if (before.startup && after.startup) {
  const med = (xs: number[] | undefined) => {
    if (!xs || xs.length === 0) return undefined;
    const s = [...xs].sort((p, q) => p - q);
    return s[Math.floor(s.length / 2)]!;
  };
  console.log("\n| startup (first PONG) | before ms | after ms |");
  console.log("|---|---|---|");
  for (const [label, xs] of Object.entries(after.startup.times)) {
    console.log(`| ${label} | ${fix(med(before.startup.times[label]), 1)} | ${fix(med(xs), 1)} |`);
  }
}
