/**
 * Test helpers for the offline tools (shard migrate, backup, import): a data set of plain keys
 * and hash fields with TTLs written through a real server with ioredis (pipelined), and a
 * check that every key, field, value and absolute expiry is served back exactly; plus a CLI
 * runner that returns exit code, stdout and stderr.
 */
import { Database } from "bun:sqlite";
import { expect } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync } from "node:zlib";
import Redis from "ioredis";
import { compressFrameSync } from "lz4-napi";
import { BUN, freePort, ROOT, type Running, startProcess, writeConfig } from "./process.ts";

export interface CliResult {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
}

export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const [out, err] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  await proc.exited;
  return {
    code: proc.exitCode,
    signal: proc.signalCode === null ? null : String(proc.signalCode),
    out,
    err,
  };
}

/** A config file for `dataDir` with `shards` shards on a free port. */
export function configFor(
  dir: string,
  dataDir: string,
  shards: number,
  name = "config.toml",
): { path: string; port: number } {
  const port = freePort();
  const path = writeConfig(
    dir,
    `data_dir = "${dataDir}"\nnum_shards = ${shards}\naddr = "127.0.0.1:${port}"\n`,
    name,
  );
  return { path, port };
}

export interface Server {
  running: Running;
  redis: Redis;
  stop(): Promise<void>;
}

export async function startServer(configPath: string, port: number): Promise<Server> {
  const running = await startProcess(["--config", configPath]);
  const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await redis.connect();
  return {
    running,
    redis,
    async stop() {
      redis.disconnect();
      running.proc.kill("SIGTERM");
      expect(await running.proc.exited).toBe(0);
    },
  };
}

/** Expected content: id -> value and absolute expiry (ms, -1 = none). */
export interface Dataset {
  keys: Map<string, { key: Buffer; value: Buffer; expiresAt: number }>;
  fields: Map<string, { ns: string; field: Buffer; value: Buffer; expiresAt: number }>;
}

const CHUNK = 5000;

/**
 * Writes `keys` keys (every 7th with a TTL, one binary key) and `fields` fields spread over the
 * namespaces `users`, `Users` and `items` (every 5th with a field TTL), plus a few keys that
 * expire at once and must not survive. Returns what the server reports back.
 */
export async function fillDataset(
  redis: Redis,
  keys: number,
  fields: number,
  prefix = "key",
): Promise<Dataset> {
  const data: Dataset = { keys: new Map(), fields: new Map() };
  for (let i = 0; i < keys; i++) {
    const key = i === 0 ? Buffer.from([0xff, 0xfe, 0x00, 0x01]) : Buffer.from(`${prefix}:${i}`);
    const value =
      i === 1 ? Buffer.from([0, 1, 2, 255, 254]) : Buffer.from(`value-${i}-${"x".repeat(i % 50)}`);
    data.keys.set(key.toString("latin1"), { key, value, expiresAt: -1 });
  }
  const nsNames = ["users", "Users", "items"];
  for (let i = 0; i < fields; i++) {
    const ns = nsNames[i % 3]!;
    const field = Buffer.from(`f${i}`);
    data.fields.set(`${ns}\0f${i}`, {
      ns,
      field,
      value: Buffer.from(`${ns}-field-${i}`),
      expiresAt: -1,
    });
  }
  const entries = [...data.keys.values()];
  for (let at = 0; at < entries.length; at += CHUNK) {
    const pipe = redis.pipeline();
    entries.slice(at, at + CHUNK).forEach((e, j) => {
      const i = at + j;
      if (i % 7 === 3) pipe.set(e.key, e.value, "PX", 3_600_000 + i);
      else pipe.set(e.key, e.value);
    });
    await pipe.exec();
  }
  const fieldEntries = [...data.fields.values()];
  for (let at = 0; at < fieldEntries.length; at += CHUNK) {
    const pipe = redis.pipeline();
    fieldEntries.slice(at, at + CHUNK).forEach((f, j) => {
      pipe.hset(f.ns, f.field, f.value);
      if ((at + j) % 5 === 2) pipe.call("hpexpire", f.ns, 7_200_000 + at + j, "FIELDS", 1, f.field);
    });
    await pipe.exec();
  }
  const gone = redis.pipeline();
  for (let i = 0; i < 10; i++) gone.set(`gone:${i}`, "x", "PX", 1);
  gone.hset("users", "gone-field", "x");
  gone.call("hpexpire", "users", 1, "FIELDS", 1, "gone-field");
  await gone.exec();
  await Bun.sleep(5);
  await readExpiries(redis, data);
  return data;
}

/** Records the server's absolute expiries (PEXPIRETIME / HPEXPIRETIME) into the data set. */
async function readExpiries(redis: Redis, data: Dataset): Promise<void> {
  const keys = [...data.keys.values()];
  for (let at = 0; at < keys.length; at += CHUNK) {
    const pipe = redis.pipeline();
    for (const e of keys.slice(at, at + CHUNK)) pipe.pexpiretime(e.key);
    const res = (await pipe.exec())!;
    keys.slice(at, at + CHUNK).forEach((e, j) => {
      e.expiresAt = Number(res[j]![1]);
    });
  }
  const fields = [...data.fields.values()];
  for (let at = 0; at < fields.length; at += CHUNK) {
    const pipe = redis.pipeline();
    for (const f of fields.slice(at, at + CHUNK))
      pipe.call("hpexpiretime", f.ns, "FIELDS", 1, f.field);
    const res = (await pipe.exec())!;
    fields.slice(at, at + CHUNK).forEach((f, j) => {
      f.expiresAt = Number((res[j]![1] as number[])[0]);
    });
  }
}

/**
 * Every key and field is served with its value and exact absolute expiry; PTTL agrees. With
 * `exact`, nothing else is stored either.
 */
export async function checkDataset(redis: Redis, data: Dataset, exact = true): Promise<void> {
  const keys = [...data.keys.values()];
  let mismatches = 0;
  for (let at = 0; at < keys.length; at += CHUNK) {
    const slice = keys.slice(at, at + CHUNK);
    const pipe = redis.pipeline();
    for (const e of slice) pipe.getBuffer(e.key).pexpiretime(e.key).pttl(e.key);
    const res = (await pipe.exec())!;
    slice.forEach((e, j) => {
      const value = res[3 * j]![1] as Buffer | null;
      const expiresAt = Number(res[3 * j + 1]![1]);
      const pttl = Number(res[3 * j + 2]![1]);
      const ttlOk =
        e.expiresAt === -1 ? pttl === -1 : Math.abs(e.expiresAt - Date.now() - pttl) < 5000;
      if (value === null || !value.equals(e.value) || expiresAt !== e.expiresAt || !ttlOk)
        mismatches++;
    });
  }
  const fields = [...data.fields.values()];
  for (let at = 0; at < fields.length; at += CHUNK) {
    const slice = fields.slice(at, at + CHUNK);
    const pipe = redis.pipeline();
    for (const f of slice)
      pipe.hgetBuffer(f.ns, f.field).call("hpexpiretime", f.ns, "FIELDS", 1, f.field);
    const res = (await pipe.exec())!;
    slice.forEach((f, j) => {
      const value = res[2 * j]![1] as Buffer | null;
      const expiresAt = Number((res[2 * j + 1]![1] as number[])[0]);
      if (value === null || !value.equals(f.value) || expiresAt !== f.expiresAt) mismatches++;
    });
  }
  expect(mismatches).toBe(0);
  expect(await redis.exists("gone:0", "gone:9")).toBe(0);
  expect(await redis.hexists("users", "gone-field")).toBe(0);
  if (!exact) return;
  const perNs = new Map<string, number>();
  for (const f of data.fields.values()) perNs.set(f.ns, (perNs.get(f.ns) ?? 0) + 1);
  // Every hash is a key too (storage format 2), as in Redis.
  expect(await redis.dbsize()).toBe(data.keys.size + perNs.size);
  for (const [ns, n] of perNs) expect(await redis.hlen(ns)).toBe(n);
}

/**
 * What `shard migrate` reports for a data set: every string and every hash is a key; fields
 * are counted as rows only for large hashes (> 128 fields here; the values are short).
 */
export function migratedText(data: Dataset): string {
  const perNs = new Map<string, number>();
  for (const f of data.fields.values()) perNs.set(f.ns, (perNs.get(f.ns) ?? 0) + 1);
  let fields = 0;
  for (const n of perNs.values()) if (n > 128) fields += n;
  return `migrated ${data.keys.size + perNs.size} key(s) and ${fields} field(s) of large hashes`;
}

// ---- Rust-format fixtures (import) ---------------------------------------------------

export type Codec = "none" | "gzip" | "zstd" | "lz4" | "brotli";
const compressors: Record<Codec, (b: Uint8Array) => Uint8Array> = {
  none: (b) => b,
  gzip: (b) => Bun.gzipSync(b as Uint8Array<ArrayBuffer>),
  zstd: (b) => Bun.zstdCompressSync(b as Uint8Array<ArrayBuffer>),
  lz4: (b) => compressFrameSync(Buffer.from(b)),
  brotli: (b) => brotliCompressSync(b),
};

export interface RustRow {
  table: string;
  key: string;
  value: Buffer;
  created: number;
  updated: number;
  expires: number | null;
  version: number;
}

const RUST_SHARDS = 3;

/** Shard files as the Rust server creates them (WAL, incremental auto-vacuum), created here. */
export function rustShards(dirPath: string, n = RUST_SHARDS): Database[] {
  mkdirSync(dirPath, { recursive: true });
  return Array.from({ length: n }, (_, i) => {
    const db = new Database(join(dirPath, `shard_${i}.db`), { create: true });
    db.run("PRAGMA auto_vacuum = INCREMENTAL");
    db.run("PRAGMA journal_mode = WAL");
    return db;
  });
}

/** One row in a Rust shard file, its value compressed with `codec`; the table is made on first use. */
export function insertRust(db: Database, r: RustRow, codec: Codec): void {
  insertRustRaw(db, r, compressors[codec](r.value));
}

function insertRustRaw(db: Database, r: RustRow, data: Uint8Array): void {
  const idx = r.table === "blobs" ? "idx_expires_at" : `idx_${r.table.slice(6)}_expires_at`;
  db.run(`CREATE TABLE IF NOT EXISTS ${r.table} (key TEXT PRIMARY KEY, data BLOB, created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL, expires_at INTEGER, version INTEGER NOT NULL DEFAULT 0)`);
  db.run(
    `CREATE INDEX IF NOT EXISTS ${idx} ON ${r.table}(expires_at) WHERE expires_at IS NOT NULL`,
  );
  db.query(`INSERT INTO ${r.table} VALUES (?, ?, ?, ?, ?, ?)`).run(
    r.key,
    data,
    r.created,
    r.updated,
    r.expires,
    r.version,
  );
}

/**
 * A data dir as the Rust server writes it: `data` column, seconds, bare codec streams (the
 * codec chosen per row by `codecOf`). Returns the live rows expected after import.
 */
export function writeRustDir(dirPath: string, codecOf: (i: number) => Codec): RustRow[] {
  mkdirSync(dirPath, { recursive: true });
  const now = Math.floor(Date.now() / 1000);
  const rows: (RustRow & { shard: number })[] = [];
  for (let i = 0; i < 300; i++) {
    rows.push({
      table: "blobs",
      key: i === 7 ? "lossy\uFFFDkey" : `rk:${i}`,
      value: Buffer.from(`rust-value-${i}-${"abc".repeat(30)}`),
      created: now - 100,
      updated: now - 50,
      expires: i % 4 === 0 ? now + 3600 + i : null,
      version: i % 3,
      shard: i % RUST_SHARDS,
    });
  }
  for (let i = 0; i < 60; i++) {
    // `Users` in shards 0 and 1, `users` in shard 2: the Rust server's one case-folded table.
    const shard = i % RUST_SHARDS;
    const table = i % 2 === 0 ? (shard === 2 ? "blobs_users" : "blobs_Users") : "blobs_items";
    rows.push({
      table,
      key: `uf${i}`,
      value: Buffer.from(`field-${i}-${"xyz".repeat(20)}`),
      created: now - 10,
      updated: now - 5,
      expires: i % 5 === 0 ? now + 7200 : null,
      version: 1,
      shard,
    });
  }
  const dbs = rustShards(dirPath);
  const insert = (db: Database, r: RustRow, data: Uint8Array) => insertRustRaw(db, r, data);
  rows.forEach((r, i) => {
    insertRust(dbs[r.shard]!, r, codecOf(i));
  });
  // Dropped: an expired row. Deduplicated: a key left in two shards by a failed Rust migration.
  insert(
    dbs[0]!,
    {
      table: "blobs",
      key: "expired",
      value: Buffer.from("x"),
      created: now - 9,
      updated: now - 9,
      expires: now - 1,
      version: 0,
    },
    compressors[codecOf(0)](Buffer.from("x")),
  );
  const dupOld = {
    table: "blobs",
    key: "dup",
    value: Buffer.from("old copy"),
    created: now - 9,
    updated: now - 9,
    expires: null,
    version: 0,
  };
  const dupNew = { ...dupOld, value: Buffer.from("new copy"), updated: now - 1, version: 1 };
  insert(dbs[1]!, dupOld, compressors[codecOf(1)](dupOld.value));
  insert(dbs[2]!, dupNew, compressors[codecOf(2)](dupNew.value));
  for (const db of dbs) db.close();
  return [...rows, dupNew];
}
