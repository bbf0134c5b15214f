/**
 * A slot's keys (CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT, SETSLOT NODE's "still hold keys"
 * check, CLUSTER RESET's emptiness check). Storage has no slot index yet, so this walks the
 * keys tables of database 0 in rowid pages and hashes every key: O(keys on this node) per
 * call, bounded in memory by one page. When storage gains an indexed slot column (see
 * docs/cluster.md, "Storage"), only this file changes.
 */

import { limits } from "../limits.ts";
import { type Keyspace, keyBytes } from "../storage/api.ts";
import { keySlot } from "./slots.ts";

const PAGE_ROWS = limits.scanRowsPerStepMax;

/**
 * Calls `visit` with each live key of `slot` (its bytes) until it returns false.
 * Expired rows the sweep has not removed yet are skipped.
 */
export function forEachKeyInSlot(
  ks: Keyspace,
  slot: number,
  visit: (key: Uint8Array) => boolean,
): void {
  const now = ks.now();
  for (const table of ks.keyTables) {
    let after = 0;
    for (;;) {
      const rows = table.scanPage(after, PAGE_ROWS);
      if (rows.length === 0) break;
      for (const row of rows) {
        after = row.rowid;
        if (row.expires_at !== null && row.expires_at <= now) continue;
        const key = keyBytes(row.key);
        if (keySlot(key) !== slot) continue;
        if (!table.has(row.key, now)) continue;
        if (!visit(key)) return;
      }
      if (rows.length < PAGE_ROWS) break;
    }
  }
}

export function countKeysInSlot(ks: Keyspace, slot: number): number {
  let n = 0;
  forEachKeyInSlot(ks, slot, () => {
    n++;
    return true;
  });
  return n;
}

export function getKeysInSlot(ks: Keyspace, slot: number, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (count <= 0) return out;
  forEachKeyInSlot(ks, slot, (key) => {
    out.push(key);
    return out.length < count;
  });
  return out;
}

/** True when this node holds any live key in database 0 (CLUSTER RESET refuses then). */
export function holdsKeys(ks: Keyspace): boolean {
  return ks.countKeys(ks.now()) > 0;
}
