/**
 * Every command-table row is an object literal with named fields. Rows that share flags, group
 * and version (container subcommands such as CLIENT or COMMAND, and small groups such as the
 * transactions) spread one RowDefaults object and write the rest out, full name included
 * ("client|setname"), so grepping for a command's name finds its row.
 */
import type { CommandSpec } from "./spec.ts";

/** The fields a family of rows shares; spread first, then each row names its own. */
export type RowDefaults = Pick<CommandSpec, "flags" | "group" | "since" | "keys">;

/** A container's HELP subcommand: Redis flags every one of them loading and stale only. */
export function helpRow(row: CommandSpec): CommandSpec {
  return { ...row, flags: ["loading", "stale"] };
}
