/**
 * Cluster mode as users run it: three server processes on loopback, each from its own config
 * file, joined by `redis-cli --cluster create`. A node killed with SIGKILL is flagged FAIL by
 * the others within twice the node timeout; the cluster then answers CLUSTERDOWN, and after
 * CONFIG SET cluster-require-full-coverage no the surviving slots serve again. A restarted
 * node comes back with its id and slots from nodes.conf. A node with the wrong bus secret is
 * refused. Also: the shipped config.cluster.example.toml starts as it is.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { freePort, ROOT, type Running, startProcess, writeConfig } from "../helpers/process.ts";
import { tempDir } from "../helpers/server.ts";

const NODE_TIMEOUT_MS = 600;
const dirs: string[] = [];
const procs: Running[] = [];
afterAll(() => {
  for (const p of procs) p.proc.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Node {
  port: number;
  cport: number;
  config: string;
  run: Running | null;
}

function nodeConfig(i: number, secret = "cli-cluster-secret"): Node {
  const dir = tempDir("blobasaur-cluster-cli-");
  dirs.push(dir);
  const port = freePort();
  const cport = freePort();
  const config = writeConfig(
    dir,
    `data_dir = "${join(dir, "data")}"
num_shards = 2
addr = "127.0.0.1:${port}"

[cluster]
enabled = true
node_id = "node-${i}"
port = ${cport}
secret = "${secret}"
node_timeout_ms = ${NODE_TIMEOUT_MS}
gossip_interval_ms = 100
`,
  );
  return { port, cport, config, run: null };
}

async function start(node: Node): Promise<void> {
  node.run = await startProcess(["serve", "--config", node.config]);
  procs.push(node.run);
}

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

async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await cond())) {
    if (Date.now() - started > ms) throw new Error(`${what} not reached within ${ms} ms`);
    await Bun.sleep(20);
  }
  return Date.now() - started;
}

async function call(port: number, ...args: string[]): Promise<unknown> {
  const c = new Redis({
    port,
    host: "127.0.0.1",
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  c.on("error", () => {});
  try {
    await c.connect();
    return await c.call(args[0]!, ...args.slice(1));
  } catch (error) {
    return error as Error;
  } finally {
    c.disconnect();
  }
}

const nodes = [0, 1, 2].map((i) => nodeConfig(i));

test("three processes from three config files form a cluster with redis-cli --cluster create", async () => {
  await Promise.all(nodes.map(start));
  const created = await redisCli(
    "--cluster",
    "create",
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    "--cluster-yes",
  );
  expect(created.out).toContain("[OK] All 16384 slots covered.");
  expect(created.code).toBe(0);
  const check = await redisCli("--cluster", "check", `127.0.0.1:${nodes[0]!.port}`);
  expect(check.out).toContain("[OK] All nodes agree about slots configuration.");
  expect(check.code).toBe(0);
  const set = await redisCli("-c", "-p", String(nodes[0]!.port), "set", "foo", "bar");
  expect(set.out.trim()).toBe("OK");
  const get = await redisCli("-c", "-p", String(nodes[1]!.port), "get", "foo");
  expect(get.out.trim()).toBe("bar");
}, 30_000);

test("a node with the wrong bus secret is refused", async () => {
  const intruder = nodeConfig(9, "not-the-secret");
  await start(intruder);
  expect(
    await call(
      intruder.port,
      "CLUSTER",
      "MEET",
      "127.0.0.1",
      String(nodes[0]!.port),
      String(nodes[0]!.cport),
    ),
  ).toBe("OK");
  await until(async () => intruder.run!.output().includes("refused"), 5000, "refusal logged");
  await Bun.sleep(300);
  expect(String(await call(intruder.port, "CLUSTER", "INFO"))).toContain(
    "cluster_known_nodes:1\r\n",
  );
  expect(String(await call(nodes[0]!.port, "CLUSTER", "INFO"))).toContain(
    "cluster_known_nodes:3\r\n",
  );
  intruder.run!.proc.kill("SIGKILL");
}, 20_000);

test("a node killed with SIGKILL is flagged FAIL within 2 × node timeout; CLUSTERDOWN until coverage is relaxed", async () => {
  const victim = nodes[2]!;
  const victimId = String(await call(victim.port, "CLUSTER", "MYID"));
  // A key on a surviving node, to see it serve again.
  const survivorKey = ["a", "b", "c", "d", "e", "f"].find((k) => Number(readSlot(k)) < 10922)!;
  victim.run!.proc.kill("SIGKILL");
  await victim.run!.proc.exited;
  const killedAt = Date.now();
  const failed = async (port: number) =>
    String(await call(port, "CLUSTER", "NODES"))
      .split("\n")
      .some((l) => l.startsWith(victimId) && l.split(" ")[2]!.split(",").includes("fail"));
  await until(
    async () => (await failed(nodes[0]!.port)) && (await failed(nodes[1]!.port)),
    2 * NODE_TIMEOUT_MS + 500,
    "FAIL",
  );
  expect(Date.now() - killedAt).toBeLessThanOrEqual(2 * NODE_TIMEOUT_MS + 200);
  await until(
    async () =>
      String(await call(nodes[0]!.port, "CLUSTER", "INFO")).includes("cluster_state:fail"),
    2000,
    "state fail",
  );
  const down = await call(nodes[0]!.port, "GET", survivorKey);
  expect(String((down as Error).message ?? down)).toBe("CLUSTERDOWN The cluster is down");
  for (const n of nodes.slice(0, 2))
    expect(await call(n.port, "CONFIG", "SET", "cluster-require-full-coverage", "no")).toBe("OK");
  expect(await call(nodes[0]!.port, "CONFIG", "GET", "cluster-require-full-coverage")).toEqual([
    "cluster-require-full-coverage",
    "no",
  ]);
  const served = await redisCli("-c", "-p", String(nodes[0]!.port), "set", survivorKey, "alive");
  expect(served.out.trim()).toBe("OK");
  expect(String(await call(nodes[1]!.port, "CLUSTER", "INFO"))).toContain("cluster_state:ok");
}, 20_000);

test("a restarted node keeps its id and slots from nodes.conf, and its FAIL flag clears", async () => {
  const victim = nodes[2]!;
  const conf = readFileSync(join(victim.config, "..", "data", "nodes.conf"), "utf8");
  expect(conf).toContain("myself,master");
  expect(conf).toMatch(/vars currentEpoch \d+ lastVoteEpoch 0/);
  await start(victim);
  const id = conf
    .split("\n")
    .find((l) => l.includes("myself"))!
    .split(" ")[0]!;
  expect(await call(victim.port, "CLUSTER", "MYID")).toBe(id);
  await until(
    async () =>
      !String(await call(nodes[0]!.port, "CLUSTER", "NODES"))
        .split("\n")
        .some((l) => l.startsWith(id) && l.includes("fail")),
    5000,
    "FAIL cleared",
  );
  for (const n of nodes.slice(0, 2))
    await call(n.port, "CONFIG", "SET", "cluster-require-full-coverage", "yes");
  await until(
    async () => String(await call(victim.port, "CLUSTER", "INFO")).includes("cluster_state:ok"),
    5000,
    "state ok",
  );
}, 20_000);

test("config.cluster.example.toml starts as shipped", async () => {
  const dir = tempDir("blobasaur-cluster-example-");
  dirs.push(dir);
  const port = freePort();
  const cport = freePort();
  const text = readFileSync(join(ROOT, "config.cluster.example.toml"), "utf8")
    .replace('data_dir = "./data/node1"', `data_dir = "${join(dir, "data")}"`)
    .replace('addr = "127.0.0.1:6379"', `addr = "127.0.0.1:${port}"`)
    .replace("port = 7000", `port = ${cport}`);
  const running = await startProcess(["serve", "--config", writeConfig(dir, text)]);
  procs.push(running);
  const info = String(await call(port, "CLUSTER", "INFO"));
  // Alone, it serves the slots it was configured with and waits for its seeds.
  expect(info).toContain("cluster_known_nodes:1\r\n");
  expect(info).toContain("cluster_slots_assigned:5461\r\n");
  running.proc.kill("SIGTERM");
  await running.proc.exited;
}, 20_000);

function readSlot(key: string): number {
  // Redis's CRC16 slot (cluster-key-slot), without importing the server.
  const proc = Bun.spawnSync([
    "redis-cli",
    "-p",
    String(nodes[0]!.port),
    "CLUSTER",
    "KEYSLOT",
    key,
  ]);
  return Number(proc.stdout.toString().trim());
}
