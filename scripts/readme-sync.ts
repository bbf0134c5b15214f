/**
 * Rewrites the generated parts of README.md: the command reference between
 * `<!-- commands:start -->` and `<!-- commands:end -->`, from the command table.
 *   bun scripts/readme-sync.ts          rewrite README.md
 *   bun scripts/readme-sync.ts --check  exit 1 if README.md is out of date
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commandReference } from "./commands-doc.ts";

const path = join(import.meta.dir, "..", "README.md");
const readme = readFileSync(path, "utf8");
const start = "<!-- commands:start -->";
const end = "<!-- commands:end -->";
const a = readme.indexOf(start);
const b = readme.indexOf(end);
if (a < 0 || b < a) throw new Error("README.md lacks the commands markers");
const next = `${readme.slice(0, a + start.length)}\n${commandReference()}\n${readme.slice(b)}`;
if (process.argv.includes("--check")) {
  if (next !== readme) {
    console.error("README.md command reference is out of date: run `bun scripts/readme-sync.ts`");
    process.exit(1);
  }
} else writeFileSync(path, next);
