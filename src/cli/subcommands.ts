/**
 * The maintenance commands, one entry each: `shard` (migrate, vacuum), `backup`, `import`.
 * Each lives in its own file; this list is the only place they are registered.
 */
import type { CommandDef } from "citty";
import type { CliContext } from "./context.ts";

export function maintenanceCommands(_ctx: CliContext): Record<string, CommandDef> {
  return {};
}
