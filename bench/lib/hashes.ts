/**
 * `--hashes`: the "millions of small hashes" shape of issue #14, against Redis in the same run.
 * For each size N (10k, 100k, 1M by default) both servers hold N one-field hashes
 * (`h:<12 digits>` → field `f`, 16 B values), then:
 *   - hset-new-hashes-N: HSET into distinct new hashes (redis-benchmark -r 1e8);
 *   - hget-hashes-N:     HGET on the N existing hashes.
 * After the largest N it reports ours' bytes on disk per hash (checkpointed: the server is
 * restarted, which truncates the WAL) against the raw bytes, and the restart time to the first
 * PONG. Last, one hash with N fields (`big`, 100 B values): HSET and HGET on it.
 */
import { measure, prefill } from "./measure.ts";
import { diskBytes, type PairSamples } from "./modes.ts";
import type { OursServer, RedisServer } from "./servers.ts";
import type { Workload } from "./workloads.ts";

export async function hashesMode(
  ours: OursServer,
  redis: RedisServer,
  o: { counts: number[]; requests: number; reps: number },
): Promise<{ pairs: Record<string, PairSamples>; notes: string[] }> {
  const pairs: Record<string, PairSamples> = {};
  const notes: string[] = [];
  const run = async (name: string, what: string, args: string[]) => {
    const w: Workload = { name, what, tool: "rb", args, requests: o.requests };
    const p: PairSamples = { what, ours: [], redis: [] };
    for (let i = 0; i < o.reps; i++) {
      const order = i % 2 === 0 ? [ours, redis] : [redis, ours];
      for (const t of order) p[t.name].push(await measure(t, w, 0));
    }
    pairs[name] = p;
  };
  const n = String(o.requests);
  for (const count of o.counts) {
    const label = count >= 1_000_000 ? `${count / 1_000_000}M` : `${count / 1000}k`;
    for (const t of [ours, redis]) {
      const r = await prefill(t, { prefix: "h:", keys: count, size: "fixed:16", type: "hashes" });
      notes.push(`${t.name}: ${count} one-field hashes loaded in ${r.fill?.seconds.toFixed(1)} s`);
    }
    await run(
      `hset-new-hashes-${label}`,
      `HSET into distinct new one-field hashes with ${label} hashes stored, c50 P1`,
      ["-c", "50", "-n", n, "-r", "100000000", "HSET", "n:__rand_int__", "f", "v"],
    );
    await run(`hget-hashes-${label}`, `HGET on ${label} stored one-field hashes, c50 P1`, [
      "-c",
      "50",
      "-n",
      n,
      "-r",
      String(count),
      "HGET",
      "h:__rand_int__",
      "f",
    ]);
  }
  const largest = Math.max(...o.counts);
  // Every hash on disk counts: the loaded ones and those the HSET runs created.
  const keys = Number(
    Bun.spawnSync(["redis-cli", "-p", String(ours.port), "DBSIZE"])
      .stdout.toString()
      .trim(),
  );
  await ours.stop();
  const bytes = diskBytes(ours.dataDir);
  const t0 = performance.now();
  await ours.start();
  const pongMs = performance.now() - t0;
  notes.push(
    `ours on disk with ${keys} one-field hashes (${largest} loaded, the rest made by the HSET runs): ${(bytes / 2 ** 20).toFixed(1)} MiB, ${(bytes / keys).toFixed(0)} B per hash; raw bytes per hash: 31 (h:) or 16 (n:)`,
  );
  notes.push(`ours restart to first PONG with ${largest} hashes: ${pongMs.toFixed(0)} ms`);
  for (const t of [ours, redis]) {
    await prefill(t, {
      prefix: "element:",
      keys: largest,
      size: "fixed:100",
      type: "hash",
      hashKey: "big",
    });
  }
  await run(`hset-big-hash`, `HSET into one hash of ${largest} fields, c50 P1`, [
    "-c",
    "50",
    "-n",
    n,
    "-r",
    String(largest),
    "HSET",
    "big",
    "element:__rand_int__",
    "v",
  ]);
  await run(`hget-big-hash`, `HGET from one hash of ${largest} fields, c50 P1`, [
    "-c",
    "50",
    "-n",
    n,
    "-r",
    String(largest),
    "HGET",
    "big",
    "element:__rand_int__",
  ]);
  return { pairs, notes };
}
