/**
 * ACL command categories (`@read`, `@write`, `@admin`, `@dangerous`, …), derived from a
 * command-table row the way Redis derives them from its command flags and groups, plus the
 * row's own `acl` list for what flags cannot say (FLUSHALL is `@dangerous` without being
 * admin; SETBIT is `@bitmap` although it lives in the string group). COMMAND INFO and the ACL
 * rules read this one function; nobody keeps a second list of categories per command.
 */
import type { CommandRow } from "../commands/row.ts";

/** Redis 7's categories, in ACL CAT order. */
export const ACL_CATEGORIES: readonly string[] = Object.freeze([
  "keyspace",
  "read",
  "write",
  "set",
  "sortedset",
  "list",
  "hash",
  "string",
  "bitmap",
  "hyperloglog",
  "geo",
  "stream",
  "pubsub",
  "admin",
  "fast",
  "slow",
  "blocking",
  "dangerous",
  "connection",
  "transaction",
  "scripting",
]);

const byGroup: Readonly<Record<string, string>> = {
  string: "string",
  generic: "keyspace",
  hash: "hash",
  connection: "connection",
  transactions: "transaction",
  scripting: "scripting",
  pubsub: "pubsub",
  bitmap: "bitmap",
};

/**
 * The categories of one row (without the `@`), in Redis's order: group, flags, speed, extras.
 * Derived each time, with no memo: only COMMAND INFO/DOCS and ACL rule changes ask, and a
 * row's categories cost well under a microsecond.
 */
export function categoriesOf(spec: CommandRow): readonly string[] {
  const out: string[] = [];
  const add = (c: string) => {
    if (!out.includes(c)) out.push(c);
  };
  const extras = (spec.acl ?? []).map((c) => c.replace(/^@/, ""));
  const group = byGroup[spec.group];
  // Redis's bit commands are @bitmap, not @string, although our rows share the string group.
  if (group && !(group === "string" && extras.includes("bitmap"))) add(group);
  for (const extra of extras) add(extra);
  if (spec.flags.includes("write")) add("write");
  if (spec.flags.includes("readonly")) add("read");
  if (spec.flags.includes("admin")) {
    add("admin");
    add("dangerous");
  }
  add(spec.flags.includes("fast") ? "fast" : "slow");
  // Redis lists them in its category order (COMMAND INFO get: @read @string @fast).
  out.sort((a, b) => ACL_CATEGORIES.indexOf(a) - ACL_CATEGORIES.indexOf(b));
  return out;
}

/** True when `name` (without `@`, any case) is a category, or `all`. */
export function isCategory(name: string): boolean {
  const n = name.toLowerCase();
  return n === "all" || ACL_CATEGORIES.includes(n);
}

/** Every leaf row (subcommands instead of their container) in the table, for category rules. */
export function leafRows(all: readonly CommandRow[]): CommandRow[] {
  const out: CommandRow[] = [];
  for (const row of all) {
    if (row.handler) out.push(row);
    for (const sub of row.subcommands ?? []) out.push(sub);
  }
  return out;
}

/** Rows in a category (`all` = every row). */
export function rowsIn(all: readonly CommandRow[], category: string): CommandRow[] {
  const c = category.toLowerCase();
  return leafRows(all).filter((r) => c === "all" || categoriesOf(r).includes(c));
}
