/**
 * Rewrites the generated parts of the documentation: the command reference in
 * docs/commands.md, between `<!-- commands:start -->` and `<!-- commands:end -->`, from the
 * command table. The README itself has no generated part (it links into docs/).
 *   bun scripts/readme-sync.ts          rewrite docs/commands.md
 *   bun scripts/readme-sync.ts --check  exit 1 if docs/commands.md is out of date
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commandReference } from "./commands-doc.ts";

export const commandsDoc = join(import.meta.dir, "..", "docs", "commands.md");
export const START = "<!-- commands:start -->";
export const END = "<!-- commands:end -->";

/** `doc` with the text between the markers replaced by `generated`. */
export function withGenerated(doc: string, generated: string): string {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error("docs/commands.md lacks the commands markers");
  return `${doc.slice(0, a + START.length)}\n${generated}\n${doc.slice(b)}`;
}

if (import.meta.main) {
  const doc = readFileSync(commandsDoc, "utf8");
  const next = withGenerated(doc, commandReference());
  if (process.argv.includes("--check")) {
    if (next !== doc) {
      console.error(
        "docs/commands.md command reference is out of date: run `bun scripts/readme-sync.ts`",
      );
      process.exit(1);
    }
  } else writeFileSync(commandsDoc, next);
}
