/**
 * Process helpers for the benchmark runner: free loopback ports, starting our server and
 * redis-server, waiting for PONG, and stopping them. Every child started here is tracked and
 * killed when the runner exits — normally, on an error, or on SIGINT/SIGTERM/SIGHUP — so a
 * failed run never leaves servers behind. Also reads RSS and CPU time from /proc.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const HOST = "127.0.0.1";
const repoRoot = join(import.meta.dir, "..", "..");

const children = new Set<Subprocess>();
/** Client tools run under `timeout`, which makes itself a process-group leader. */
const tools = new Set<Subprocess>();
const dirs = new Set<string>();

function alive(child: Subprocess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function killAll(): void {
  for (const tool of tools) {
    if (!alive(tool)) continue;
    try {
      process.kill(-tool.pid, "SIGKILL"); // timeout and the tool it runs
    } catch {
      tool.kill("SIGKILL");
    }
  }
  for (const child of children) if (alive(child)) child.kill("SIGKILL");
}

/** A directory removed when the runner is stopped by a signal (the normal path removes it). */
export function removeOnSignal(dir: string): void {
  dirs.add(dir);
}

let handlersInstalled = false;
/** Kills every tracked child on exit and on SIGINT/SIGTERM/SIGHUP (then exits 128+n). */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", killAll);
  const signals: [NodeJS.Signals, number][] = [
    ["SIGINT", 2],
    ["SIGTERM", 15],
    ["SIGHUP", 1],
  ];
  for (const [signal, n] of signals) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping every server and client this run started`);
      killAll();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      process.exit(128 + n);
    });
  }
}

/**
 * Runs a client tool (already wrapped in `timeout`) without blocking the event loop, so a
 * signal stops the run at once; the tool is killed with the runner.
 */
export async function runTool(
  cmd: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  tools.add(child);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    tools.delete(child);
  }
}

/** Starts a child that is killed with the runner; stdout ignored, stderr passed through. */
export function track(cmd: string[], env?: Record<string, string>): Subprocess {
  const child = Bun.spawn(cmd, {
    stdout: "ignore",
    stderr: "inherit",
    env: env ? { ...process.env, ...env } : process.env,
  });
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stop(child: Subprocess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export function which(cmd: string): boolean {
  return Bun.spawnSync(["sh", "-c", `command -v ${cmd}`]).exitCode === 0;
}

export function requireRedisTools(): void {
  for (const tool of ["redis-server", "redis-benchmark", "redis-cli", "timeout"]) {
    if (!which(tool)) {
      console.error(
        `${tool} is missing: install it with  apt-get install -y redis-server redis-tools`,
      );
      process.exit(1);
    }
  }
}

export function freePort(): number {
  const probe = Bun.listen({ hostname: HOST, port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/**
 * One connect + PING; resolves true on "+PONG", false on refusal or anything else.
 * The socket is always closed and the attempt gives up after `timeoutMs`.
 */
export function pingOnce(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let got = "";
    let sock: { end(): void } | null = null;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock?.end();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    Bun.connect({
      hostname: HOST,
      port,
      socket: {
        open(s) {
          sock = s;
          s.write("*1\r\n$4\r\nPING\r\n");
        },
        data(_s, chunk) {
          got += chunk.toString();
          if (got.includes("\r\n")) finish(got.startsWith("+PONG"));
        },
        close: () => finish(false),
        error: () => finish(false),
        connectError: () => finish(false),
      },
    }).catch(() => finish(false));
  });
}

/** Polls connect+PING every `everyMs` until PONG; throws after `deadlineMs`. */
export async function waitForPong(
  port: number,
  child?: Subprocess,
  deadlineMs = 60_000,
  everyMs = 1,
): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  while (performance.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`server for port ${port} exited (${child.exitCode ?? child.signalCode})`);
    }
    if (await pingOnce(port)) return;
    await Bun.sleep(everyMs);
  }
  throw new Error(`server on ${port} did not answer PING within ${deadlineMs} ms`);
}

export interface OursOptions {
  dataDir: string;
  port: number;
  shards?: number;
  durable?: boolean;
  /** Extra top-level TOML lines (dotted keys such as `sqlite.cache_size_mb = 16`). */
  extra?: string;
}

/** Writes a config for our server under `dir` and returns its path. */
export function writeOursConfig(dir: string, o: OursOptions): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `config-${o.port}.toml`);
  const toml =
    `data_dir = "${o.dataDir}"\nnum_shards = ${o.shards ?? 4}\naddr = "${HOST}:${o.port}"\n` +
    (o.extra ? `${o.extra}\n` : "") +
    // A dotted key, not a [sqlite] table, so `extra` may set other sqlite.* keys.
    (o.durable ? `sqlite.synchronous = "FULL"\n` : "");
  writeFileSync(path, toml);
  return path;
}

/** Starts src/main.ts with the given config; does not wait for it. */
export function startOurs(configPath: string): Subprocess {
  return track([process.execPath, join(repoRoot, "src/main.ts"), "--config", configPath], {
    BLOBASAUR_LOG: "warn",
  });
}

/** In-memory Redis, or the durable one (AOF, fsync always) with `durable`. */
export function redisArgs(port: number, dir: string, durable: boolean): string[] {
  mkdirSync(dir, { recursive: true });
  const persistence = durable
    ? ["--appendonly", "yes", "--appendfsync", "always"]
    : ["--appendonly", "no"];
  return [
    "redis-server",
    "--port",
    String(port),
    "--bind",
    HOST,
    "--save",
    "",
    "--dir",
    dir,
    ...persistence,
  ];
}

export function startRedis(port: number, dir: string, durable: boolean): Subprocess {
  return track(redisArgs(port, dir, durable));
}

/** Resident set size in bytes (VmRSS), and peak (VmHWM); null when the process is gone. */
export function memoryOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) =>
      Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
    return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
  } catch {
    return null;
  }
}

const ticksPerSecond = (() => {
  const r = Bun.spawnSync(["getconf", "CLK_TCK"]);
  const n = Number(r.stdout.toString().trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** User + system CPU time of a process in microseconds (resolution one clock tick, 10 ms). */
export function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" of the command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1e6;
  } catch {
    return Number.NaN;
  }
}

/**
 * Empties the kernel page cache (`sync; echo 3 > /proc/sys/vm/drop_caches`, needs root).
 * Returns false when that is not allowed, so the caller can say the cache was NOT cold.
 */
export function dropPageCache(): boolean {
  const r = Bun.spawnSync(["sh", "-c", "sync && echo 3 > /proc/sys/vm/drop_caches"], {
    stderr: "pipe",
  });
  return r.exitCode === 0;
}
