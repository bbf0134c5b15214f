import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { BUN, freePort, ROOT, startProcess, writeConfig } from "../helpers/process.ts";
import { rawExchange, tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir("blobasaur-cli-");
  dirs.push(d);
  return d;
}

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  return { code: await proc.exited, out: out + err };
}

test("--help describes the serve command and the --config option", async () => {
  const { code, out } = await run(["--help"]);
  expect(code).toBe(0);
  expect(out).toContain("serve");
  expect(out).toContain("--config");
});

test("serve --help works on the subcommand too", async () => {
  const { code, out } = await run(["serve", "--help"]);
  expect(code).toBe(0);
  expect(out).toContain("--config");
});

test("--version prints the package version", async () => {
  const { code, out } = await run(["--version"]);
  expect(code).toBe(0);
  expect(out.trim()).toBe((await Bun.file(join(ROOT, "package.json")).json()).version);
});

test("a bad config value exits non-zero naming the file, the key and what is allowed", async () => {
  const d = dir();
  const path = writeConfig(
    d,
    `data_dir = "${d}/data"\nnum_shards = 4\n[sqlite]\nsynchronous = "FAST"\n`,
  );
  const { code, out } = await run(["--config", path]);
  expect(code).not.toBe(0);
  expect(out).toContain(path);
  expect(out).toContain("sqlite.synchronous");
  expect(out).toContain("NORMAL");
});

test("an unknown config key exits non-zero with a suggestion", async () => {
  const d = dir();
  const path = writeConfig(d, `data_dir = "${d}/data"\nnum_shard = 4\n`);
  const { code, out } = await run(["serve", "-c", path]);
  expect(code).not.toBe(0);
  expect(out).toContain("num_shard");
  expect(out).toContain("num_shards");
});

test("a missing config file exits non-zero with the path", async () => {
  const { code, out } = await run(["--config", "/nonexistent/blobasaur.toml"]);
  expect(code).not.toBe(0);
  expect(out).toContain("/nonexistent/blobasaur.toml");
});

test("a data dir whose shard files don't match num_shards refuses to start", async () => {
  const d = dir();
  const port = freePort();
  const first = writeConfig(
    d,
    `data_dir = "${d}/data"\nnum_shards = 4\naddr = "127.0.0.1:${port}"\n`,
  );
  const server = await startProcess(["--config", first]);
  server.proc.kill("SIGTERM");
  expect(await server.proc.exited, server.output()).toBe(0);
  const second = writeConfig(
    d,
    `data_dir = "${d}/data"\nnum_shards = 2\naddr = "127.0.0.1:${port}"\n`,
    "two.toml",
  );
  const { code, out } = await run(["--config", second]);
  expect(code, out).not.toBe(0);
  expect(out).toContain("shard count mismatch");
  expect(out).toContain("shard_3.db");
});

test("SIGTERM exits 0 and every acknowledged write is back after a restart", async () => {
  const d = dir();
  const port = freePort();
  const path = writeConfig(
    d,
    `data_dir = "${d}/data"\nnum_shards = 4\naddr = "127.0.0.1:${port}"\n`,
  );
  const server = await startProcess(["serve", "--config", path]);
  expect(server.output()).toContain(`127.0.0.1:${port}`);
  expect(server.output()).toContain("4 shard(s)");
  const client = new Redis({ port, lazyConnect: true });
  await client.connect();
  const acked: string[] = [];
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 2000; i++) {
    writes.push(client.set(`k${i}`, `v${i}`).then(() => acked.push(`k${i}`)));
  }
  await Promise.all(writes);
  client.disconnect();
  server.proc.kill("SIGTERM");
  expect(await server.proc.exited).toBe(0);
  expect(server.output()).toContain("stopped cleanly");

  const again = await startProcess(["--config", path, "serve"]);
  const reader = new Redis({ port, lazyConnect: true });
  await reader.connect();
  const values = await reader.mget(...acked);
  expect(values.every((v, i) => v === `v${acked[i]!.slice(1)}`)).toBe(true);
  expect(await reader.dbsize()).toBe(2000);
  reader.disconnect();
  again.proc.kill("SIGINT");
  expect(await again.proc.exited).toBe(0);
});

test("a second server on the same data dir refuses to start", async () => {
  const d = dir();
  const path = writeConfig(
    d,
    `data_dir = "${d}/data"\nnum_shards = 2\naddr = "127.0.0.1:${freePort()}"\n`,
  );
  const server = await startProcess(["--config", path]);
  const other = writeConfig(
    d,
    `data_dir = "${d}/data"\nnum_shards = 2\naddr = "127.0.0.1:${freePort()}"\n`,
    "b.toml",
  );
  const { code, out } = await run(["--config", other]);
  expect(code).not.toBe(0);
  expect(out).toContain("in use");
  server.proc.kill("SIGTERM");
  expect(await server.proc.exited).toBe(0);
});

test("in async mode SIGTERM commits every acknowledged write before exiting", async () => {
  const d = dir();
  const port = freePort();
  // A long batch window keeps the acknowledged writes queued when the signal arrives.
  const path = writeConfig(
    d,
    `data_dir = "${d}/data"\nnum_shards = 3\naddr = "127.0.0.1:${port}"\nasync_write = true\nbatch_timeout_ms = 2000\n`,
  );
  const server = await startProcess(["--config", path]);
  const client = new Redis({ port, lazyConnect: true });
  await client.connect();
  const p = client.pipeline();
  for (let i = 0; i < 500; i++) p.set(`a${i}`, `v${i}`);
  const results = await p.exec();
  expect(results!.every(([err, ok]) => err === null && ok === "OK")).toBe(true);
  client.disconnect();
  server.proc.kill("SIGTERM");
  expect(await server.proc.exited).toBe(0);

  const again = await startProcess(["--config", path]);
  const reader = new Redis({ port, lazyConnect: true });
  await reader.connect();
  expect(await reader.dbsize()).toBe(500);
  expect(await reader.get("a499")).toBe("v499");
  reader.disconnect();
  again.proc.kill("SIGTERM");
  expect(await again.proc.exited).toBe(0);
});

test("SHUTDOWN closes the connection without a reply, commits, and the process exits 0", async () => {
  const d = dir();
  const port = freePort();
  const path = writeConfig(
    d,
    `data_dir = "${d}/data"\nnum_shards = 2\naddr = "127.0.0.1:${port}"\n`,
  );
  const server = await startProcess(["--config", path]);
  const { data, closed } = await rawExchange(port, "SET kept yes\r\nSHUTDOWN\r\n", {
    quietMs: 2000,
  });
  expect(data.toString()).toBe("+OK\r\n");
  expect(closed).toBe(true);
  expect(await server.proc.exited).toBe(0);
  const again = await startProcess(["--config", path]);
  const reader = new Redis({ port, lazyConnect: true });
  await reader.connect();
  expect(await reader.get("kept")).toBe("yes");
  reader.disconnect();
  again.proc.kill("SIGTERM");
  expect(await again.proc.exited).toBe(0);
});

test("running out of file descriptors does not take the server down", async () => {
  const d = dir();
  const port = freePort();
  const path = writeConfig(
    d,
    `data_dir = "${d}/data"\nnum_shards = 2\naddr = "127.0.0.1:${port}"\n`,
  );
  // 80 descriptors: SQLite, the listener and a few dozen clients exhaust them.
  const server = await startProcess(
    [],
    ["bash", "-c", `ulimit -n 80; exec "${BUN}" "${join(ROOT, "src/main.ts")}" --config "${path}"`],
  );
  const sockets = await Promise.all(
    Array.from({ length: 150 }, () =>
      Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, error() {} } }).catch(
        () => null,
      ),
    ),
  );
  await Bun.sleep(200);
  for (const s of sockets) s?.end();
  await Bun.sleep(300);
  const client = new Redis({ port, lazyConnect: true });
  await client.connect();
  expect(await client.set("after", "ok")).toBe("OK");
  expect(await client.get("after")).toBe("ok");
  client.disconnect();
  server.proc.kill("SIGTERM");
  expect(await server.proc.exited).toBe(0);
});
