/**
 * The namespace-to-table-name mapping (storage/namespaces.ts) and the per-shard catalog of
 * namespace tables against a real shard file: case-sensitive namespaces stay apart although
 * SQLite table names are not, no table name ever collides with an expiry index, and the
 * catalog read back at open matches what was created.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ValueCache } from "../../../src/storage/cache.ts";
import { ValueCodec } from "../../../src/storage/codecs/codec.ts";
import {
  namespaceOfTable,
  parseNamespace,
  ShardNamespaces,
  tableNameOf,
} from "../../../src/storage/namespaces.ts";
import { Shard } from "../../../src/storage/shard.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";

/** Deterministic pseudo-random namespaces, biased towards the tricky `_expires_at` tail. */
function sampleNamespaces(count: number): string[] {
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let ns = "";
    const len = 1 + (next() % 12);
    for (let j = 0; j < len; j++) ns += ALPHABET[next() % ALPHABET.length];
    if (i % 5 === 0) ns += next() % 2 === 0 ? "_expires_at" : "_EXPIRES_AT";
    out.push(ns);
  }
  return out;
}

describe("namespace validation", () => {
  test("letters, digits and underscores of either case are valid namespaces", () => {
    for (const ns of ["users", "users123", "users_123", "Users", "_", "0", "A_b_9"]) {
      expect(parseNamespace(bytes(ns))).toBe(ns);
    }
  });

  test("empty names and any other character are refused", () => {
    for (const ns of ["", "a-b", "a b", "a.b", "a:b", "ü", "a^b", 'a"b', "a\r\n"]) {
      expect(parseNamespace(bytes(ns))).toBeNull();
    }
  });
});

describe("table names", () => {
  test("a lower-case namespace keeps the seed's table name blobs_<namespace>", () => {
    expect(tableNameOf("users")).toBe("blobs_users");
    expect(tableNameOf("users_123")).toBe("blobs_users_123");
  });

  test("each upper-case letter is escaped with ^ so Users and users get different tables", () => {
    expect(tableNameOf("Users")).toBe("blobs_^users");
    expect(tableNameOf("USERS")).toBe("blobs_^u^s^e^r^s");
    expect(tableNameOf("uSer9")).toBe("blobs_u^ser9");
  });

  test("a name ending in _expires_at gets a final ^ so it never equals an index name", () => {
    expect(tableNameOf("expires_at")).toBe("blobs_expires_at^");
    expect(tableNameOf("a_expires_at")).toBe("blobs_a_expires_at^");
    expect(tableNameOf("aexpires_at")).toBe("blobs_aexpires_at");
    expect(tableNameOf("a_Expires_at")).toBe("blobs_a_^expires_at");
  });

  test("every table name is lower case, so SQLite's case folding cannot merge two namespaces", () => {
    const all = sampleNamespaces(2000);
    const byFolded = new Map<string, string>();
    for (const ns of all) {
      const name = tableNameOf(ns);
      expect(name).toBe(name.toLowerCase());
      const other = byFolded.get(name);
      if (other !== undefined) expect(other).toBe(ns);
      byFolded.set(name, ns);
    }
  });

  test("no namespace's table is named like the expiry index of blobs or of another namespace", () => {
    const names = new Set(sampleNamespaces(2000).map(tableNameOf));
    const indexes = new Set(["blobs_expires_at", ...[...names].map((t) => `${t}_expires_at`)]);
    for (const name of names) expect(indexes.has(name)).toBe(false);
  });

  test("decoding a table name gives back the namespace it was made from", () => {
    for (const ns of sampleNamespaces(2000)) expect(namespaceOfTable(tableNameOf(ns))).toBe(ns);
  });

  test("names that no namespace maps to decode to null", () => {
    for (const table of [
      "blobs",
      "blobs_",
      "other_users",
      "blobs_a^",
      "blobs_^",
      "blobs_^1",
      "blobs_a-b",
      "blobs_expires_at",
      "blobs_x_expires_at",
      "blobs_ab^^",
    ]) {
      expect(namespaceOfTable(table)).toBeNull();
    }
  });

  test("a mixed-case table of the Rust original is read as its lower-case namespace", () => {
    // SQLite resolves blobs_Users and blobs_users to the same table.
    expect(namespaceOfTable("blobs_Users")).toBe("users");
  });
});

describe("the namespace catalog of one shard", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const settings = {
    cacheSizeMb: 8,
    busyTimeoutMs: 1000,
    synchronous: "NORMAL" as const,
    mmapSizeMb: 0,
    journalSizeLimitMb: 16,
  };
  const codec = new ValueCodec({ enabled: false, algorithm: "none", level: null, minSizeBytes: 0 });

  function openShard(dir: string): Shard {
    return new Shard(0, join(dir, "shard_0.db"), settings, 1);
  }

  test("namespaces differing only in case and the expires_at namespace get tables of their own", () => {
    const dir = mkdtempSync(join(tmpdir(), "blobasaur-ns-"));
    dirs.push(dir);
    const shard = openShard(dir);
    const catalog = new ShardNamespaces(shard, codec, new ValueCache(1 << 20, 1 << 16));
    expect(catalog.table("users")).toBeNull();
    shard.beginImmediate();
    for (const [ns, value] of [
      ["users", "lower"],
      ["Users", "capital"],
      ["expires_at", "index-like"],
      ["users_expires_at", "suffix"],
    ] as const) {
      catalog.ensure(ns).putEncoded("f", bytes(value), codec.encode(bytes(value)), 1, null);
    }
    shard.commitTransaction();
    // Straight from SQLite, not the value cache: each namespace must have its own table.
    const read = (ns: string) => {
      const table = catalog.table(ns)!;
      return new TextDecoder().decode(table.decode(table.rows.getStmt.get("f")!.value));
    };
    expect(read("users")).toBe("lower");
    expect(read("Users")).toBe("capital");
    expect(read("expires_at")).toBe("index-like");
    expect(read("users_expires_at")).toBe("suffix");
    shard.close();

    const reopened = openShard(dir);
    const again = new ShardNamespaces(reopened, codec, new ValueCache(1 << 20, 1 << 16));
    expect([...again.names()].sort()).toEqual(["Users", "expires_at", "users", "users_expires_at"]);
    expect(new TextDecoder().decode(again.table("Users")!.live("f", 2)!.value)).toBe("capital");
    reopened.beginImmediate();
    expect(again.drop("Users", 2)).toBe(1);
    reopened.commitTransaction();
    expect(again.table("Users")).toBeNull();
    expect(again.table("users")).not.toBeNull();
    reopened.close();
  });

  test("reload forgets a table whose CREATE was rolled back", () => {
    const dir = mkdtempSync(join(tmpdir(), "blobasaur-ns-"));
    dirs.push(dir);
    const shard = openShard(dir);
    const catalog = new ShardNamespaces(shard, codec, new ValueCache(1 << 20, 1 << 16));
    shard.beginImmediate();
    catalog.ensure("ghost");
    shard.rollbackTransaction();
    catalog.reload();
    expect(catalog.table("ghost")).toBeNull();
    shard.close();
  });
});
