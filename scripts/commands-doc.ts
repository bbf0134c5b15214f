/**
 * The command reference as Markdown tables, generated from the command table rows, so the
 * documentation lists exactly the commands the server dispatches (scripts/readme-sync.ts
 * writes it into docs/commands.md; tests/unit/readme.test.ts fails when it is out of date).
 */
import { commandRows } from "../src/commands/index.ts";
import type { CommandSpec } from "../src/commands/spec.ts";

function row(spec: CommandSpec): string {
  const name = spec.name.replace("|", " ").toUpperCase();
  const syntax = spec.syntax ? ` ${spec.syntax}` : "";
  const flags = spec.flags
    .filter((f) => f === "write" || f === "readonly" || f === "admin")
    .join(", ");
  // A "|" inside a table cell must be escaped, even within a code span.
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  return `| \`${cell(name + syntax)}\` | ${flags || "-"} | ${cell(spec.summary)} |`;
}

const titles: Record<string, string> = {
  string: "Strings",
  bitmap: "Bit operations",
  generic: "Keyspace",
  hash: "Hashes",
  transactions: "Transactions",
  connection: "Connection",
  server: "Server",
  scripting: "Scripting",
  cluster: "Cluster",
  blobasaur: "Blobasaur administration",
};

export function commandReference(): string {
  const groups = new Map<string, CommandSpec[]>();
  for (const spec of commandRows) {
    const list = groups.get(spec.group) ?? [];
    list.push(spec);
    groups.set(spec.group, list);
  }
  const out: string[] = [];
  for (const [group, specs] of [...groups].sort((a, b) => order(a[0]) - order(b[0]))) {
    out.push(
      `### ${titles[group] ?? group}`,
      "",
      "| command | flags | what it does |",
      "|---|---|---|",
    );
    for (const spec of [...specs].sort((a, b) => a.name.localeCompare(b.name))) {
      if (spec.subcommands) {
        if (spec.handler) out.push(row(spec));
        for (const sub of spec.subcommands) out.push(row(sub));
      } else out.push(row(spec));
    }
    out.push("");
  }
  return out.join("\n");
}

function order(group: string): number {
  const i = Object.keys(titles).indexOf(group);
  return i < 0 ? 99 : i;
}

if (import.meta.main) console.log(commandReference());
