/**
 * The command line, built with citty: `blobasaur [serve] [--config F]`, plus the maintenance
 * commands registered in `subcommands.ts`. The global --config may come before or after the
 * subcommand (`blobasaur --config F shard migrate 4 8` and `blobasaur shard migrate 4 8 -c F`
 * both work), so it is lifted out of argv before citty parses and handed to every command.
 */
import { defineCommand, runMain } from "citty";
import { VERSION } from "../version.ts";
import { type CliContext, configArg } from "./context.ts";
import { serve } from "./serve.ts";
import { maintenanceCommands } from "./subcommands.ts";

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
  const ctx: CliContext = {
    configPath: config ?? "config.toml",
    configGiven: config !== null,
    exitCode: 0,
  };
  const serveCommand = defineCommand({
    meta: { name: "serve", description: "Run the Blobasaur server (the default command)" },
    args: configArg,
    run: async () => {
      ctx.exitCode = await serve(ctx.configPath);
    },
  });
  const root = defineCommand({
    meta: {
      name: "blobasaur",
      version: VERSION,
      description: "A sharded blob store that speaks the Redis protocol, on SQLite",
    },
    args: configArg,
    subCommands: { serve: serveCommand, ...maintenanceCommands(ctx) },
    run: async ({ rawArgs }) => {
      // No subcommand: serve, as the seed describes.
      if (rawArgs.length === 0) ctx.exitCode = await serve(ctx.configPath);
    },
  });
  await runMain(root, { rawArgs: rest });
  return ctx.exitCode;
}
