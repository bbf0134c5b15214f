/**
 * Test helpers for the offline tools (shard migrate, backup, import): a data set of plain keys
 * and namespaced fields with TTLs written through a real server with ioredis (pipelined), and a
 * check that every key, field, value and absolute expiry is served back exactly; plus a CLI
 * runner that returns exit code, stdout and stderr.
 */
import { expect } from "bun:test";
import { join } from "node:path";
import Redis from "ioredis";
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
  expect(await redis.dbsize()).toBe(data.keys.size);
  const perNs = new Map<string, number>();
  for (const f of data.fields.values()) perNs.set(f.ns, (perNs.get(f.ns) ?? 0) + 1);
  for (const [ns, n] of perNs) expect(await redis.hlen(ns)).toBe(n);
}

/** Rows a migration reports: live keys plus live fields. */
export function rowCount(data: Dataset): number {
  return data.keys.size + data.fields.size;
}
