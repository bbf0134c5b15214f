/**
 * Reading one large-value file (format.ts): open it once (the descriptor keeps the bytes
 * readable even if the key is deleted and the file unlinked meanwhile), then read only the
 * chunks a command needs: a range through the chunk index, or the whole value as a stream of
 * decoded chunks pulled one at a time by the connection (never the whole value in memory).
 * Synchronous on purpose: a chunk is at most limits.largeChunkBytes, read from the page cache.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { CODEC_HEADER, decodeValue } from "../codecs/codec.ts";
import {
  decodeFooter,
  decodeIndex,
  FOOTER_BYTES,
  type Footer,
  FRAME_HEADER_BYTES,
} from "./format.ts";

/**
 * Safety net: a reply dropped without close() (CLIENT REPLY OFF, a connection gone before its
 * reply was rendered) would keep its descriptor open; closing it when the object is collected
 * bounds that leak. Every normal path closes explicitly.
 */
const descriptors = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
});

export class LargeFile {
  private closed = false;

  private constructor(
    private readonly fd: number,
    readonly footer: Footer,
    private readonly offsets: number[],
  ) {
    descriptors.register(this, fd, this);
  }

  /** Opens and checks a file; throws a plain Error naming what is wrong. */
  static open(path: string): LargeFile {
    const fd = openSync(path, "r");
    try {
      const fileBytes = fstatSync(fd).size;
      if (fileBytes < FOOTER_BYTES) throw new Error("large value file is truncated");
      const tail = new Uint8Array(FOOTER_BYTES);
      readFully(fd, tail, fileBytes - FOOTER_BYTES);
      const footer = decodeFooter(tail);
      const indexBytes = new Uint8Array(footer.chunks * 8);
      if (footer.indexOffset + indexBytes.length + FOOTER_BYTES !== fileBytes)
        throw new Error("large value file index does not match its length");
      readFully(fd, indexBytes, footer.indexOffset);
      return new LargeFile(fd, footer, decodeIndex(indexBytes, footer.chunks));
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  get size(): number {
    return this.footer.size;
  }

  /** The stored frame of chunk i: codec header byte + payload (a view of `scratch` if it fits). */
  private frame(i: number, scratch?: Uint8Array): Uint8Array {
    const start = this.offsets[i]!;
    const end = i + 1 < this.offsets.length ? this.offsets[i + 1]! : this.footer.indexOffset;
    const n = end - start - FRAME_HEADER_BYTES;
    const buf = scratch && scratch.length >= n ? scratch.subarray(0, n) : new Uint8Array(n);
    readFully(this.fd, buf, start + FRAME_HEADER_BYTES);
    return buf;
  }

  get chunkCount(): number {
    return this.offsets.length;
  }

  /** Chunk i's whole frame as stored (length header, codec byte, payload), to copy as is. */
  rawFrame(i: number): Uint8Array {
    const start = this.offsets[i]!;
    const end = i + 1 < this.offsets.length ? this.offsets[i + 1]! : this.footer.indexOffset;
    const buf = new Uint8Array(end - start);
    readFully(this.fd, buf, start);
    return buf;
  }

  /** The decoded bytes of chunk i; for a raw chunk a view of `scratch` when given. */
  chunk(i: number, scratch?: Uint8Array): Uint8Array {
    const out = decodeValue(this.frame(i, scratch));
    const want = Math.min(this.footer.chunkBytes, this.footer.size - i * this.footer.chunkBytes);
    if (out.length !== want) throw new Error(`large value chunk ${i} has the wrong length`);
    return out;
  }

  /**
   * Bytes [start, end) of the value, reading only the chunks that hold them; a raw chunk's
   * bytes are read straight into the result (no intermediate buffer), a compressed chunk is
   * decoded whole.
   */
  readRange(start: number, end: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, end - start));
    const cs = this.footer.chunkBytes;
    const codec = new Uint8Array(1);
    let o = 0;
    for (let i = Math.floor(start / cs); o < out.length; i++) {
      const from = o === 0 ? start - i * cs : 0;
      const n = Math.min(Math.min(cs, this.size - i * cs) - from, out.length - o);
      readFully(this.fd, codec, this.offsets[i]! + FRAME_HEADER_BYTES);
      if (codec[0] === CODEC_HEADER.raw) {
        readFully(
          this.fd,
          out.subarray(o, o + n),
          this.offsets[i]! + FRAME_HEADER_BYTES + 1 + from,
        );
      } else {
        out.set(this.chunk(i).subarray(from, from + n), o);
      }
      o += n;
    }
    return out;
  }

  readAll(): Uint8Array {
    return this.readRange(0, this.size);
  }

  /** The decoded chunks in order, one at a time (a checksum of the whole value, bounded memory). */
  *chunks(): Generator<Uint8Array> {
    for (let i = 0; i < this.offsets.length; i++) yield this.chunk(i);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    descriptors.unregister(this);
    closeSync(this.fd);
  }
}

/**
 * A GET reply too large to hold: the connection pulls one decoded chunk at a time, and only
 * after the previous one was handed to the socket, so a slow reader holds one chunk at most.
 * Matches protocol/reply.ts StreamReply (storage does not import protocol).
 */
export class LargeStream {
  readonly kind = "stream" as const;
  private nextChunk = 0;
  private readonly scratch: Uint8Array;

  constructor(private readonly file: LargeFile) {
    this.scratch = new Uint8Array(file.footer.chunkBytes + 16);
  }

  get size(): number {
    return this.file.size;
  }

  next(): Uint8Array | null {
    if (this.nextChunk >= this.file.footer.chunks) {
      this.close();
      return null;
    }
    return this.file.chunk(this.nextChunk++, this.scratch);
  }

  readAll(): Uint8Array {
    try {
      return this.file.readAll();
    } finally {
      this.close();
    }
  }

  close(): void {
    this.file.close();
  }
}

function readFully(fd: number, buf: Uint8Array, position: number): void {
  let o = 0;
  while (o < buf.length) {
    const n = readSync(fd, buf, o, buf.length - o, position + o);
    if (n <= 0) throw new Error("large value file ended early");
    o += n;
  }
}
