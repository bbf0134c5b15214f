/**
 * One large value arriving from a client: the parser hands its bytes here as they arrive
 * (protocol/parser.ts BulkSink) and they go straight to `large/tmp/<id>` in chunk frames
 * (format.ts), compressed per chunk when compression is on. Memory per upload: one chunk
 * buffer when compressing, none otherwise. Once the body is complete the same object is the
 * command's argument (LargeBody): persist() makes the file durable and moves it into
 * `large/`; dispose() removes whatever was not persisted (client gone, command refused).
 * Write errors (disk full) are remembered and reported by persist(), never thrown to the parser.
 */
import { closeSync, fsync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { CODEC_HEADER, type ValueCodec } from "../codecs/codec.ts";
import { fsyncDir } from "../engine/durable-fs.ts";
import { LargeFile } from "./file.ts";
import {
  encodeFooter,
  encodeIndex,
  FRAME_HEADER_BYTES,
  frameHeader,
  type LargeRef,
  newFileId,
} from "./format.ts";

const fsyncAsync = promisify(fsync);

/** What the upload needs from the large-file manager (files.ts). */
export interface UploadHost {
  readonly tmpDir: string;
  readonly dir: string;
  readonly chunkBytes: number;
  readonly codec: ValueCodec;
  /** Makes a rename in large/ durable (fsync of the directory), shared by concurrent uploads. */
  syncDir(): Promise<void>;
  uploads: number;
}

export class LargeUpload {
  readonly id = newFileId();
  readonly tmpPath: string;
  private fd: number | null;
  private received = 0;
  private fileOffset = 0;
  private readonly offsets: number[] = [];
  /** Bytes of the current chunk received so far. */
  private fill = 0;
  /** Chunks complete so far. */
  private done = 0;
  /** Compression on: the current chunk is gathered here, then encoded as one frame. */
  private readonly buf: Uint8Array | null;
  private error: Error | null = null;
  private finished = false;
  private state: "open" | "persisting" | "persisted" | "disposed" = "open";
  private firstCodec: number = CODEC_HEADER.raw;

  constructor(
    private readonly host: UploadHost,
    readonly size: number,
  ) {
    this.tmpPath = join(host.tmpDir, this.id);
    this.fd = openSync(this.tmpPath, "wx");
    host.uploads++;
    const compressing = host.codec.settings.enabled && host.codec.settings.algorithm !== "none";
    this.buf = compressing ? new Uint8Array(host.chunkBytes) : null;
  }

  /** Part of the body, in order (BulkSink). Never throws: errors surface in persist(). */
  write(bytes: Uint8Array): void {
    if (this.error !== null || this.fd === null) return;
    try {
      if (this.received + bytes.length > this.size)
        throw new Error("large value overran its length");
      let p = 0;
      while (p < bytes.length) {
        const want = this.chunkLength(this.done);
        if (this.buf === null && this.fill === 0) this.startRawFrame(want);
        const take = Math.min(want - this.fill, bytes.length - p);
        const piece = bytes.subarray(p, p + take);
        if (this.buf !== null) this.buf.set(piece, this.fill);
        else this.put(piece);
        this.fill += take;
        p += take;
        this.received += take;
        if (this.fill === want) {
          if (this.buf !== null) this.flushCompressed();
          this.done++;
          this.fill = 0;
        }
      }
    } catch (error) {
      this.fail(error as Error);
    }
  }

  /**
   * Appends a whole chunk frame taken as is from another file (LargeFile.rawFrame), at a chunk
   * boundary; `decoded` is its uncompressed length, which must be this upload's next chunk
   * length. Used to rebuild a value around a change without decoding what did not change.
   */
  copyFrame(frame: Uint8Array, decoded: number): void {
    if (this.error !== null || this.fd === null) return;
    try {
      if (this.fill !== 0 || decoded !== this.chunkLength(this.done))
        throw new Error("a copied chunk must fill the next chunk exactly");
      if (this.offsets.length === 0) this.firstCodec = frame[FRAME_HEADER_BYTES]!;
      this.offsets.push(this.fileOffset);
      this.put(frame);
      this.done++;
      this.received += decoded;
    } catch (error) {
      this.fail(error as Error);
    }
  }

  /** Uncompressed length of chunk i. */
  private chunkLength(i: number): number {
    return Math.min(this.host.chunkBytes, this.size - i * this.host.chunkBytes);
  }

  private startRawFrame(n: number): void {
    this.offsets.push(this.fileOffset);
    const head = new Uint8Array(FRAME_HEADER_BYTES + 1);
    head.set(frameHeader(n + 1), 0);
    head[FRAME_HEADER_BYTES] = CODEC_HEADER.raw;
    this.put(head);
  }

  private flushCompressed(): void {
    const stored = this.host.codec.encode(this.buf!.subarray(0, this.fill));
    if (this.offsets.length === 0) this.firstCodec = stored[0]!;
    this.offsets.push(this.fileOffset);
    this.put(frameHeader(stored.length));
    this.put(stored);
  }

  private put(bytes: Uint8Array): void {
    let o = 0;
    while (o < bytes.length) o += writeSync(this.fd!, bytes, o, bytes.length - o);
    this.fileOffset += bytes.length;
  }

  /** The body is complete (BulkSink): writes the index and footer. Returns the argument body. */
  finish(): this {
    if (this.error === null && this.fd !== null && !this.finished) {
      try {
        if (this.received !== this.size) throw new Error("large value upload is incomplete");
        const indexOffset = this.fileOffset;
        this.put(encodeIndex(this.offsets));
        this.put(
          encodeFooter({
            indexOffset,
            chunks: this.offsets.length,
            chunkBytes: this.host.chunkBytes,
            size: this.size,
          }),
        );
      } catch (error) {
        this.fail(error as Error);
      }
    }
    this.finished = true;
    return this;
  }

  /** The client went away before the body was complete (BulkSink). */
  abort(): void {
    this.dispose();
  }

  /**
   * Makes the file durable under its final name and returns the reference for the key row:
   * fsync the data, rename it into large/, fsync the directory. The row is written after
   * this, in a writer transaction, and the client is acknowledged after that COMMIT.
   */
  async persist(): Promise<LargeRef> {
    if (this.state !== "open" || !this.finished) throw new Error("large value is not ready");
    if (this.error !== null) throw this.error;
    this.state = "persisting";
    try {
      await fsyncAsync(this.fd!);
      this.closeFd();
      if (this.state !== "persisting") throw new Error("large value upload was abandoned");
      renameSync(this.tmpPath, join(this.host.dir, this.id));
      this.state = "persisted";
      await this.host.syncDir();
    } catch (error) {
      this.state = "disposed";
      this.closeFd();
      for (const path of [this.tmpPath, join(this.host.dir, this.id)]) {
        try {
          unlinkSync(path);
        } catch {
          // Not there.
        }
      }
      throw error;
    }
    return {
      id: this.id,
      size: this.size,
      chunkBytes: this.host.chunkBytes,
      codec: this.firstCodec,
    };
  }

  /**
   * persist() without waiting for the event loop, for values a command built in memory
   * (APPEND, SETRANGE, COPY… of a large value) inside a writer transaction: blocks for the
   * fsyncs, which only these rare commands pay.
   */
  persistSync(): LargeRef {
    if (this.state !== "open" || !this.finished) throw new Error("large value is not ready");
    if (this.error !== null) throw this.error;
    try {
      fsyncSync(this.fd!);
      this.closeFd();
      renameSync(this.tmpPath, join(this.host.dir, this.id));
      this.state = "persisted";
      fsyncDir(this.host.dir);
    } catch (error) {
      this.state = "disposed";
      this.closeFd();
      for (const path of [this.tmpPath, join(this.host.dir, this.id)]) {
        try {
          unlinkSync(path);
        } catch {
          // Not there.
        }
      }
      throw error;
    }
    return {
      id: this.id,
      size: this.size,
      chunkBytes: this.host.chunkBytes,
      codec: this.firstCodec,
    };
  }

  /** The whole value in memory, for commands that cannot take a file (bounded by proto-max-bulk-len). */
  readAll(): Uint8Array {
    if (this.error !== null) throw this.error;
    const file = LargeFile.open(
      this.state === "persisted" ? join(this.host.dir, this.id) : this.tmpPath,
    );
    try {
      return file.readAll();
    } finally {
      file.close();
    }
  }

  /** Removes the temporary file unless persist() moved it; safe to call more than once. */
  dispose(): void {
    if (this.state === "persisted" || this.state === "disposed") return;
    if (this.state === "persisting") {
      // persist() is waiting for its fsync: it sees the state and gives up.
      this.state = "disposed";
      return;
    }
    this.state = "disposed";
    this.closeFd();
    try {
      unlinkSync(this.tmpPath);
    } catch {
      // Already gone.
    }
  }

  private closeFd(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    this.host.uploads--;
    try {
      closeSync(fd);
    } catch {
      // Nothing left to do with it.
    }
  }

  private fail(error: Error): void {
    this.error = error;
    this.closeFd();
    try {
      unlinkSync(this.tmpPath);
    } catch {
      // Already gone.
    }
  }
}
