import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { migrationInProgress } from "../../src/storage/maintenance/migrate.ts";
import {
  checkDataset,
  configFor,
  type Dataset,
  fillDataset,
  migratedText,
  runCli,
  startServer,
} from "../helpers/dataset.ts";
import { tempDir } from "../helpers/server.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir("blobasaur-migrate-");
  dirs.push(d);
  return d;
}

const shardFiles = (dataDir: string) =>
  readdirSync(dataDir)
    .filter((n) => /^shard_\d+\.db$/.test(n))
    .sort();

/** Starts a server on `dataDir` with `shards` shards, checks the data set, stops it. */
async function expectServed(
  base: string,
  dataDir: string,
  shards: number,
  data: Dataset,
): Promise<void> {
  const { path, port } = configFor(base, dataDir, shards, `serve-${shards}.toml`);
  const server = await startServer(path, port);
  try {
    await checkDataset(server.redis, data);
  } finally {
    await server.stop();
  }
}

// A small 4-shard data dir written once by a real server; crash tests work on copies of it.
let small: { base: string; dataDir: string; data: Dataset };
beforeAll(async () => {
  const base = dir();
  const dataDir = join(base, "data");
  const { path, port } = configFor(base, dataDir, 4);
  const server = await startServer(path, port);
  const data = await fillDataset(server.redis, 3000, 600);
  await server.stop();
  small = { base, dataDir, data };
});

function copyOfSmall(): { base: string; dataDir: string } {
  const base = dir();
  const dataDir = join(base, "data");
  cpSync(small.dataDir, dataDir, { recursive: true });
  return { base, dataDir };
}

test("migrating 4 -> 8 -> 3 shards with --verify keeps every key, field, value and TTL", async () => {
  const base = dir();
  const dataDir = join(base, "data");
  const { path, port } = configFor(base, dataDir, 4);
  const server = await startServer(path, port);
  const data = await fillDataset(server.redis, 20_000, 3000);
  await server.stop();

  const up = await runCli(["shard", "migrate", "4", "8", "--verify", "--config", path]);
  expect(up.err).toContain("rows/s");
  expect(up.code).toBe(0);
  expect(up.out).toContain(migratedText(data));
  expect(up.err).toContain("set num_shards = 8");
  expect(shardFiles(dataDir)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => `shard_${i}.db`).sort());
  expect(existsSync(join(dataDir, "MIGRATING"))).toBe(false);
  await expectServed(base, dataDir, 8, data);

  // Global --config before the subcommand, data dir from --data-dir; scaling down.
  const down = await runCli([
    "--config",
    path,
    "shard",
    "migrate",
    "8",
    "3",
    "--data-dir",
    dataDir,
    "--verify",
  ]);
  expect(down.code).toBe(0);
  expect(down.out).toContain(migratedText(data));
  expect(shardFiles(dataDir)).toEqual(["shard_0.db", "shard_1.db", "shard_2.db"]);
  // Only the latest backup is kept.
  expect(readdirSync(dataDir).filter((n) => n.startsWith(".migrate-backup-"))).toHaveLength(1);
  await expectServed(base, dataDir, 3, data);
}, 60_000);

test("migrate refuses while a server uses the data dir, naming the lock file", async () => {
  const { base, dataDir } = copyOfSmall();
  const { path, port } = configFor(base, dataDir, 4);
  const server = await startServer(path, port);
  try {
    const res = await runCli(["shard", "migrate", "4", "8", "-c", path]);
    expect(res.code).toBe(1);
    expect(res.err).toContain("in use by a running blobasaur process");
    expect(res.err).toContain(join(dataDir, "blobasaur.lock"));
    expect(shardFiles(dataDir)).toHaveLength(4);
  } finally {
    await server.stop();
  }
});

test("a migration killed while copying leaves the old layout, and a rerun completes", async () => {
  const { base, dataDir } = copyOfSmall();
  const crashed = await runCli(["shard", "migrate", "4", "8", "--data-dir", dataDir], {
    BLOBASAUR_TEST_CRASH: "copy:1000",
  });
  expect(crashed.signal).toBe("SIGKILL");
  expect(shardFiles(dataDir)).toEqual(["shard_0.db", "shard_1.db", "shard_2.db", "shard_3.db"]);
  expect(migrationInProgress(dataDir)).toBeNull();
  const rerun = await runCli(["shard", "migrate", "4", "8", "--data-dir", dataDir]);
  expect(rerun.code).toBe(0);
  expect(rerun.out).toContain(migratedText(small.data));
  expect(readdirSync(dataDir).filter((n) => /^\.migrate-\d+-to-\d+$/.test(n))).toEqual([]);
  await expectServed(base, dataDir, 8, small.data);
}, 30_000);

test("a migration killed mid-swap is refused by the server and finished by a rerun", async () => {
  const { base, dataDir } = copyOfSmall();
  const crashed = await runCli(["shard", "migrate", "4", "8", "--data-dir", dataDir], {
    BLOBASAUR_TEST_CRASH: "swap:2",
  });
  expect(crashed.signal).toBe("SIGKILL");
  expect(migrationInProgress(dataDir)).toContain("shard migrate 4 8");
  const { path } = configFor(base, dataDir, 4, "old.toml");
  const refused = await runCli(["--config", path]);
  expect(refused.code).not.toBe(0);
  expect(refused.err).toContain("interrupted shard migration");
  const wrongCounts = await runCli(["shard", "migrate", "4", "5", "--data-dir", dataDir]);
  expect(wrongCounts.code).toBe(1);
  expect(wrongCounts.err).toContain("interrupted migration 4 -> 8");
  const rerun = await runCli(["shard", "migrate", "4", "8", "--data-dir", dataDir]);
  expect(rerun.code).toBe(0);
  expect(rerun.out).toContain("finished an interrupted swap");
  expect(migrationInProgress(dataDir)).toBeNull();
  expect(shardFiles(dataDir)).toHaveLength(8);
  await expectServed(base, dataDir, 8, small.data);
}, 30_000);

test("--rollback after a crash while moving the new files in restores the old layout", async () => {
  const { base, dataDir } = copyOfSmall();
  const crashed = await runCli(["shard", "migrate", "4", "2", "--data-dir", dataDir], {
    BLOBASAUR_TEST_CRASH: "swap:5",
  });
  expect(crashed.signal).toBe("SIGKILL");
  expect(migrationInProgress(dataDir)).not.toBeNull();
  const rollback = await runCli(["shard", "migrate", "--rollback", "--data-dir", dataDir]);
  expect(rollback.code).toBe(0);
  expect(rollback.err).toContain("rolled back");
  expect(migrationInProgress(dataDir)).toBeNull();
  expect(shardFiles(dataDir)).toEqual(["shard_0.db", "shard_1.db", "shard_2.db", "shard_3.db"]);
  await expectServed(base, dataDir, 4, small.data);
  const again = await runCli(["shard", "migrate", "--rollback", "--data-dir", dataDir]);
  expect(again.code).toBe(0);
  expect(again.err).toContain("nothing to roll back");
}, 30_000);

test("bad arguments exit 2 and failures exit 1 with the path", async () => {
  const d = dir();
  const cases: [string[], string][] = [
    [["shard", "migrate", "4", "4", "-d", d], "no migration needed"],
    [["shard", "migrate", "0", "4", "-d", d], "old shard count"],
    [["shard", "migrate", "four", "8", "-d", d], "old shard count"],
    [["shard", "migrate", "4", "-d", d], "usage"],
    [["shard", "migrate", "4", "8", "-d", d, "--fast"], "unknown option --fast"],
    [["shard", "migrate", "4", "8", "--config", join(d, "missing.toml")], join(d, "missing.toml")],
  ];
  for (const [args, text] of cases) {
    const res = await runCli(args);
    expect({ args, code: res.code }).toEqual({ args, code: 2 });
    expect(res.err).toContain(text);
  }
  const missing = await runCli(["shard", "migrate", "4", "8", "-d", d]);
  expect(missing.code).toBe(1);
  expect(missing.err).toContain(join(d, "shard_0.db"));
});
