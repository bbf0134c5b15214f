import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { commandReference } from "../../scripts/commands-doc.ts";
import { configKeys } from "../../src/config/index.ts";

const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8");

test("the README's command reference matches the command table (run bun scripts/readme-sync.ts)", () => {
  const a = readme.indexOf("<!-- commands:start -->");
  const b = readme.indexOf("<!-- commands:end -->");
  expect(readme.slice(a + "<!-- commands:start -->".length, b).trim()).toBe(
    commandReference().trim(),
  );
});

test("the README documents every configuration key", () => {
  // Each key appears in the configuration table by its TOML name (`name` or `[section] name`).
  const missing = configKeys
    .map((k) => k.key.split(".").pop()!)
    .filter((name) => !new RegExp(`[\\s\`]${name}[\`,]`).test(readme));
  expect(missing).toEqual([]);
});

test("the README gives the two set-up commands", () => {
  expect(readme).toContain("npm install && npm start");
  expect(readme).toContain("npm install && npm test");
});
