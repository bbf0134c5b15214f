/**
 * Test support for cluster mode: in-process nodes on loopback (client and bus ports chosen by
 * the kernel), joined with the same commands `redis-cli --cluster create` sends (ADDSLOTSRANGE,
 * SET-CONFIG-EPOCH, MEET), and a wait for every node to agree.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import type { Config, DeepPartial } from "../../src/config/index.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

export const SECRET = "test-cluster-secret";

export interface ClusterNodeOptions {
  nodeTimeoutMs?: number;
  secret?: string;
  overrides?: DeepPartial<Config>;
  dir?: string;
}

export async function startClusterNode(i: number, o: ClusterNodeOptions = {}): Promise<TestServer> {
  return await startTestServer(
    {
      ...(o.overrides ?? {}),
      cluster: {
        enabled: true,
        nodeId: `node-${i}`,
        port: 0,
        secret: o.secret ?? SECRET,
        nodeTimeoutMs: o.nodeTimeoutMs ?? 5000,
        gossipIntervalMs: 100,
      },
    } as DeepPartial<Config>,
    o.dir ? { dir: o.dir, keepDir: true } : { dir: scratchDir() },
  );
}

/**
 * A data dir in memory when the machine has /dev/shm: nodes.conf is fsynced on every slot
 * change (as Redis does), and three in-process nodes share one event loop, so a reshard's
 * thousands of fsyncs would dominate the test's time on a real disk.
 */
function scratchDir(): string {
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  return mkdtempSync(join(base, "blobasaur-cluster-"));
}

export function busPort(node: TestServer): number {
  return node.handle.context.cluster!.bus.port;
}

export async function client(port: number): Promise<Redis> {
  const c = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
  await c.connect();
  return c;
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await Bun.sleep(20);
  }
}

/** Splits the slots evenly, as redis-cli does, and joins the nodes; waits until all agree. */
export async function createCluster(nodes: TestServer[]): Promise<void> {
  const per = Math.floor(16384 / nodes.length);
  const clients = await Promise.all(nodes.map((n) => client(n.port)));
  for (let i = 0; i < nodes.length; i++) {
    const start = i * per;
    const end = i === nodes.length - 1 ? 16383 : (i + 1) * per - 1;
    await clients[i]!.call("CLUSTER", "ADDSLOTSRANGE", String(start), String(end));
    await clients[i]!.call("CLUSTER", "SET-CONFIG-EPOCH", String(i + 1));
  }
  for (let i = 1; i < nodes.length; i++)
    await clients[0]!.call(
      "CLUSTER",
      "MEET",
      "127.0.0.1",
      String(nodes[i]!.port),
      String(busPort(nodes[i]!)),
    );
  for (const c of clients) c.disconnect();
  await waitForAgreement(nodes);
  // A node learns of the others by gossip before its own links to them are up: wait for the
  // links too, so a new cluster reads "connected" everywhere, as after redis-cli's create.
  await until(
    () =>
      nodes.every((n) => {
        const t = n.handle.context.cluster!.topology;
        return [...t.nodes.values()].every((node) => node === t.myself || node.linkUp);
      }),
    10_000,
    "every bus link up",
  );
}

/** Every node knows every node, and all see the same owner for every slot and state ok. */
export async function waitForAgreement(nodes: TestServer[], ms = 10_000): Promise<void> {
  await until(
    () => {
      const topos = nodes.map((n) => n.handle.context.cluster!.topology);
      if (!topos.every((t) => t.nodes.size === nodes.length && t.state === "ok")) return false;
      for (let s = 0; s < 16384; s++) {
        const id = topos[0]!.owner[s]?.id;
        if (!topos.every((t) => t.owner[s]?.id === id)) return false;
      }
      return true;
    },
    ms,
    "cluster agreement",
  );
}
