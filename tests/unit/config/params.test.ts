/**
 * The CONFIG parameter registry (src/commands/config-params.ts) is shared by several rooms
 * (security, pub/sub, cluster add their rows): these checks keep it one consistent list.
 */
import { expect, test } from "bun:test";
import { configParams, findParam } from "../../../src/commands/config/registry.ts";
import { configKeys } from "../../../src/config/index.ts";

test("every CONFIG name and alias is unique and lower case", () => {
  const names = configParams.flatMap((p) => [p.name, ...(p.aliases ?? [])]);
  expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  for (const n of names) expect(n).toBe(n.toLowerCase());
});

test("every config-file key CONFIG REWRITE writes to exists in the schema", () => {
  const keys = new Set(configKeys.map((k) => k.key));
  const missing = configParams.filter((p) => p.tomlKey && !keys.has(p.tomlKey));
  expect(missing.map((p) => `${p.name} -> ${p.tomlKey}`)).toEqual([]);
});

test("knobs with no effect can be set, and aliases find their parameter", () => {
  for (const p of configParams.filter((x) => x.noEffect)) expect(p.prepare).toBeDefined();
  expect(findParam("hash-max-ziplist-entries")?.name).toBe("hash-max-listpack-entries");
  expect(findParam("list-max-ziplist-size")?.name).toBe("list-max-listpack-size");
  expect(findParam("no-such-parameter")).toBeUndefined();
});
