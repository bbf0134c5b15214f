/**
 * A Blobasaur server in its own process for the standalone fuzz and load runs: a temporary
 * data dir and config, a free port, its RSS read from /proc, and whether it is still alive.
 * Killed on exit, error and SIGINT, so a run never leaves a server behind.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = resolve(import.meta.dir, "../..");

export interface LiveServer {
  readonly port: number;
  readonly pid: number;
  readonly proc: Subprocess;
  rssBytes(): number;
  alive(): boolean;
  output(): string;
  stop(): Promise<void>;
}

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

export async function startLiveServer(
  extraToml = "",
  spawnPrefix: string[] = [],
): Promise<LiveServer> {
  const dir = mkdtempSync(join(tmpdir(), "blobasaur-live-"));
  const port = freePort();
  const config = join(dir, "config.toml");
  writeFileSync(
    config,
    `data_dir = "${join(dir, "data")}"\nnum_shards = 2\naddr = "127.0.0.1:${port}"\n${extraToml}\n[sqlite]\nprewarm = false\n`,
  );
  const proc = Bun.spawn(
    [...spawnPrefix, process.execPath, join(ROOT, "src/main.ts"), "serve", "--config", config],
    {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    },
  );
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const d = new TextDecoder();
    for await (const c of s) text += d.decode(c);
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  const kill = () => {
    if (!exited) proc.kill("SIGKILL");
  };
  process.on("exit", kill);
  process.on("SIGINT", () => {
    kill();
    process.exit(130);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`server exited at startup:\n${text}`);
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`server did not listen within 30 s:\n${text}`);
      await Bun.sleep(50);
    }
  }
  return {
    port,
    pid: proc.pid,
    proc,
    rssBytes() {
      // The server may run under a shell wrapper (prlimit); read the bun child when there is one.
      const status = readFileSync(`/proc/${serverPid(proc.pid)}/status`, "utf8");
      const kb = /VmRSS:\s+(\d+) kB/.exec(status);
      return kb ? Number(kb[1]) * 1024 : 0;
    },
    alive: () => !exited,
    output: () => text,
    async stop() {
      if (!exited) {
        proc.kill("SIGTERM");
        await Promise.race([proc.exited, Bun.sleep(10_000)]);
        kill();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The pid whose RSS is the server's: the process itself, or its only child under a wrapper. */
function serverPid(pid: number): number {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return children ? Number(children.split(/\s+/)[0]) : pid;
  } catch {
    return pid;
  }
}

/** Sends one PING on a fresh connection; resolves true on +PONG within `ms`. */
export async function pingWithin(port: number, ms: number): Promise<boolean> {
  return await new Promise<boolean>((resolveOk) => {
    let done = false;
    const finish = (ok: boolean, s?: { end(): void }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s?.end();
      resolveOk(ok);
    };
    const timer = setTimeout(() => finish(false), ms);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => {
          s.write("*1\r\n$4\r\nPING\r\n");
        },
        data: (s, d) => finish(d.toString().startsWith("+PONG"), s),
        error: () => finish(false),
        close: () => finish(false),
      },
    }).catch(() => finish(false));
  });
}
