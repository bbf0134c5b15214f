/**
 * `blobasaur import --from DIR --shards N [--compression none|gzip|zstd|lz4|brotli]
 * [--on-conflict keep-string|keep-hash|rename] [--data-dir OUT]`: converts a data dir written
 * by the Rust original into this server's format in an empty data dir (storage/maintenance/import.ts):
 * strings stay strings, each namespace becomes a hash key. Without --compression each value's
 * codec is detected by its magic bytes (brotli has none: pass --compression brotli).
 * --on-conflict says what happens when a namespace and a string share a name (default rename:
 * the hash becomes `<name>:hash`); every such name is reported. Exit codes: 0 ok, 1 failure,
 * 2 bad arguments.
 */
import { defineCommand } from "citty";
import {
  importLegacyDataDir,
  LEGACY_COMPRESSIONS,
  type LegacyCompression,
  ON_CONFLICT,
  type OnConflict,
} from "../storage/api.ts";
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

const NAME = "import";

export function importCommand(ctx: CliContext) {
  return defineCommand({
    meta: {
      name: "import",
      description: "Import a data dir written by the Rust Blobasaur into an empty data dir",
    },
    args: {
      ...configArg,
      from: { type: "string", description: "The Rust server's data dir (read only)" },
      shards: { type: "string", description: "Number of shards to create" },
      compression: {
        type: "string",
        description: "The Rust server's storage_compression algorithm (default: detect per value)",
      },
      "on-conflict": {
        type: "string",
        description:
          "When a namespace and a string share a name: keep-string, keep-hash or rename (default: the hash becomes <name>:hash)",
      },
      "data-dir": {
        type: "string",
        alias: "d",
        description: "Empty target data dir (default: the config's data_dir)",
      },
    },
    run: ({ args, rawArgs }) =>
      runTool(ctx, NAME, () => {
        checkFlags(rawArgs, [
          "config",
          "c",
          "from",
          "shards",
          "compression",
          "on-conflict",
          "onConflict",
          "data-dir",
          "d",
          "dataDir",
        ]);
        if (typeof args.from !== "string" || args.from === "") {
          throw new UsageError(
            "usage: import --from DIR --shards N [--compression ALG] [--on-conflict keep-string|keep-hash|rename] [--data-dir OUT]",
          );
        }
        if (args._.length > 0) throw new UsageError(`unexpected argument ${args._[0]}`);
        const shards = parseCount(args.shards, "--shards");
        let compression: LegacyCompression | null = null;
        if (args.compression !== undefined) {
          if (!LEGACY_COMPRESSIONS.includes(args.compression as LegacyCompression)) {
            throw new UsageError(
              `--compression must be one of ${LEGACY_COMPRESSIONS.join(", ")}, got ${args.compression}`,
            );
          }
          compression = args.compression as LegacyCompression;
        }
        const onConflict = (args["on-conflict"] ?? "rename") as OnConflict;
        if (!ON_CONFLICT.includes(onConflict)) {
          throw new UsageError(
            `--on-conflict must be one of ${ON_CONFLICT.join(", ")}, got ${args["on-conflict"]}`,
          );
        }
        const outDir = dataDirFrom(ctx, args["data-dir"]);
        const config = optionalConfig(ctx);
        const info = infoPrinter(NAME);
        const started = performance.now();
        const result = importLegacyDataDir({
          fromDir: args.from,
          outDir,
          shards,
          compression,
          onConflict,
          // The config's threshold when there is one, so imported values sit where the server puts them.
          largeValueThresholdBytes:
            config === null ? undefined : config.largeValueThresholdKb * 1024,
          onInfo: info,
          onProgress: progressPrinter(`blobasaur ${NAME}`),
        });
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        const codecs = Object.entries(result.decodedAs)
          .filter(([, n]) => n > 0)
          .map(([c, n]) => `${c} ${n}`)
          .join(", ");
        for (const c of result.conflicts) {
          const what =
            c.resolution === "keep-string"
              ? "the string was kept and the namespace was NOT imported"
              : c.resolution === "keep-hash"
                ? "the string was DROPPED and the hash took the name"
                : `the string kept the name and the hash is the key ${JSON.stringify(c.hashKey)}`;
          info(
            `conflict: the string key ${JSON.stringify(c.key)} and the namespace ${JSON.stringify(c.key)} share a name; ${what} (--on-conflict ${c.resolution})`,
          );
        }
        if (result.duplicates > 0)
          info(
            `${result.duplicates} key(s) or field(s) were present in more than one source shard; the newest copy was kept`,
          );
        process.stdout.write(
          `imported ${result.strings} string key(s) and ${result.hashes} hash key(s) holding ${result.fields} field(s) from ${result.sourceShards} shard file(s) in ${args.from} into ${shards} shard(s) in ${outDir} in ${seconds}s (values decoded as: ${codecs || "none"}; stored uncompressed${result.files > 0 ? `; ${result.files} value(s) in files under large/` : ""}${result.conflicts.length > 0 ? `; ${result.conflicts.length} name conflict(s), see above` : ""})\n`,
        );
        if (!args["data-dir"] && config !== null && config.numShards !== shards) {
          info(`set num_shards = ${shards} in ${ctx.configPath} before starting the server`);
        }
      }),
  });
}
