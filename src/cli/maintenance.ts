/**
 * Shared CLI glue for the offline tools (shard migrate, backup, import): argument checks that
 * exit 2, the data dir from --data-dir or the config, throttled progress lines on stderr, and
 * the mapping of failures to exit codes (0 ok, 1 failure, 2 bad arguments). Messages go to
 * stderr, prefixed with the command's name; the logic lives in src/storage.
 */
import { ConfigError, loadConfig } from "../config/index.ts";
import { MaintenanceError } from "../storage/api.ts";
import type { CliContext } from "./context.ts";

/** Bad arguments: the command exits 2. */
export class UsageError extends Error {}

/** Refuses options the command does not know (citty would silently ignore them). */
export function checkFlags(rawArgs: readonly string[], known: readonly string[]): void {
  for (const arg of rawArgs) {
    if (arg === "--") break;
    if (!arg.startsWith("-") || /^-\d/.test(arg)) continue;
    const name = arg.replace(/^--?/, "").replace(/=.*$/, "");
    if (!known.includes(name)) throw new UsageError(`unknown option ${arg}`);
  }
}

/** A count argument: a whole number >= 1. */
export function parseCount(value: unknown, what: string): number {
  const text = String(value ?? "");
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${what} must be a whole number >= 1, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** The loaded config, or null when none was given and config.toml does not exist. */
export function optionalConfig(ctx: CliContext): ReturnType<typeof loadConfig> | null {
  try {
    return loadConfig(ctx.configPath);
  } catch (error) {
    if (error instanceof ConfigError && !ctx.configGiven) return null;
    throw error;
  }
}

/** --data-dir when given, else the config's data_dir. */
export function dataDirFrom(ctx: CliContext, flag: unknown, option = "--data-dir"): string {
  if (typeof flag === "string" && flag !== "") return flag;
  const config = optionalConfig(ctx);
  if (config === null) {
    throw new UsageError(
      `no data dir: pass ${option} DIR or --config FILE (${ctx.configPath} not found)`,
    );
  }
  return config.dataDir;
}

/** Progress on stderr at most 4 times a second: rows done, rate and the time left. */
export function progressPrinter(label: string): (done: number, total: number) => void {
  const started = performance.now();
  let last = -Infinity;
  return (done, total) => {
    const now = performance.now();
    if (now - last < 250 && done < total) return;
    if (done === 0 && total > 0) return;
    last = now;
    const seconds = Math.max((now - started) / 1000, 1e-3);
    const rate = done / seconds;
    const eta = rate > 0 ? (total - done) / rate : 0;
    const pct = total === 0 ? 100 : (100 * done) / total;
    process.stderr.write(
      `${label}: ${done}/${total} rows (${pct.toFixed(1)}%), ${Math.round(rate)} rows/s, ETA ${eta.toFixed(1)}s\n`,
    );
  };
}

/** Runs a tool and turns its outcome into the exit code, printing failures on stderr. */
export async function runTool(
  ctx: CliContext,
  name: string,
  body: () => void | Promise<void>,
): Promise<void> {
  try {
    await body();
    ctx.exitCode = 0;
  } catch (error) {
    const usage =
      error instanceof UsageError || error instanceof RangeError || error instanceof ConfigError;
    const known = usage || error instanceof MaintenanceError;
    const message = known ? (error as Error).message : ((error as Error)?.stack ?? String(error));
    process.stderr.write(`blobasaur ${name}: ${message}\n`);
    ctx.exitCode = usage ? 2 : 1;
  }
}

/** Prints one informational line on stderr. */
export function infoPrinter(name: string): (line: string) => void {
  return (line) => process.stderr.write(`blobasaur ${name}: ${line}\n`);
}
