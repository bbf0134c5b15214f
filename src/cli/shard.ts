/**
 * `blobasaur shard …`: the parent of the shard maintenance commands, `migrate`
 * (shard-migrate.ts) and `vacuum` (shard-vacuum.ts). It only groups them.
 */
import { defineCommand } from "citty";
import type { CliContext } from "./context.ts";
import { migrateCommand } from "./shard-migrate.ts";
import { vacuumCommand } from "./shard-vacuum.ts";

export function shardCommand(ctx: CliContext) {
  return defineCommand({
    meta: { name: "shard", description: "Shard maintenance: migrate (re-shard), vacuum" },
    subCommands: { migrate: migrateCommand(ctx), vacuum: vacuumCommand(ctx) },
  });
}
