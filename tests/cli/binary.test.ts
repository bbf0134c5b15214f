import { expect, test } from "bun:test";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { BUN, freePort, ROOT, startProcess, writeConfig } from "../helpers/process.ts";
import { tempDir } from "../helpers/server.ts";

test("the compiled single-file binary serves a real client from another directory", async () => {
  const dir = tempDir("blobasaur-bin-");
  try {
    const binary = join(dir, "blobasaur");
    const build = Bun.spawnSync(
      [
        BUN,
        "build",
        join(ROOT, "src/main.ts"),
        // Every Worker entry lives in src/storage/workers/, as in package.json's build script.
        ...readdirSync(join(ROOT, "src/storage/workers"))
          .filter((name) => name.endsWith("-worker.ts"))
          .map((name) => join(ROOT, "src/storage/workers", name)),
        "--compile",
        "--outfile",
        binary,
      ],
      {
        cwd: ROOT,
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(build.exitCode, build.stderr.toString()).toBe(0);
    const port = freePort();
    const config = writeConfig(
      dir,
      // FULL makes writes go through the fsync Worker: every Worker must load in the binary.
      `data_dir = "${dir}/data"\nnum_shards = 3\naddr = "127.0.0.1:${port}"\n[sqlite]\nsynchronous = "FULL"\n`,
    );
    const server = await startProcess(["--config", config], [binary], dir);
    const client = new Redis({ port, lazyConnect: true });
    await client.connect();
    const value = Buffer.alloc(100_000, 7);
    expect(await client.set("blob", value)).toBe("OK");
    expect(Buffer.compare((await client.getBuffer("blob"))!, value)).toBe(0);
    client.disconnect();
    // The Workers are separate entry points of the binary: they must load inside it.
    const deadline = Date.now() + 10_000;
    while (!server.output().includes("prewarm: read") && Date.now() < deadline) await Bun.sleep(20);
    expect(server.output()).toContain("prewarm: read");
    expect(server.output()).not.toContain("unavailable");
    expect(server.output()).not.toContain("worker failed");
    server.proc.kill("SIGTERM");
    expect(await server.proc.exited).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
