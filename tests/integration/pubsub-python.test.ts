/**
 * redis-py (Debian's python3-redis, RESP2) runs tests/python/pubsub_features.py against
 * redis-server and against us: pub/sub, keyspace notifications, client tracking with
 * REDIRECT and BCAST, CLIENT PAUSE/UNPAUSE. The two transcripts must be identical.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer } from "../helpers/server.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(import.meta.dir, "..", "python", "pubsub_features.py");

async function transcript(where: string): Promise<string> {
  const proc = Bun.spawn([PYTHON, SCRIPT, where], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  expect(await proc.exited, err).toBe(0);
  return out;
}

test("redis-py sees the same pub/sub, notifications, tracking and pause as with Redis", async () => {
  const probe = Bun.spawnSync([PYTHON, "-c", "import redis"]);
  expect(probe.exitCode, "redis-py is missing: apt-get install -y python3-redis").toBe(0);
  await using server = await startTestServer();
  await using ref = await startRedisRef();
  const [ours, theirs] = await Promise.all([
    transcript(String(server.port)),
    transcript(ref.socket),
  ]);
  expect(ours.trim().endsWith("ok")).toBe(true);
  expect(ours).toBe(theirs);
}, 20_000);
