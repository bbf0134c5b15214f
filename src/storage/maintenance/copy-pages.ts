/**
 * The copy loop `shard migrate` and `import` share: a source table is read a page of live
 * rows at a time, in rowid order after the last row seen, and each page is written in one
 * transaction (across every target file) before the next page is read. Memory holds one page
 * whatever the table's size, and `pageDone` reports progress after each commit.
 */
import type { Statement } from "bun:sqlite";

export function copyPages<R extends { rowid: bigint }>(
  page: Statement,
  now: number,
  batch: number,
  transaction: (body: () => void) => void,
  write: (rows: R[]) => void,
  pageDone: (rows: R[]) => void,
): void {
  let after = 0n;
  for (;;) {
    const rows = page.all(after, now, batch) as R[];
    if (rows.length === 0) return;
    transaction(() => write(rows));
    pageDone(rows);
    after = rows[rows.length - 1]!.rowid;
  }
}

/** One transaction spanning every target file: begun on all, then committed on all. */
export function acrossTargets(
  targets: readonly { beginImmediate(): void; commitTransaction(): void }[],
): (body: () => void) => void {
  return (body) => {
    for (const t of targets) t.beginImmediate();
    body();
    for (const t of targets) t.commitTransaction();
  };
}
