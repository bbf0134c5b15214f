import { expect, test } from "bun:test";
import { join } from "node:path";
import { startTestServer } from "../helpers/server.ts";

// redis-py comes from Debian's python3-redis package (.ci/run installs it); PyPI is not used.
const PYTHON = "/usr/bin/python3";

test("redis-py runs the Quick Start session, pipelines, SCAN and binary values unchanged", async () => {
  const probe = Bun.spawnSync([PYTHON, "-c", "import redis"]);
  expect(probe.exitCode, "redis-py is missing: apt-get install -y python3-redis").toBe(0);
  await using server = await startTestServer();
  const proc = Bun.spawn(
    [PYTHON, join(import.meta.dir, "..", "python", "quickstart.py"), String(server.port)],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [out, err] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  expect(await proc.exited, err).toBe(0);
  expect(out.trim()).toBe("ok");
});
