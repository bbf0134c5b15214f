/**
 * Runs the real entry point as a subprocess, for CLI tests: config files, signals, exit codes.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = join(import.meta.dir, "..", "..");
export const BUN = process.execPath;

export function writeConfig(dir: string, body: string, name = "config.toml"): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

/** Picks a free TCP port by binding port 0 and releasing it. */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
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
