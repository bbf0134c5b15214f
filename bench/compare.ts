/**
 * Diffs two bench/run.ts result files: per workload, ours/Redis ratio before and after.
 *   bun bench/compare.ts bench/results/A.json bench/results/B.json
 */
export {};

interface Result {
  date: string;
  commit: string;
  results: Record<string, { ours: { rps: number }; redis: { rps: number }; ratio: number }>;
}

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error("usage: bun bench/compare.ts BEFORE.json AFTER.json");
  process.exit(2);
}
const before = (await Bun.file(a).json()) as Result;
const after = (await Bun.file(b).json()) as Result;
console.log(`before: ${before.commit} ${before.date}\nafter:  ${after.commit} ${after.date}\n`);
console.log("| workload | ratio before | ratio after | change |");
console.log("|---|---|---|---|");
const names = new Set([...Object.keys(before.results), ...Object.keys(after.results)]);
for (const name of names) {
  const x = before.results[name]?.ratio;
  const y = after.results[name]?.ratio;
  const change = x !== undefined && y !== undefined ? `${(((y - x) / x) * 100).toFixed(1)}%` : "-";
  console.log(`| ${name} | ${x?.toFixed(2) ?? "-"} | ${y?.toFixed(2) ?? "-"} | ${change} |`);
}
