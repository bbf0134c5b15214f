/**
 * The maintenance commands, one entry each: `shard` (migrate, vacuum), `backup`, `import`.
 * Each lives in its own file; this list is the only place they are registered.
 */
import type { CommandDef } from "citty";
import { backupCommand } from "./backup.ts";
import type { CliContext } from "./context.ts";
import { importCommand } from "./import.ts";
import { shardCommand } from "./shard.ts";

export function maintenanceCommands(ctx: CliContext): Record<string, CommandDef> {
  return {
    shard: shardCommand(ctx) as CommandDef,
    backup: backupCommand(ctx) as CommandDef,
    import: importCommand(ctx) as CommandDef,
  };
}
