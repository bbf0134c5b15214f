import { limits } from "../../limits.ts";
import type { Logger } from "../../log.ts";
import type { ValueCodec } from "../codecs/codec.ts";
import { type KeyParam, keyBytes } from "../engine/keys.ts";
import type { Shard } from "../engine/shard.ts";
import { FORMAT_VERSION, maintenanceSql, ROW_STRING } from "../engine/sql.ts";
import { bytesEqual } from "../keyspace/inline-hash.ts";
import type { KeyTable } from "../keyspace/key-table.ts";

/** What the namespace upgrade needs of the store: its files, database 0 and the codec. */
export interface UpgradeHost {
  readonly shards: readonly Shard[];
  readonly db0: { readonly keyTables: readonly KeyTable[] };
  readonly codec: ValueCodec;
  shardOf(key: Uint8Array): number;
  now(): number;
}

/**
 * Format 1's table name of a namespace → the namespace, or null for other tables. Names were
 * `blobs_` + the namespace with each upper-case letter X written `^x`, and a trailing `^` when
 * the result ended in `_expires_at`; the Rust original's mixed-case names read as lower case.
 */
export function namespaceOfTable(table: string): string | null {
  const prefix = "blobs_";
  if (!table.startsWith(prefix)) return null;
  let body = table.toLowerCase().slice(prefix.length);
  if (body.endsWith("^")) body = body.slice(0, -1);
  let ns = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === "^") {
      const next = body[++i];
      if (next === undefined || next < "a" || next > "z") return null;
      ns += next.toUpperCase();
    } else if (/[a-z0-9_]/.test(ch)) ns += ch;
    else return null;
  }
  return ns.length === 0 ? null : ns;
}

interface FieldRowV1 {
  rowid: number;
  key: KeyParam;
  value: Uint8Array;
  expires_at: number | null;
}

/** Steps 2 and 3 for the whole store; throws (and the server does not start) on a mismatch. */
export function upgradeNamespaces(store: UpgradeHost, log?: Logger): void {
  const started = performance.now();
  const sources = new Map<string, { shard: number; table: string }[]>();
  store.shards.forEach((shard, i) => {
    for (const { name } of shard.db.query(maintenanceSql.listLegacyTables).all() as {
      name: string;
    }[]) {
      const ns = namespaceOfTable(name);
      if (ns === null) continue;
      const list = sources.get(ns) ?? [];
      list.push({ shard: i, table: name });
      sources.set(ns, list);
    }
  });
  const names = [...sources.keys()].sort();
  log?.info(
    `upgrading the data dir to format ${FORMAT_VERSION}: ${names.length} hash namespace(s) become hash keys`,
  );
  let fields = 0;
  let lastReport = performance.now();
  names.forEach((ns, n) => {
    const copied = moveNamespace(store, ns, sources.get(ns)!, log);
    fields += copied;
    if (performance.now() - lastReport > 5000 || n === names.length - 1) {
      lastReport = performance.now();
      log?.info(`upgrade: ${n + 1}/${names.length} namespaces, ${fields} fields moved`);
    }
  });
  for (const shard of store.shards) shard.db.run(`PRAGMA user_version = ${FORMAT_VERSION}`);
  log?.info(
    `upgrade to format ${FORMAT_VERSION} done in ${Math.round(performance.now() - started)} ms`,
  );
}

function moveNamespace(
  store: UpgradeHost,
  ns: string,
  tables: { shard: number; table: string }[],
  log?: Logger,
): number {
  const db0 = store.db0;
  const target = chooseKey(store, ns, log);
  const shardIndex = store.shardOf(target);
  const shard = store.shards[shardIndex]!;
  const keyTable = db0.keyTables[shardIndex]!;
  const key = new TextDecoder().decode(target);
  const pageRows = limits.upgradeRowsPerTransaction;
  let copied = 0;
  for (const { shard: s, table } of tables) {
    forEachPage(store, s, table, pageRows, (rows, now) => {
      shard.runTransaction(() => {
        const hash = keyTable.hashWriter(key, now);
        for (const row of rows) {
          hash.set(keyBytes(row.key), store.codec.decode(row.value), row.expires_at, now);
        }
        hash.save(now);
      });
      copied += rows.length;
    });
  }
  // Every source field must read back equal before any source table is dropped.
  for (const { shard: s, table } of tables) {
    forEachPage(store, s, table, pageRows, (rows, now) => {
      const hash = keyTable.hash(key, now);
      for (const row of rows) {
        const got = hash?.get(keyBytes(row.key), now);
        if (!got || !bytesEqual(got.value, store.codec.decode(row.value))) {
          throw new Error(
            `upgrade check failed: field ${JSON.stringify(String(row.key))} of hash ${ns} in ${store.shards[s]!.path} did not read back equal; nothing was dropped`,
          );
        }
      }
    });
  }
  for (const { shard: s, table } of tables) {
    store.shards[s]!.db.run(`DROP TABLE IF EXISTS "${table}"`);
  }
  return copied;
}

/** The key a namespace moves to: its own name, unless a string holds it (see file comment). */
function chooseKey(store: UpgradeHost, ns: string, log?: Logger): Uint8Array {
  const encoder = new TextEncoder();
  const now = store.now();
  for (let i = 0; ; i++) {
    const name = i === 0 ? ns : i === 1 ? `${ns}:hash` : `${ns}:hash:${i}`;
    const bytes = encoder.encode(name);
    const table: KeyTable = store.db0.keyTables[store.shardOf(bytes)]!;
    const entry = table.entry(name, now);
    if (entry === null || entry.type !== ROW_STRING) {
      if (i > 0)
        log?.warn(
          `upgrade: the string key ${JSON.stringify(ns)} and the hash namespace of the same name both existed; the hash is now the key ${JSON.stringify(name)}`,
        );
      return bytes;
    }
  }
}

function forEachPage(
  store: UpgradeHost,
  shard: number,
  table: string,
  pageRows: number,
  visit: (rows: FieldRowV1[], now: number) => void,
): void {
  const stmt = store.shards[shard]!.db.query(
    `SELECT rowid, key, value, expires_at FROM "${table}" WHERE rowid > ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY rowid LIMIT ?3`,
  );
  let after = 0;
  for (;;) {
    const now = store.now();
    const rows = stmt.all(after, now, pageRows) as FieldRowV1[];
    if (rows.length === 0) return;
    visit(rows, now);
    after = rows[rows.length - 1]!.rowid;
    if (rows.length < pageRows) return;
  }
}
