/**
 * Runs the real entry point as a subprocess, for CLI tests: config files, signals, exit codes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = join(import.meta.dir, "..", "..");
export const BUN = process.execPath;

export function writeConfig(dir: string, body: string, name = "config.toml"): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

/**
 * The kernel's range for ephemeral ports (outgoing connections and listeners on port 0).
 * A port handed to a subprocess must come from outside it: a port picked by binding port 0
 * and releasing it can be taken by any client connection before the subprocess binds it,
 * which made a CLI test fail about once in fifteen full runs.
 */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (lo! > 0 && hi! >= lo!) return [lo!, hi!];
  } catch {
    // Not Linux: fall back to the IANA dynamic range.
  }
  return [49152, 65535];
}

const handedOut = new Set<number>();

/** A free TCP port below the ephemeral range, never the same one twice in this process. */
export function freePort(): number {
  const [ephemeralLow, ephemeralHigh] = ephemeralRange();
  const [low, high] =
    ephemeralLow > 20_000 ? [10_000, ephemeralLow - 1] : [ephemeralHigh + 1, 65_535];
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    try {
      Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    } catch {
      continue; // in use
    }
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found in ${low}-${high}`);
}

export interface Running {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output: () => string;
}

/** Starts `blobasaur ...args` (or a compiled binary) and waits until it logs "listening". */
export async function startProcess(
  args: string[],
  cmd: string[] = [BUN, join(ROOT, "src/main.ts")],
  cwd = ROOT,
): Promise<Running> {
  const proc = Bun.spawn([...cmd, ...args], {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) text += decoder.decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const deadline = Date.now() + 15_000;
  while (!text.includes("listening on")) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      throw new Error(`server did not start (exit ${proc.exitCode}):\n${text}`);
    }
    await Bun.sleep(20);
  }
  return { proc, output: () => text };
}
