/** Reading a shard file's schema from a test, read-only, closing it again. */
import { Database } from "bun:sqlite";

function names(path: string, type: "table" | "trigger"): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (
      db.query("SELECT name FROM sqlite_master WHERE type = ?1 ORDER BY name").all(type) as {
        name: string;
      }[]
    ).map((r) => r.name);
  } finally {
    db.close();
  }
}

/** The tables of a shard file, by name. */
export function tablesOf(path: string): string[] {
  return names(path, "table");
}

/** The triggers of a shard file, by name. */
export function triggersOf(path: string): string[] {
  return names(path, "trigger");
}

/** The file's data format (`PRAGMA user_version`). */
export function userVersion(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  } finally {
    db.close();
  }
}
