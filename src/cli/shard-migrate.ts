/**
 * `blobasaur shard migrate <old> <new> [--data-dir DIR] [--verify]` and
 * `blobasaur shard migrate --rollback [--data-dir DIR]`: CLI glue over storage/maintenance/migrate.ts
 * (argument checks, data dir from the config, progress and the final line). Exit codes: 0 ok,
 * 1 failure (message on stderr), 2 bad arguments.
 */
import { defineCommand } from "citty";
import { migrateShards, rollbackMigration } from "../storage/api.ts";
import { type CliContext, configArg } from "./context.ts";
import {
  checkFlags,
  dataDirFrom,
  infoPrinter,
  optionalConfig,
  parseCount,
  progressPrinter,
  runTool,
  UsageError,
} from "./maintenance.ts";

const NAME = "shard migrate";

export function migrateCommand(ctx: CliContext) {
  return defineCommand({
    meta: {
      name: "migrate",
      description:
        "Re-shard a stopped data dir from OLD to NEW shards (staged, verified, swapped atomically; the old files are kept in .migrate-backup-*)",
    },
    args: {
      ...configArg,
      old: { type: "positional", required: false, description: "Current number of shards" },
      new: { type: "positional", required: false, description: "Target number of shards" },
      "data-dir": {
        type: "string",
        alias: "d",
        description: "Data directory (default: the config's data_dir)",
      },
      verify: {
        type: "boolean",
        description: "Also re-verify the swapped-in layout against the backup after the swap",
      },
      rollback: {
        type: "boolean",
        description: "Undo an interrupted migration (restore the old layout from its backup)",
      },
    },
    run: ({ args, rawArgs }) =>
      runTool(ctx, NAME, () => {
        checkFlags(rawArgs, ["config", "c", "data-dir", "d", "dataDir", "verify", "rollback"]);
        const positionals = rawArgs.filter(
          (a, i) => !a.startsWith("-") && !/^(-d|--data-dir)$/.test(rawArgs[i - 1] ?? ""),
        );
        const info = infoPrinter(NAME);
        if (args.rollback) {
          if (positionals.length > 2)
            throw new UsageError("usage: shard migrate --rollback [--data-dir DIR]");
          rollbackMigration(dataDirFrom(ctx, args["data-dir"]), info);
          return;
        }
        if (positionals.length !== 2) {
          throw new UsageError(
            "usage: shard migrate <old> <new> [--data-dir DIR] [--verify] [--rollback]",
          );
        }
        const oldShards = parseCount(args.old, "old shard count");
        const newShards = parseCount(args.new, "new shard count");
        if (oldShards === newShards) {
          throw new UsageError(
            `old and new shard counts are both ${oldShards}: no migration needed`,
          );
        }
        const dataDir = dataDirFrom(ctx, args["data-dir"]);
        const started = performance.now();
        const result = migrateShards({
          dataDir,
          oldShards,
          newShards,
          verifyAfterSwap: Boolean(args.verify),
          onInfo: info,
          onProgress: progressPrinter(`blobasaur ${NAME}`),
        });
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        process.stdout.write(
          `migrated ${result.keys} key(s) and ${result.fields} field(s) of large hashes in ${result.tables} database(s) from ${oldShards} to ${newShards} shard(s) in ${dataDir} in ${seconds}s${result.resumed ? " (finished an interrupted swap)" : ""}; the old layout is kept in ${result.backupDir} until the next successful migration\n`,
        );
        const config = args["data-dir"] ? null : optionalConfig(ctx);
        if (config !== null && config.numShards !== newShards) {
          info(`set num_shards = ${newShards} in ${ctx.configPath} before starting the server`);
        }
      }),
  });
}
