/**
 * The large-value side of an online backup (storage/maintenance/backup.ts): the files the shard snapshots
 * reference are hard-linked into `<backup>/large/` (copied when the backup is on another file
 * system). Files are immutable once renamed into place, so a link is a consistent copy that
 * stays whole even after the server deletes the key and unlinks its own name.
 * Consistency: every file present before the first snapshot is linked first; after each
 * snapshot the files it references are linked. A file that the server removed between the
 * snapshot and the link (its key was deleted meanwhile) makes the caller take that shard's
 * snapshot again, which no longer references it.
 */

import type { Database } from "bun:sqlite";
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { largeSql } from "../engine/sql.ts";
import { refIdOf } from "./format.ts";

const FILE_NAME = /^[0-9a-f]{32}$/;

export class LargeBackup {
  private readonly from: string;
  private readonly to: string;
  private readonly linked = new Set<string>();
  private readonly referenced = new Set<string>();
  bytesLinked = 0;

  constructor(dataDir: string, toDir: string) {
    this.from = join(dataDir, "large");
    this.to = join(toDir, "large");
  }

  /** Step 1: links every file present now. */
  linkPresent(): void {
    if (!existsSync(this.from)) return;
    mkdirSync(this.to, { recursive: true });
    for (const name of readdirSync(this.from)) if (FILE_NAME.test(name)) this.link(name);
  }

  /**
   * Step 2, after each shard snapshot: links what the snapshot references. False when a
   * referenced file is gone (the caller snapshots that shard again).
   */
  linkReferenced(snapshot: Database): boolean {
    let whole = true;
    for (const { name } of snapshot.query(largeSql.keyTables).all() as { name: string }[]) {
      for (const row of snapshot.query(largeSql.refsOf(name)).all() as { value: Uint8Array }[]) {
        const id = refIdOf(row.value);
        if (id === null) continue;
        if (!this.linked.has(id) && !this.link(id)) whole = false;
        else this.referenced.add(id);
      }
    }
    return whole;
  }

  /** Step 3: drops linked files no snapshot references (keys deleted before their snapshot). */
  prune(): number {
    let n = 0;
    for (const id of this.linked) {
      if (this.referenced.has(id)) continue;
      unlinkSync(join(this.to, id));
      n++;
    }
    return n;
  }

  get files(): number {
    return this.referenced.size;
  }

  private link(id: string): boolean {
    mkdirSync(this.to, { recursive: true });
    const source = join(this.from, id);
    const target = join(this.to, id);
    try {
      try {
        linkSync(source, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
        copyFileSync(source, target);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
    this.linked.add(id);
    return true;
  }
}
