/**
 * redis-py's RedisCluster (Debian's python3-redis) against three in-process nodes: discovery
 * through CLUSTER SLOTS, then thousands of strings and hashes round-tripped with no special
 * settings.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { TestServer } from "../helpers/server.ts";
import { createCluster, startClusterNode } from "./cluster-harness.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = `
import sys
from redis.cluster import RedisCluster
rc = RedisCluster(host="127.0.0.1", port=int(sys.argv[1]))
rc.set("py:first", "1")
assert rc.get("py:first") == b"1"
p = rc.pipeline()
for i in range(3000):
    p.set(f"py:s:{i}", f"v{i}")
for i in range(500):
    p.hset(f"py:h:{i}", mapping={"a": str(i), "b": "x" * (i % 40)})
p.execute()
p = rc.pipeline()
for i in range(3000):
    p.get(f"py:s:{i}")
for i in range(500):
    p.hgetall(f"py:h:{i}")
got = p.execute()
assert got[:3000] == [f"v{i}".encode() for i in range(3000)]
assert got[3000:] == [{b"a": str(i).encode(), b"b": b"x" * (i % 40)} for i in range(500)]
assert rc.cluster_info()["cluster_state"] == "ok"
print("ok")
`;

let nodes: TestServer[] = [];
beforeAll(async () => {
  nodes = await Promise.all([0, 1, 2].map((i) => startClusterNode(i)));
  await createCluster(nodes);
});
afterAll(async () => {
  for (const n of nodes) await n[Symbol.asyncDispose]();
});

test("redis-py RedisCluster round-trips thousands of strings and hashes", async () => {
  const probe = Bun.spawnSync([PYTHON, "-c", "import redis.cluster"]);
  expect(probe.exitCode, "redis-py is missing: apt-get install -y python3-redis").toBe(0);
  const proc = Bun.spawn([PYTHON, "-c", SCRIPT, String(nodes[2]!.port)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  expect(await proc.exited, err).toBe(0);
  expect(out.trim()).toBe("ok");
}, 60_000);
