import { type KeyParam, keyParam } from "../engine/keys.ts";
import type { ExpiryMs } from "../engine/shard.ts";
import { ROW_HASH_TABLE } from "../engine/sql.ts";
import { encodeRef } from "../large/format.ts";
import { KeyTable } from "./key-table.ts";
import type { KeyEntry, KeyRows } from "./rows.ts";

/**
 * Moving and copying whole keys of any type between key tables (RENAME, RENAMENX, COPY, MOVE),
 * inside the writer transactions of the shards involved. A string or a small hash is one row
 * (putRow with its type); a string kept in a file (large/) gets a hard link of its file
 * under a new name (RENAME within a table keeps the row and the name), so no byte of it is
 * read; a large hash's fields are rows of the fields table, so:
 *  - renaming it within one table keeps its key row (KeyTable.renameRow): the rowid, and with
 *    it every field, stays where it is, whatever the hash's size;
 *  - copying it, or moving it to another shard or database, writes its fields into a new large
 *    hash page by page (memory stays bounded by one page). The copy stays a large hash, as
 *    Redis's COPY of a hashtable-encoded hash stays a hashtable.
 * The key's own TTL travels exactly (bigint beyond 2^53); field TTLs travel with the fields.
 */

const EMPTY = new Uint8Array(0);

/**
 * Commands hand over the KeyRows view; every one is a KeyTable, whose SQL a large hash's copy
 * needs. Checked, so a future view that is not fails loudly instead of corrupting a copy.
 */
function tableOf(rows: KeyRows): KeyTable {
  if (rows instanceof KeyTable) return rows;
  throw new Error("key moves need a shard's KeyTable");
}
/** Fields read per page while copying a large hash. */
const COPY_PAGE_FIELDS = 1_000;

/**
 * Writes `entry` (the live key `srcKey` of `from`) as `dstKey` of `to`, replacing whatever
 * `dstKey` held. The source is left alone (the caller removes it for a move).
 */
export function copyKey(
  fromRows: KeyRows,
  srcKey: KeyParam,
  entry: KeyEntry,
  toRows: KeyRows,
  dstKey: KeyParam,
  now: number,
): void {
  const from = tableOf(fromRows);
  const to = tableOf(toRows);
  const expiresAt = entry.expiresAt === null ? null : (from.exactExpiry(srcKey, now) ?? null);
  // Dropping the destination first keeps an old large hash's field count from leaking into
  // the new row (the upsert keeps `fields` when both rows are large hashes).
  to.remove(dstKey, now);
  if (entry.large !== undefined) {
    // A value kept in a file: the new row gets a hard link of it, never a copy of its bytes.
    to.putFile(dstKey, from.linkFile(srcKey, entry.large), now, expiresAt);
    return;
  }
  if (entry.type !== ROW_HASH_TABLE) {
    to.putRow(dstKey, entry.type, entry.value, now, expiresAt);
    return;
  }
  copyFields(from, srcKey, to, dstKey, expiresAt, now);
}

function copyFields(
  from: KeyTable,
  srcKey: KeyParam,
  to: KeyTable,
  dstKey: KeyParam,
  expiresAt: ExpiryMs | null,
  now: number,
): void {
  const view = from.hash(srcKey, now);
  if (view === null) return;
  to.putRow(dstKey, ROW_HASH_TABLE, EMPTY, now, expiresAt);
  const s = to.statements;
  const { id } = s.hashRowStmt.get(dstKey)!;
  let after = 0;
  let count = 0;
  do {
    const page = view.page(after, COPY_PAGE_FIELDS, now);
    for (const item of page.items) {
      // A field kept in a file gets a hard link of it, never a copy of its bytes.
      const stored = item.large
        ? encodeRef(from.linkFile(srcKey, item.large))
        : to.encodeField(dstKey, item.value);
      s.fieldUpsertStmt.run(id, keyParam(item.field), stored, item.expiresAt);
      count++;
    }
    after = page.next;
  } while (after !== 0);
  s.addFieldsStmt.run(id, count);
  // A large hash is never cached, but the putRow above may have left nothing to invalidate
  // only because of that rule: drop any entry for the new key to be safe.
  to.cache.delete(to.idOf(dstKey));
  if (count === 0) to.remove(dstKey, now);
}

/**
 * Moves the live key `srcKey` of `from` to `dstKey` of `to` (replacing it). Within one table
 * a large hash or a file row is renamed in place; everything else is copied, then the source
 * removed.
 */
export function moveKey(
  fromRows: KeyRows,
  srcKey: KeyParam,
  entry: KeyEntry,
  toRows: KeyRows,
  dstKey: KeyParam,
  now: number,
): void {
  const from = tableOf(fromRows);
  const to = tableOf(toRows);
  // Within one table a large hash or a file row keeps its row: its fields or its file stay.
  if ((entry.type === ROW_HASH_TABLE || entry.large !== undefined) && from === to) {
    from.renameRow(srcKey, dstKey, now);
    return;
  }
  copyKey(from, srcKey, entry, to, dstKey, now);
  from.remove(srcKey, now);
}
