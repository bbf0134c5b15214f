/**
 * House rules the dependency checker cannot see, because they are about members, not imports
 * (docs/design.md): commands reach keys only through Keyspace and its row views, never a
 * shard's SQL statements or its KeyTable array; and no source file grows past 400 lines.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const SRC = join(import.meta.dir, "../../../src");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Code without its comments, so a comment may still name what the code must not touch. */
function code(path: string): string {
  return readFileSync(path, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "");
}

describe("house rules", () => {
  test("commands never touch a shard's statements, KeyTables or value cache", () => {
    const reaches: string[] = [];
    for (const path of sources(join(SRC, "commands"))) {
      const text = code(path);
      for (const member of [".statements", ".keyTables", "Stmt.", ".cache.", ".idOf("]) {
        if (text.includes(member)) reaches.push(`${path.slice(SRC.length + 1)}: ${member}`);
      }
    }
    expect(reaches).toEqual([]);
  });

  test("no source file is over 400 lines", () => {
    const long = sources(SRC)
      .map((path) => ({
        path: path.slice(SRC.length + 1),
        lines: readFileSync(path, "utf8").split("\n").length - 1,
      }))
      .filter((f) => f.lines > 400);
    expect(long).toEqual([]);
  });

  test("the sources this test reads are really there", () => {
    // Guards the two tests above against passing on an empty walk.
    expect(sources(join(SRC, "commands")).length).toBeGreaterThan(40);
    expect(sources(SRC).length).toBeGreaterThan(150);
  });
});
