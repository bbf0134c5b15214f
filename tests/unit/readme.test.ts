/**
 * The checks that keep the README and docs/ true: the generated command reference, every
 * configuration key, the two set-up commands, and the links between the README and docs/.
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { commandReference } from "../../scripts/commands-doc.ts";
import { END, START } from "../../scripts/readme-sync.ts";
import { configKeys } from "../../src/config/index.ts";

const root = join(import.meta.dir, "..", "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const readme = read("README.md");

test("docs/commands.md's command reference matches the command table (run bun scripts/readme-sync.ts)", () => {
  const doc = read("docs/commands.md");
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  expect(a).toBeGreaterThanOrEqual(0);
  expect(b).toBeGreaterThan(a);
  expect(doc.slice(a + START.length, b).trim()).toBe(commandReference().trim());
});

test("docs/configuration.md documents every configuration key", () => {
  // Each key appears in the configuration table by its TOML name (`name` or `[section] name`).
  const doc = read("docs/configuration.md");
  const missing = configKeys
    .map((k) => k.key.split(".").pop()!)
    .filter((name) => !new RegExp(`[\\s\`]${name}[\`,]`).test(doc));
  expect(missing).toEqual([]);
});

test("the README gives the two set-up commands", () => {
  expect(readme).toContain("npm install && npm start");
  expect(readme).toContain("npm install && npm test");
});

test("every docs/*.md link in the README exists, and every docs/*.md file is linked", () => {
  const linked = new Set(
    [...readme.matchAll(/\]\((?:\.\/)?(docs\/[^)#\s]+\.md)(?:#[^)]*)?\)/g)].map((m) => m[1]!),
  );
  const broken = [...linked].filter((path) => !existsSync(join(root, path)));
  expect(broken).toEqual([]);
  const files = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`);
  const unlinked = files.filter((path) => !linked.has(path));
  expect(unlinked).toEqual([]);
});

test("links between docs/*.md files point to files that exist", () => {
  const broken: string[] = [];
  for (const name of readdirSync(join(root, "docs")).filter((n) => n.endsWith(".md"))) {
    for (const m of read(`docs/${name}`).matchAll(/\]\(([^)#\s:]+\.md)(?:#[^)]*)?\)/g)) {
      const target = m[1]!.startsWith("../") ? m[1]!.slice(3) : `docs/${m[1]}`;
      if (!existsSync(join(root, target))) broken.push(`docs/${name} → ${m[1]}`);
    }
  }
  expect(broken).toEqual([]);
});
