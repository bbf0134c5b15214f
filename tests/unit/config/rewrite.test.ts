/**
 * CONFIG REWRITE's surgical TOML edit: values change in place, comments and layout survive,
 * missing keys land in the right table, and a result that would not load is never written.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../../src/config/index.ts";
import { rewriteConfigFile, rewriteConfigText } from "../../../src/config/rewrite.ts";

const shipped = readFileSync(join(import.meta.dir, "../../../config.toml"), "utf8");

test("an existing key's value is replaced in place and every comment survives", () => {
  const out = rewriteConfigText(shipped, [
    { key: "batch_size", value: "77", type: "integer" },
    { key: "sqlite.synchronous", value: "FULL", type: "string" },
  ]);
  expect(out).toContain("\nbatch_size = 77\n");
  expect(out).toContain('\nsynchronous = "FULL"\n');
  const comments = (t: string) => t.split("\n").filter((l) => l.trimStart().startsWith("#"));
  expect(comments(out)).toEqual(comments(shipped));
  expect(out.split("\n").length).toBe(shipped.split("\n").length);
  const config = parseConfig(out, "config.toml");
  expect(config.batchSize).toBe(77);
  expect(config.sqlite.synchronous).toBe("FULL");
});

test("a trailing comment on the line is kept, even after a string holding #", () => {
  const text = 'data_dir = "./d#1"  # where\nnum_shards = 2 # two\n';
  const out = rewriteConfigText(text, [
    { key: "data_dir", value: "/x", type: "string" },
    { key: "num_shards", value: "3", type: "integer" },
  ]);
  expect(out).toBe('data_dir = "/x" # where\nnum_shards = 3 # two\n');
});

test("a missing key is added inside its table, a missing table at the end, a top-level key before the first table", () => {
  const text =
    'data_dir = "d"\nnum_shards = 1\n\n[sqlite]\n# cache\ncache_size_mb = 4\n\n[metrics]\nenabled = false\n';
  const out = rewriteConfigText(text, [
    { key: "sqlite.busy_timeout_ms", value: "9", type: "integer" },
    { key: "async_write", value: "yes", type: "boolean" },
    { key: "storage_compression.enabled", value: "true", type: "boolean" },
  ]);
  expect(out).toBe(
    'data_dir = "d"\nnum_shards = 1\nasync_write = true\n\n[sqlite]\n# cache\ncache_size_mb = 4\nbusy_timeout_ms = 9\n\n[metrics]\nenabled = false\n\n[storage_compression]\nenabled = true\n',
  );
  const config = parseConfig(out, "c.toml");
  expect(config.sqlite.busyTimeoutMs).toBe(9);
  expect(config.asyncWrite).toBe(true);
  expect(config.storageCompression.enabled).toBe(true);
});

test("a key of the same name in another table is left alone", () => {
  const text = "[metrics]\nenabled = false\n[cluster]\nenabled = false\n";
  expect(rewriteConfigText(text, [{ key: "cluster.enabled", value: "yes", type: "boolean" }])).toBe(
    "[metrics]\nenabled = false\n[cluster]\nenabled = true\n",
  );
});

test("the file is replaced atomically, and a result that would not load is refused untouched", () => {
  const dir = mkdtempSync(join(tmpdir(), "blobasaur-rewrite-"));
  try {
    const path = join(dir, "c.toml");
    writeFileSync(path, '# mine\ndata_dir = "d"\nnum_shards = 2\n');
    rewriteConfigFile(path, [{ key: "num_shards", value: "3", type: "integer" }]);
    expect(readFileSync(path, "utf8")).toBe('# mine\ndata_dir = "d"\nnum_shards = 3\n');
    expect(() =>
      rewriteConfigFile(path, [{ key: "num_shards", value: "0", type: "integer" }]),
    ).toThrow("num_shards = 0 is out of range");
    expect(readFileSync(path, "utf8")).toBe('# mine\ndata_dir = "d"\nnum_shards = 3\n');
    expect(readdirSync(dir)).toEqual(["c.toml"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
