/**
 * `blobasaur backup --to DIR [--data-dir DIR]`: an online snapshot of every shard while the
 * server keeps serving (storage/maintenance/backup.ts; VACUUM INTO per shard, each shard consistent on its
 * own). The target must be new or empty. Restore: stop the server, copy the shard_<i>.db files
 * into an empty data_dir, set num_shards to their count, start. Exit codes: 0 ok, 1 failure,
 * 2 bad arguments.
 */
import { defineCommand } from "citty";
import { backupDataDir } from "../storage/api.ts";
import { type CliContext, configArg } from "./context.ts";
import { checkFlags, dataDirFrom, infoPrinter, runTool, UsageError } from "./maintenance.ts";

const NAME = "backup";

export function backupCommand(ctx: CliContext) {
  return defineCommand({
    meta: {
      name: "backup",
      description:
        "Snapshot every shard of a (running) server's data dir into a new or empty directory",
    },
    args: {
      ...configArg,
      to: { type: "string", description: "Target directory (must be missing or empty)" },
      "data-dir": {
        type: "string",
        alias: "d",
        description: "Data directory (default: the config's data_dir)",
      },
    },
    run: ({ args, rawArgs }) =>
      runTool(ctx, NAME, () => {
        checkFlags(rawArgs, ["config", "c", "to", "data-dir", "d", "dataDir"]);
        if (typeof args.to !== "string" || args.to === "")
          throw new UsageError("usage: backup --to DIR [--data-dir DIR]");
        if (args._.length > 0) throw new UsageError(`unexpected argument ${args._[0]}`);
        const dataDir = dataDirFrom(ctx, args["data-dir"]);
        const info = infoPrinter(NAME);
        const started = performance.now();
        const result = backupDataDir({
          dataDir,
          toDir: args.to,
          onShard: (shard, of, bytes, path) =>
            info(`shard ${shard + 1}/${of}: ${bytes} bytes -> ${path}`),
        });
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        process.stdout.write(
          `backed up ${result.shards} shard(s) (${result.bytes} bytes) from ${dataDir} to ${args.to} in ${seconds}s; to restore: stop the server, copy the shard_<i>.db files into an empty data_dir, set num_shards = ${result.shards}, start the server\n`,
        );
      }),
  });
}
