/**
 * Cluster mode of the benchmark (`npm run bench:cluster`): in one run, the same GET and SET
 * workloads against our server standalone, as a one-node cluster (every slot local: the cost
 * of routing with no redirect), and as a two-node cluster (redis-benchmark --cluster spreads
 * keys over both). Prints req/s and the ratios one-node-cluster / standalone (the routing cost;
 * target ≥ 0.97) and two nodes / one node (scale-out). Loopback only; every server started
 * here is stopped on exit, and every run is bounded by `timeout`.
 *
 *   bun bench/cluster.ts [--requests N] [--reps N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, installCleanupHandlers, requireRedisTools } from "./lib/proc.ts";
import { redisBenchmark, type Sample } from "./lib/redis-benchmark.ts";
import { OursServer } from "./lib/servers.ts";
import { median, table } from "./lib/stats.ts";

const { values: flags } = parseArgs({
  options: {
    requests: { type: "string", default: "200000" },
    reps: { type: "string", default: "3" },
  },
});
const requests = Number(flags.requests);
const reps = Number(flags.reps);

requireRedisTools();
installCleanupHandlers();

const SECRET = "bench-cluster-secret";

/** Config lines for a cluster node owning `ranges`, meeting the buses in `seeds`. */
function clusterConfig(name: string, bus: number, ranges: [number, number][], seeds: number[]) {
  const slotRanges = ranges.map(([start, end]) => `{ start = ${start}, end = ${end} }`).join(", ");
  return [
    "[cluster]",
    "enabled = true",
    `node_id = "${name}"`,
    `port = ${bus}`,
    `secret = "${SECRET}"`,
    `seeds = [${seeds.map((p) => `"127.0.0.1:${p}"`).join(", ")}]`,
    `slot_ranges = [${slotRanges}]`,
  ].join("\n");
}

/** Waits until `port` reports cluster_state:ok (the nodes met and agree on every slot). */
async function waitClusterOk(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const r = Bun.spawnSync(["redis-cli", "-p", String(port), "CLUSTER", "INFO"]);
    if (r.stdout.toString().includes("cluster_state:ok")) return;
    await Bun.sleep(200);
  }
  throw new Error(`cluster on ${port} did not reach cluster_state:ok in 30 s`);
}

const work = mkdtempSync(join(tmpdir(), "blobasaur-bench-cluster-"));
const standalone = new OursServer(work, false, 4);
const busOne = freePort();
const one = new OursServer(work, false, 4, clusterConfig("one", busOne, [[0, 16383]], []));
const busA = freePort();
const busB = freePort();
const twoA = new OursServer(work, false, 4, clusterConfig("a", busA, [[0, 8191]], [busB]));
const twoB = new OursServer(work, false, 4, clusterConfig("b", busB, [[8192, 16383]], [busA]));

// redis-benchmark --cluster refuses a one-node cluster; every slot is local there anyway, so a
// plain run sees no redirect and measures what routing alone costs.
const setups: { name: string; port: number; cluster: boolean }[] = [
  { name: "standalone", port: standalone.port, cluster: false },
  { name: "1-node cluster", port: one.port, cluster: false },
  { name: "2-node cluster", port: twoA.port, cluster: true },
];
const workloads: { name: string; args: string[] }[] = [
  { name: "GET 100 B P1", args: ["-t", "get", "-d", "100"] },
  { name: "GET 100 B P16", args: ["-t", "get", "-d", "100", "-P", "16"] },
  { name: "SET 100 B P1", args: ["-t", "set", "-d", "100"] },
];

const servers = [standalone, one, twoA, twoB];
try {
  await Promise.all(servers.map((s) => s.start()));
  await waitClusterOk(one.port);
  await waitClusterOk(twoA.port);
  await waitClusterOk(twoB.port);
  const results = new Map<string, Sample[]>();
  for (let rep = 0; rep < reps; rep++) {
    for (const w of workloads) {
      // Alternate the order per repetition so no setup always runs first.
      const order = rep % 2 === 0 ? setups : [...setups].reverse();
      for (const s of order) {
        const args = ["-c", "50", "-n", String(requests), "-r", "100000", ...w.args];
        if (s.cluster) args.unshift("--cluster");
        const sample = await redisBenchmark(s.port, args);
        const key = `${w.name}|${s.name}`;
        results.set(key, [...(results.get(key) ?? []), sample]);
      }
    }
  }
  const rps = (w: string, s: string) => median(results.get(`${w}|${s}`)!.map((x) => x.rps));
  const rows = workloads.map((w) => {
    const base = rps(w.name, "standalone");
    const c1 = rps(w.name, "1-node cluster");
    const c2 = rps(w.name, "2-node cluster");
    return [
      w.name,
      Math.round(base).toLocaleString("en-US"),
      Math.round(c1).toLocaleString("en-US"),
      Math.round(c2).toLocaleString("en-US"),
      (c1 / base).toFixed(3),
      (c2 / c1).toFixed(2),
    ];
  });
  console.log(
    table(
      [
        "workload",
        "standalone req/s",
        "1-node cluster",
        "2-node cluster",
        "routing: 1-node / standalone",
        "scale-out: 2 / 1 nodes",
      ],
      rows,
    ),
  );
  console.log(
    `\nmedians of ${reps} interleaved repetitions, ${requests} requests each, c50, loopback; every node has 4 shards`,
  );
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(work, { recursive: true, force: true });
}
