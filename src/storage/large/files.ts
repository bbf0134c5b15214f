/**
 * The large-value directory of a data dir: `<data_dir>/large/<id>` holds one value each (the
 * format is in format.ts), `<data_dir>/large/tmp/` holds uploads in flight. One directory for
 * the whole data dir, so `shard migrate` moves only rows. This module owns the directory's
 * life cycle:
 *   - startup: empties tmp/ (uploads a killed server left behind) and removes every file no
 *     key row references (a crash between a file's rename and its row's COMMIT);
 *   - uploads (upload.ts) and reads (file.ts);
 *   - garbage: SQLite triggers put the reference of every deleted or overwritten file row into
 *     `large_garbage` in the same transaction (sql.ts); collect() unlinks those files after the
 *     commit and then deletes their garbage rows (a crash in between only repeats an unlink).
 * It must not import protocol, commands or cluster code.
 */

import type { Database } from "bun:sqlite";
import { linkSync, mkdirSync, readdirSync, unlinkSync } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../log.ts";
import type { ValueCodec } from "../codecs/codec.ts";
import { fsyncDir } from "../engine/durable-fs.ts";
import { largeSql } from "../engine/sql.ts";
import { LargeFile, LargeStream } from "./file.ts";
import { decodeRef, type LargeRef, newFileId, refIdOf } from "./format.ts";
import { patchValue } from "./patch.ts";
import { LargeUpload, type UploadHost } from "./upload.ts";

const FILE_NAME = /^[0-9a-f]{32}$/;

export interface LargeSettings {
  /** Bulk strings longer than this go to a file instead of memory and SQLite. */
  thresholdBytes: number;
  chunkBytes: number;
  /** How often the garbage of deleted values is collected. */
  collectIntervalMs: number;
}

/** A shard file as the large-value room sees it: its connection, nothing more. */
export interface ShardFile {
  readonly db: Database;
}

/** What collect() needs from the store. */
export interface LargeHost {
  readonly shards: readonly ShardFile[];
  writeShard<T>(shard: number, fn: (now: number) => T): Promise<T>;
}

export class LargeFiles implements UploadHost {
  readonly dir: string;
  readonly tmpDir: string;
  readonly chunkBytes: number;
  readonly thresholdBytes: number;
  /** Uploads with an open file right now (INFO / tests). */
  uploads = 0;
  /** Files unlinked by collect() and by the startup scan. */
  reclaimed = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private collecting: Promise<number> | null = null;

  constructor(
    dataDir: string,
    readonly codec: ValueCodec,
    private readonly settings: LargeSettings,
    private readonly log?: Logger,
  ) {
    this.dir = join(dataDir, "large");
    this.tmpDir = join(this.dir, "tmp");
    this.chunkBytes = settings.chunkBytes;
    this.thresholdBytes = settings.thresholdBytes;
    mkdirSync(this.tmpDir, { recursive: true });
    // Uploads in flight when the server stopped were never acknowledged: drop them.
    for (const name of readdirSync(this.tmpDir)) unlinkQuiet(join(this.tmpDir, name));
  }

  /** Logs an operating error of a large value (the connection has no logger of its own). */
  report(message: string): void {
    this.log?.error(message);
  }

  /** A new upload of `size` bytes (the parser's sink for one bulk string). */
  upload(size: number): LargeUpload {
    return new LargeUpload(this, size);
  }

  /** Writes a value a command built in memory to a durable file at once (persistSync). */
  writeWhole(value: Uint8Array): LargeRef {
    const up = new LargeUpload(this, value.length);
    up.write(value);
    return up.finish().persistSync();
  }

  /**
   * A second name for a stored value's file (RENAME across shards or databases, COPY, MOVE):
   * a hard link under a new id, made durable (fsync of large/) before the caller's row
   * commits. Files are never changed once written (APPEND and SETRANGE write new ones), so two
   * rows may share the bytes; each row owns its own name, and unlinking one name (garbage,
   * orphan scan) leaves the other whole. No byte is read or written, whatever the size. A
   * crash before the commit leaves a name no row references, which the next start removes.
   */
  link(ref: LargeRef): LargeRef {
    const id = newFileId();
    const path = join(this.dir, id);
    linkSync(join(this.dir, ref.id), path);
    try {
      fsyncDir(this.dir);
    } catch (error) {
      unlinkQuiet(path);
      throw error;
    }
    return { ...ref, id };
  }

  /** A new file holding `ref`'s value with `patch` written at `offset` (patch.ts). */
  patch(ref: LargeRef, offset: number, patch: Uint8Array): LargeRef {
    return patchValue(this, ref, offset, patch);
  }

  open(ref: LargeRef): LargeFile {
    return LargeFile.open(join(this.dir, ref.id));
  }

  /** The whole value in memory (small large values, and commands that cannot stream). */
  readAll(ref: LargeRef): Uint8Array {
    const file = this.open(ref);
    try {
      return file.readAll();
    } finally {
      file.close();
    }
  }

  /** A streamed reply of the whole value; the file is opened now, so a later DEL can't cut it. */
  stream(ref: LargeRef): LargeStream {
    return new LargeStream(this.open(ref));
  }

  /** Removes a persisted file no row took (SET NX that did not set, failed commit). */
  discard(ref: LargeRef): void {
    unlink(join(this.dir, ref.id)).catch(() => {});
  }

  /**
   * Makes the renames done so far durable. Concurrent uploads share fsyncs: a caller waits for
   * one that starts after its call (the one running may have begun before its rename), and
   * everyone arriving while one runs shares the next.
   */
  syncDir(): Promise<void> {
    if (this.dirSync === null) {
      this.dirSync = this.fsyncDir().finally(() => {
        this.dirSync = null;
      });
      return this.dirSync;
    }
    this.dirSyncNext ??= this.dirSync.then(
      () => {
        this.dirSyncNext = null;
        return this.syncDir();
      },
      () => {
        this.dirSyncNext = null;
        return this.syncDir();
      },
    );
    return this.dirSyncNext;
  }

  private dirSync: Promise<void> | null = null;
  private dirSyncNext: Promise<void> | null = null;

  private async fsyncDir(): Promise<void> {
    const handle = await open(this.dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /**
   * Removes files no key row references. Runs at startup, before any client is served, so no
   * upload can be between its rename and its COMMIT. Reads every type-3 row through the
   * partial index on (value) WHERE type = 3, so it costs one index scan per keys table.
   */
  removeOrphans(shards: readonly ShardFile[]): number {
    const referenced = new Set<string>();
    for (const shard of shards) {
      for (const { name } of shard.db.query(largeSql.keyTables).all() as { name: string }[]) {
        for (const row of shard.db.query(largeSql.refsOf(name)).all() as { value: Uint8Array }[]) {
          const id = refIdOf(row.value);
          if (id !== null) referenced.add(id);
        }
      }
    }
    let removed = 0;
    for (const name of readdirSync(this.dir)) {
      if (!FILE_NAME.test(name) || referenced.has(name)) continue;
      unlinkQuiet(join(this.dir, name));
      removed++;
    }
    if (removed > 0) this.log?.info(`large values: removed ${removed} unreferenced file(s)`);
    this.reclaimed += removed;
    return removed;
  }

  /** Unlinks the files of deleted values, then forgets them; resolves with how many. */
  collect(host: LargeHost): Promise<number> {
    if (this.collecting) return this.collecting;
    this.collecting = this.collectOnce(host).finally(() => {
      this.collecting = null;
    });
    return this.collecting;
  }

  private async collectOnce(host: LargeHost): Promise<number> {
    let total = 0;
    for (let i = 0; i < host.shards.length; i++) {
      const shard = host.shards[i]!;
      const rows = shard.db.query(largeSql.garbagePage).all(256) as {
        id: number;
        ref: Uint8Array;
      }[];
      if (rows.length === 0) continue;
      for (const row of rows) {
        try {
          await unlink(join(this.dir, decodeRef(row.ref).id));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT")
            this.log?.warn(`large values: could not remove a file: ${(error as Error).message}`);
        }
      }
      const last = rows.at(-1)!.id;
      await host.writeShard(i, () => shard.db.query(largeSql.garbageDelete).run(last));
      total += rows.length;
    }
    this.reclaimed += total;
    return total;
  }

  start(host: LargeHost): void {
    this.timer = setInterval(() => {
      this.collect(host).catch((error) =>
        this.log?.warn(`large values: garbage collection failed: ${(error as Error).message}`),
      );
    }, this.settings.collectIntervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}
