/**
 * The cluster slot back-fill: rows written before the `slot` column existed read NULL there
 * (schema-upgrade.ts: upgradeSchemaSlots), so until every row of a shard file has its slot,
 * that file's slot index cannot answer alone and cluster/slot-keys.ts scans instead. A node
 * started in cluster mode runs this once per file that lacks the marker: bounded batches
 * through the shard's writer (so they share group commits with clients and never hold the
 * write lock long), each filling the slot of up to limits.slotBackfillRowsPerBatch rows.
 * Progress lives in the rows themselves (`slot IS NULL`), so a node killed half way resumes
 * where it stopped. The batch that finds no NULL left sets the marker in the same
 * transaction, after checking every keys table (a SWAPDB may have renamed them meanwhile).
 */
import { limits } from "../../limits.ts";
import type { Logger } from "../../log.ts";
import { slotOfKey } from "../engine/key-slot.ts";
import type { KeyParam } from "../engine/keys.ts";
import type { Shard } from "../engine/shard.ts";
import { maintenanceSql, metaSql, slotFillSql } from "../engine/sql.ts";
import type { Store } from "../store.ts";

/** Where one file's back-fill stands: the table it works on and the last rowid it passed. */
interface FileCursor {
  table: number;
  after: number;
  filled: number;
}

export class SlotBackfill {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private readonly cursors = new Map<number, FileCursor>();
  private started = 0;
  private lastReport = 0;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Starts the back-fill of every shard file without the marker; a no-op when none lacks it. */
  start(): void {
    this.stopped = false;
    this.store.shards.forEach((shard, i) => {
      if (!shard.slotsComplete) this.cursors.set(i, { table: 0, after: 0, filled: 0 });
    });
    if (this.cursors.size === 0) return;
    this.started = performance.now();
    this.lastReport = this.started;
    this.log.info(
      `cluster slot index: back-filling the slot of rows written before it in ${this.cursors.size} shard file(s); CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT scan until it is done`,
    );
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** True once every file has the marker (tests wait on this). */
  get done(): boolean {
    return this.cursors.size === 0;
  }

  private schedule(): void {
    if (this.stopped || this.cursors.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.round();
    }, limits.slotBackfillPauseMs);
  }

  /** One batch on every unfinished file, then the next round. */
  private async round(): Promise<void> {
    try {
      await Promise.all(
        [...this.cursors].map(async ([i, cursor]) => {
          const shard = this.store.shards[i]!;
          const finished = await this.store.writeShard(i, () => fillBatch(shard, cursor));
          if (finished) this.cursors.delete(i);
        }),
      );
    } catch (error) {
      // A failed batch changed nothing (its transaction rolled back); the next round retries.
      this.log.warn(`cluster slot index: a back-fill batch failed: ${(error as Error).message}`);
    }
    this.report();
    this.schedule();
  }

  private report(): void {
    const now = performance.now();
    const filled = [...this.cursors.values()].reduce((n, c) => n + c.filled, 0);
    if (this.cursors.size === 0) {
      this.log.info(
        `cluster slot index: back-fill done in ${Math.round(now - this.started)} ms; the index answers CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT`,
      );
    } else if (now - this.lastReport >= 10_000) {
      this.lastReport = now;
      this.log.info(
        `cluster slot index: back-fill in progress, ${filled} row(s) filled since start, ${this.cursors.size} shard file(s) left`,
      );
    }
  }
}

/**
 * One batch on one file, inside the shard's write transaction; true once the file is
 * complete (its marker set in this same transaction).
 */
function fillBatch(shard: Shard, cursor: FileCursor): boolean {
  const db = shard.db;
  const tables = (db.query(maintenanceSql.listKeyTables).all() as { name: string }[]).map(
    (t) => t.name,
  );
  let budget = limits.slotBackfillRowsPerBatch;
  while (budget > 0 && cursor.table < tables.length) {
    const table = tables[cursor.table]!;
    const rows = db.query(slotFillSql.page(table)).all(cursor.after, budget) as {
      id: number;
      key: KeyParam;
    }[];
    const set = db.query(slotFillSql.set(table));
    for (const row of rows) set.run(row.id, slotOfKey(row.key));
    budget -= rows.length;
    cursor.filled += rows.length;
    if (rows.length > 0) cursor.after = rows[rows.length - 1]!.id;
    if (budget > 0) {
      cursor.table++;
      cursor.after = 0;
    }
  }
  if (cursor.table < tables.length) return false;
  // Every table walked once: confirm none still holds a NULL (one scan per file, once).
  if (tables.some((t) => db.query(slotFillSql.anyMissing(t)).get() !== null)) {
    cursor.table = 0;
    cursor.after = 0;
    return false;
  }
  db.query(metaSql.set).run(metaSql.slotsComplete, 1);
  return true;
}
