/**
 * A slot's keys (CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT, SETSLOT NODE's "still hold keys"
 * check, CLUSTER RESET's emptiness check). Storage keeps each key row's slot in an indexed
 * column; once every shard file's older rows have been back-filled (storage's SlotBackfill),
 * a call costs O(keys in the slot). Until then this walks database 0's keys tables in rowid
 * pages and hashes every key: O(keys on this node), bounded in memory by one page.
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
  if (ks.slotIndexReady()) return ks.countKeysInSlot(slot, ks.now());
  let n = 0;
  forEachKeyInSlot(ks, slot, () => {
    n++;
    return true;
  });
  return n;
}

export function getKeysInSlot(ks: Keyspace, slot: number, count: number): Uint8Array[] {
  if (count <= 0) return [];
  if (ks.slotIndexReady()) return ks.keysInSlot(slot, count, ks.now()).map(keyBytes);
  const out: Uint8Array[] = [];
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
