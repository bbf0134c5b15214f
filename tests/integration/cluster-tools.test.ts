/**
 * Standard tooling against in-process nodes: `redis-cli --cluster create` over nodes started
 * with no slots, `check`, `reshard` while a cluster client keeps writing (nothing lost, every
 * overwrite's last value kept), `add-node`, `rebalance`, `del-node` and `fix`.
 */
import { afterAll, expect, test } from "bun:test";
import Redis from "ioredis";
import { keySlot } from "../../src/cluster/slots.ts";
import type { TestServer } from "../helpers/server.ts";
import { client, startClusterNode, until, waitForAgreement } from "./cluster-harness.ts";

const nodes: TestServer[] = [];
afterAll(async () => {
  for (const n of nodes) await n[Symbol.asyncDispose]();
});

async function redisCli(...args: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(["redis-cli", ...args], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [out, err] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  return { code: await proc.exited, out: out + err };
}

const addr = (n: TestServer) => `127.0.0.1:${n.port}`;

test("redis-cli --cluster create joins three empty nodes, and --cluster check reports OK", async () => {
  for (let i = 0; i < 3; i++) nodes.push(await startClusterNode(i));
  const created = await redisCli("--cluster", "create", ...nodes.map(addr), "--cluster-yes");
  expect(created.out).toContain("[OK] All 16384 slots covered.");
  expect(created.code, created.out).toBe(0);
  await waitForAgreement(nodes);
  const check = await redisCli("--cluster", "check", addr(nodes[0]!));
  expect(check.out).toContain("[OK] All nodes agree about slots configuration.");
  expect(check.out).toContain("[OK] All 16384 slots covered.");
  expect(check.code, check.out).toBe(0);
}, 30_000);

/** Keys whose slots are the first `slots` of the keyspace (the ones a reshard from node 0 moves). */
function keysInFirstSlots(count: number, slots: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const key = `rs:${i}`;
    if (keySlot(new TextEncoder().encode(key)) < slots) out.push(key);
  }
  return out;
}

test("reshard under write load loses nothing", async () => {
  const cluster = new Redis.Cluster([{ host: "127.0.0.1", port: nodes[0]!.port }], {
    retryDelayOnMoved: 5,
    retryDelayOnTryAgain: 20,
  });
  // Every write goes to a slot being moved: strings, and hashes every fourth key.
  const keys = keysInFirstSlots(1200, 100);
  const last = new Map<string, string>();
  let stop = false;
  let written = 0;
  const writer = (async () => {
    for (let round = 0; !stop; round++) {
      const batch: Promise<unknown>[] = [];
      for (let j = 0; j < keys.length; j += 8) {
        const k = (j + round) % keys.length;
        const key = keys[k]!;
        const value = `${round}:${j}`;
        last.set(key, value);
        batch.push(k % 4 === 0 ? cluster.hset(key, "v", value) : cluster.set(key, value));
      }
      await Promise.all(batch);
      written += batch.length;
      // Leave the (shared) event loop some room: the load must not starve the reshard.
      await Bun.sleep(10);
    }
  })();
  await until(() => written > 600, 10_000, "initial writes");
  const ids = nodes.map((n) => n.handle.context.cluster!.topology.myself.id);
  const reshard = await redisCli(
    "--cluster",
    "reshard",
    addr(nodes[0]!),
    "--cluster-from",
    String(ids[0]),
    "--cluster-to",
    String(ids[1]),
    "--cluster-slots",
    "100",
    "--cluster-yes",
    "--cluster-pipeline",
    "20",
  );
  stop = true;
  await writer;
  expect(reshard.out).not.toContain("ERR");
  expect(reshard.code, reshard.out).toBe(0);
  await waitForAgreement(nodes);
  expect(nodes[1]!.handle.context.cluster!.topology.owner[0]?.myself).toBe(true);
  const check = await redisCli("--cluster", "check", addr(nodes[0]!));
  expect(check.out).toContain("[OK] All 16384 slots covered.");
  expect(check.out).not.toContain("[WARNING]");
  const types = await Promise.all(keys.map((k) => cluster.type(k)));
  const values = await Promise.all(
    keys.map((k, i) => (types[i] === "hash" ? cluster.hget(k, "v") : cluster.get(k))),
  );
  const lost = keys.filter((k, i) => values[i] !== last.get(k));
  expect(written).toBeGreaterThan(2000);
  expect(lost).toEqual([]);
  await cluster.quit();
}, 60_000);

test("add-node, rebalance and del-node", async () => {
  const fourth = await startClusterNode(3);
  nodes.push(fourth);
  const added = await redisCli("--cluster", "add-node", addr(fourth), addr(nodes[0]!));
  expect(added.code, added.out).toBe(0);
  await waitForAgreement(nodes);
  const topo = fourth.handle.context.cluster!.topology;
  const id = topo.myself.id;
  // A small weight keeps the number of slots moved (and the test's time) small.
  const balanced = await redisCli(
    "--cluster",
    "rebalance",
    addr(nodes[0]!),
    "--cluster-use-empty-masters",
    "--cluster-weight",
    `${id}=0.03`,
  );
  expect(balanced.code, balanced.out).toBe(0);
  await waitForAgreement(nodes);
  const owned = topo.slotsOf(topo.myself);
  expect(owned).toBeGreaterThan(100);
  // Empty it again and remove it.
  const to = nodes[0]!.handle.context.cluster!.topology.myself.id;
  const moved = await redisCli(
    "--cluster",
    "reshard",
    addr(nodes[0]!),
    "--cluster-from",
    id,
    "--cluster-to",
    to,
    "--cluster-slots",
    String(owned),
    "--cluster-yes",
  );
  expect(moved.code, moved.out).toBe(0);
  await waitForAgreement(nodes);
  const removed = await redisCli("--cluster", "del-node", addr(nodes[0]!), id);
  expect(removed.out).toContain("Sending CLUSTER RESET SOFT to the deleted node.");
  expect(removed.code, removed.out).toBe(0);
  nodes.pop();
  await fourth[Symbol.asyncDispose]();
  await waitForAgreement(nodes);
  const check = await redisCli("--cluster", "check", addr(nodes[0]!));
  expect(check.out).toContain("[OK] All 16384 slots covered.");
}, 60_000);

test("--cluster fix finishes a slot move that was left open", async () => {
  const [source, target] = [nodes[0]!, nodes[1]!];
  const src = source.handle.context.cluster!.topology;
  const dst = target.handle.context.cluster!.topology;
  let key = "";
  for (let i = 0; key === ""; i++) {
    if (src.owner[keySlot(new TextEncoder().encode(`fix:${i}`))] === src.myself) key = `fix:${i}`;
  }
  const slot = keySlot(new TextEncoder().encode(key));
  const s = await client(source.port);
  const t = await client(target.port);
  await s.set(key, "v");
  // An interrupted move: both sides open, the key still on the source.
  await t.call("CLUSTER", "SETSLOT", String(slot), "IMPORTING", src.myself.id);
  await s.call("CLUSTER", "SETSLOT", String(slot), "MIGRATING", dst.myself.id);
  const check = await redisCli("--cluster", "check", addr(source));
  expect(check.out).toContain(`[WARNING] The following slots are open: ${slot}.`);
  const fixed = await redisCli("--cluster", "fix", addr(source));
  expect(fixed.code, fixed.out).toBe(0);
  await waitForAgreement(nodes);
  expect(src.owner[slot]).toBe(src.nodes.get(dst.myself.id)!);
  expect(await t.get(key)).toBe("v");
  const again = await redisCli("--cluster", "check", addr(source));
  expect(again.out).not.toContain("[WARNING]");
  s.disconnect();
  t.disconnect();
}, 30_000);
