/**
 * The command line, built with citty: `blobasaur [serve] [--config F]`. The global --config
 * may come before or after the subcommand (`blobasaur --config F serve` and
 * `blobasaur serve --config F` both work), so it is lifted out of argv before citty parses.
 */
import { defineCommand, runMain } from "citty";
import { VERSION } from "../version.ts";
import { serve } from "./serve.ts";

const configArg = {
  config: {
    type: "string",
    alias: "c",
    description: "Path to the TOML configuration file",
    default: "config.toml",
  },
} as const;

/** Removes every --config/-c (and its value) from argv; returns the last one given. */
export function liftConfig(argv: string[]): { config: string | null; rest: string[] } {
  const rest: string[] = [];
  let config: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--config" || a === "-c") {
      config = argv[i + 1] ?? "";
      i++;
    } else if (a.startsWith("--config=")) config = a.slice("--config=".length);
    else rest.push(a);
  }
  return { config, rest };
}

export async function main(argv: string[]): Promise<number> {
  const { config, rest } = liftConfig(argv);
  const configPath = config ?? "config.toml";
  let exitCode = 0;
  const serveCommand = defineCommand({
    meta: { name: "serve", description: "Run the Blobasaur server (the default command)" },
    args: configArg,
    run: async () => {
      exitCode = await serve(configPath);
    },
  });
  const root = defineCommand({
    meta: {
      name: "blobasaur",
      version: VERSION,
      description: "A sharded blob store that speaks the Redis protocol, on SQLite",
    },
    args: configArg,
    subCommands: { serve: serveCommand },
    run: async ({ rawArgs }) => {
      // No subcommand: serve, as the seed describes.
      if (rawArgs.length === 0) exitCode = await serve(configPath);
    },
  });
  await runMain(root, { rawArgs: rest });
  return exitCode;
}
