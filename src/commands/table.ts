/**
 * Builds the one command table from the per-group row files and validates it when it loads:
 * unique names, key ranges inside the arity, write xor readonly, a handler on every leaf.
 * A broken row is a programming error, so it fails at startup (and in the table's unit test).
 */
import type { CommandSpec, CommandTable } from "./spec.ts";

export function buildTable(rows: readonly CommandSpec[]): CommandTable {
  const byName = new Map<string, CommandSpec>();
  const subs = new Map<CommandSpec, Map<string, CommandSpec>>();
  for (const row of rows) {
    validate(row, null);
    if (byName.has(row.name)) throw new Error(`command table: duplicate command '${row.name}'`);
    byName.set(row.name, row);
    if (row.subcommands) {
      const children = new Map<string, CommandSpec>();
      for (const sub of row.subcommands) {
        validate(sub, row);
        const short = sub.name.slice(row.name.length + 1);
        if (children.has(short))
          throw new Error(`command table: duplicate subcommand '${sub.name}'`);
        children.set(short, sub);
      }
      subs.set(row, children);
    }
  }
  const all = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    all,
    get: (name) => byName.get(name),
    sub: (parent, name) => subs.get(parent)?.get(name),
  };
}

function validate(row: CommandSpec, parent: CommandSpec | null): void {
  const where = `command table: '${row.name}'`;
  if (row.name !== row.name.toLowerCase()) throw new Error(`${where} must be lower case`);
  if (parent && !row.name.startsWith(`${parent.name}|`)) {
    throw new Error(`${where} must be named '${parent.name}|<sub>'`);
  }
  if (row.arity === 0) throw new Error(`${where} has arity 0`);
  const isWrite = row.flags.includes("write");
  const isRead = row.flags.includes("readonly");
  if (isWrite && isRead) throw new Error(`${where} is both write and readonly`);
  if (row.subcommands) {
    // A container may also run bare (COMMAND with no subcommand): then it has a handler and arity -1.
    const expected = row.handler ? -1 : -2;
    if (row.arity !== expected)
      throw new Error(`${where} is a container and must have arity ${expected}`);
  } else if (!row.handler) throw new Error(`${where} has no handler`);
  if (row.keys) {
    const { first, last, step } = row.keys;
    if (first < 1 || step < 1) throw new Error(`${where} has an invalid key range`);
    const minArgs = Math.abs(row.arity);
    if (row.arity > 0 && first >= minArgs) throw new Error(`${where} first key outside its arity`);
    if (last > 0 && last < first) throw new Error(`${where} last key before first key`);
    if (row.arity > 0 && last >= row.arity) throw new Error(`${where} last key outside its arity`);
    // WATCH names keys without reading or writing them, as in Redis, and so do the shard
    // channels of SSUBSCRIBE / SPUBLISH (routed by slot); any other row with keys must say which.
    if (!isWrite && !isRead && row.group !== "transactions" && row.group !== "pubsub") {
      throw new Error(`${where} takes keys but is neither write nor readonly`);
    }
  }
}

/**
 * Positions (indexes into args) of the keys one call touches: from the arguments for numkeys
 * commands (EVAL, FCALL), else from the row. Dispatch, cluster routing and COMMAND GETKEYS
 * all ask here.
 */
export function keyPositionsOf(spec: CommandSpec, args: readonly Uint8Array[]): number[] {
  return spec.movableKeys ? spec.movableKeys.find(args) : keyPositions(spec, args.length);
}

/** Positions (indexes into args) of the keys a command touches, from its row. */
export function keyPositions(spec: CommandSpec, argc: number): number[] {
  const k = spec.keys;
  if (!k) return [];
  const last = k.last < 0 ? argc + k.last : k.last;
  const out: number[] = [];
  for (let i = k.first; i <= last && i < argc; i += k.step) out.push(i);
  return out;
}
