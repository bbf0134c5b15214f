/**
 * Large values across process boundaries: a server killed with SIGKILL in the middle of an
 * upload leaves no value and no file once restarted (while values stored before survive),
 * `shard migrate` moves only rows so large values stay readable under the new layout, an
 * online backup carries the files its snapshots reference, and the server's own RSS (read
 * from /proc, so test-process noise cannot hide a buffered value) stays bounded during an
 * upload and while a reader does not read.
 */
import { expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import Redis from "ioredis";
import { runCli } from "../helpers/dataset.ts";
import { freePort, startProcess, writeConfig } from "../helpers/process.ts";
import { tempDir } from "../helpers/server.ts";

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function config(dir: string, port: number, shards: number): string {
  return writeConfig(
    dir,
    `data_dir = "${join(dir, "data")}"\nnum_shards = ${shards}\naddr = "127.0.0.1:${port}"\nlarge_value_threshold_kb = 64\n`,
  );
}

function files(dir: string, sub = ""): string[] {
  const d = join(dir, "data", "large", sub);
  return existsSync(d) ? readdirSync(d).filter((n) => n !== "tmp") : [];
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await Bun.sleep(20);
  }
}

test("a server killed with SIGKILL mid-upload leaves no trace after restart; stored values survive", async () => {
  const dir = tempDir();
  try {
    const port = freePort();
    const path = config(dir, port, 4);
    const first = await startProcess(["--config", path]);
    const kept = randomBytes(3 * MiB);
    const r = new Redis(port);
    expect(await r.set("kept", kept)).toBe("OK");
    r.disconnect();
    const sock = connect(port, "127.0.0.1");
    sock.on("error", () => {});
    await new Promise<void>((res) => sock.once("connect", () => res()));
    sock.write(`*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$${16 * MiB}\r\n`);
    sock.write(randomBytes(5 * MiB));
    await until(() => files(dir, "tmp").length === 1);
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    sock.destroy();
    expect(files(dir, "tmp")).toHaveLength(1);
    const second = await startProcess(["--config", path]);
    try {
      expect(files(dir, "tmp")).toHaveLength(0);
      expect(files(dir)).toHaveLength(1);
      const r2 = new Redis(port);
      expect(await r2.exists("half")).toBe(0);
      expect(sha((await r2.getBuffer("kept"))!)).toBe(sha(kept));
      r2.disconnect();
    } finally {
      second.proc.kill("SIGKILL");
      await second.proc.exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);

test("shard migrate moves rows only: large values stay readable under the new layout", async () => {
  const dir = tempDir();
  try {
    const port = freePort();
    const before = await startProcess(["--config", config(dir, port, 4)]);
    const values = new Map<string, Buffer>();
    const r = new Redis(port);
    for (let i = 0; i < 4; i++) {
      const v = randomBytes((1 + i) * 300 * 1024);
      values.set(`big:${i}`, v);
      await r.set(`big:${i}`, v);
    }
    await r.set("small", "s");
    // A large hash with a field kept in a file: its row moves, the file stays.
    const field = randomBytes(200 * 1024);
    await r.hset(
      "h",
      "big",
      field,
      ...Array.from({ length: 200 }, (_, i) => [`f${i}`, "v"]).flat(),
    );
    r.disconnect();
    before.proc.kill("SIGTERM");
    await before.proc.exited;
    const migrated = await runCli(["shard", "migrate", "4", "8", "--config", config(dir, port, 4)]);
    expect(migrated.code).toBe(0);
    const after = await startProcess(["--config", config(dir, port, 8)]);
    try {
      const r2 = new Redis(port);
      for (const [k, v] of values) expect(sha((await r2.getBuffer(k))!)).toBe(sha(v));
      expect(await r2.strlen("big:3")).toBe(4 * 300 * 1024);
      expect(await r2.get("small")).toBe("s");
      expect(sha((await r2.hgetBuffer("h", "big"))!)).toBe(sha(field));
      expect(await r2.hlen("h")).toBe(201);
      r2.disconnect();
      expect(files(dir)).toHaveLength(5);
    } finally {
      after.proc.kill("SIGKILL");
      await after.proc.exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test("an online backup holds the large values its snapshots reference, and restores whole", async () => {
  const dir = tempDir();
  try {
    const port = freePort();
    const path = config(dir, port, 4);
    const server = await startProcess(["--config", path]);
    const values = new Map<string, Buffer>();
    try {
      const r = new Redis(port);
      for (let i = 0; i < 3; i++) {
        const v = randomBytes(200 * 1024 + i);
        values.set(`big:${i}`, v);
        await r.set(`big:${i}`, v);
      }
      await r.set("gone", randomBytes(100 * 1024));
      await r.del("gone");
      // A hash field over the threshold is a file too (format 4): the backup holds it.
      const field = randomBytes(150 * 1024);
      values.set("field", field);
      await r.hset("h", "small", "x", "big", field);
      const backupDir = join(dir, "backup");
      const res = await runCli(["backup", "--to", backupDir, "--config", path]);
      expect(res.code).toBe(0);
      // Deleting after the backup must not take the backup's copy with it.
      await r.del("big:0");
      r.disconnect();
      expect(readdirSync(join(backupDir, "large")).sort()).toHaveLength(4);
    } finally {
      server.proc.kill("SIGTERM");
      await server.proc.exited;
    }
    const port2 = freePort();
    const restored = await startProcess([
      "--config",
      writeConfig(
        dir,
        `data_dir = "${join(dir, "backup")}"\nnum_shards = 4\naddr = "127.0.0.1:${port2}"\nlarge_value_threshold_kb = 64\n`,
        "restored.toml",
      ),
    ]);
    try {
      const r = new Redis(port2);
      for (const [k, v] of values)
        if (k !== "field") expect(sha((await r.getBuffer(k))!)).toBe(sha(v));
      expect(sha((await r.hgetBuffer("h", "big"))!)).toBe(sha(values.get("field")!));
      expect(await r.hget("h", "small")).toBe("x");
      expect(await r.exists("gone")).toBe(0);
      r.disconnect();
    } finally {
      restored.proc.kill("SIGKILL");
      await restored.proc.exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

/** VmRSS of a process in bytes. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/^VmRSS:\s+(\d+) kB/m)![1]) * 1024;
}

test("the server's RSS stays bounded while a 96 MiB value uploads, and while a reader does not read", async () => {
  const dir = tempDir();
  try {
    const port = freePort();
    const server = await startProcess(["--config", config(dir, port, 4)]);
    const pid = server.proc.pid;
    try {
      const block = randomBytes(MiB);
      const size = 96 * MiB;
      const whole = createHash("sha256");
      for (let i = 0; i < 96; i++) whole.update(block);
      const expected = whole.digest("hex");
      const base = rssOf(pid);
      let peak = base;
      const timer = setInterval(() => {
        peak = Math.max(peak, rssOf(pid));
      }, 5);
      try {
        const up = connect(port, "127.0.0.1");
        await new Promise<void>((res) => up.once("connect", () => res()));
        const ok = new Promise<string>((res) => up.once("data", (d) => res(d.toString())));
        up.write(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${size}\r\n`);
        for (let i = 0; i < 96; i++)
          if (!up.write(block)) await new Promise((r) => up.once("drain", r));
        up.write("\r\n");
        expect(await ok).toBe("+OK\r\n");
        up.destroy();
        // Buffering the value would grow the server by 96 MiB or more.
        expect((peak - base) / MiB).toBeLessThan(40);

        // A client that asks for the value and does not read: the server holds one chunk.
        const slow = connect(port, "127.0.0.1");
        await new Promise<void>((res) => slow.once("connect", () => res()));
        slow.pause();
        slow.write("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
        const before = rssOf(pid);
        peak = before;
        await Bun.sleep(500);
        expect((peak - before) / MiB).toBeLessThan(40);
        const hash = createHash("sha256");
        let header = "";
        let got = 0;
        await new Promise<void>((res) => {
          slow.on("data", (d: Buffer) => {
            let body = d;
            if (!header.endsWith("\r\n")) {
              const text = header + d.toString("latin1");
              const at = text.indexOf("\r\n");
              if (at < 0) {
                header = text;
                return;
              }
              body = d.subarray(at + 2 - header.length);
              header = text.slice(0, at + 2);
            }
            const take = Math.min(body.length, size - got);
            hash.update(body.subarray(0, take));
            got += take;
            if (got === size) res();
          });
          slow.resume();
        });
        slow.destroy();
        expect(header).toBe(`$${size}\r\n`);
        expect(hash.digest("hex")).toBe(expected);
      } finally {
        clearInterval(timer);
      }
    } finally {
      server.proc.kill("SIGKILL");
      await server.proc.exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
