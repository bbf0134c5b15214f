/**
 * A factory for command-table rows that share flags, group and version: container
 * subcommands (CLIENT, COMMAND, SLOWLOG) and small groups (transactions) declare those once.
 */
import type { CommandSpec } from "./spec.ts";

export interface RowDefaults {
  readonly flags: CommandSpec["flags"];
  readonly group: CommandSpec["group"];
  readonly since: string;
  /** Container name for subcommands: rows are then named `<container>|<name>`. */
  readonly container?: string;
}

export type RowMaker = (
  name: string,
  arity: number,
  summary: string,
  syntax: string,
  handler: CommandSpec["handler"],
) => CommandSpec;

export function rowMaker(defaults: RowDefaults): RowMaker {
  return (name, arity, summary, syntax, handler) => ({
    name: defaults.container ? `${defaults.container}|${name}` : name,
    arity,
    flags: defaults.flags,
    keys: null,
    group: defaults.group,
    since: defaults.since,
    summary,
    syntax,
    handler,
  });
}

/** A container's HELP subcommand: Redis flags every one of them loading and stale only. */
export function helpRow(row: CommandSpec): CommandSpec {
  return { ...row, flags: ["loading", "stale"] };
}
