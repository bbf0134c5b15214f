/** Every command row, gathered from the per-group files: the one command table's input. */
import { connectionCommands } from "./connection.ts";
import { genericCommands } from "./generic.ts";
import { serverCommands } from "./server.ts";
import type { CommandSpec } from "./spec.ts";
import { stringCommands } from "./string.ts";

export const commandRows: readonly CommandSpec[] = [
  ...stringCommands,
  ...genericCommands,
  ...connectionCommands,
  ...serverCommands,
];
