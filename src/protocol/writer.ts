/**
 * Renders replies into RESP2 or RESP3 bytes. Replies for one burst of pipelined requests are
 * appended to one growing buffer so the connection can send them with a single write; bulk
 * payloads larger than limits.replyInlineCopyBytesMax are not copied but queued as their own
 * chunk. This module knows nothing about sockets or commands.
 */
import { RespError, sanitizeLine } from "../errors.ts";
import { limits } from "../limits.ts";
import { OK, type Reply, type StreamReply } from "./reply.ts";

/** What the connection sends, in order: bytes, or a body it pulls piece by piece. */
export type OutChunk = Uint8Array | StreamReply;

export function isStream(chunk: OutChunk): chunk is StreamReply {
  return !(chunk instanceof Uint8Array);
}

const OK_BYTES = new TextEncoder().encode("+OK\r\n");

const CRLF0 = 13;
const CRLF1 = 10;
const encoder = new TextEncoder();

export type ProtocolVersion = 2 | 3;

export class ReplyWriter {
  private buf: Uint8Array;
  private len = 0;
  /** Bytes of `buf` already handed out as chunk views; reset() makes them reusable. */
  private sealed = 0;
  private readonly chunks: OutChunk[] = [];
  private chunkBytes = 0;

  constructor(
    public protocol: ProtocolVersion = 2,
    initialBytes = 16 * 1024,
  ) {
    this.buf = new Uint8Array(initialBytes);
  }

  /** Bytes rendered but not yet taken. */
  get pendingBytes(): number {
    return this.chunkBytes + this.len - this.sealed;
  }

  /**
   * Hands over everything rendered so far, as chunks to write in order. Chunks may be views
   * of the writer's own buffer: they are valid until reset(), so the caller writes them out
   * (copying whatever the socket does not take) and then calls reset().
   */
  take(): Uint8Array[] {
    return this.takeChunks().map((c) => (isStream(c) ? c.readAll() : c));
  }

  /** take(), with streamed bodies left as StreamReply for the connection to pull. */
  takeChunks(): OutChunk[] {
    this.sealBuffer();
    const out = this.chunks.splice(0);
    this.chunkBytes = 0;
    return out;
  }

  /** True when `chunk` is a view of the reusable buffer (so it must be copied to outlive reset()). */
  owns(chunk: OutChunk): boolean {
    return chunk instanceof Uint8Array && chunk.buffer === this.buf.buffer;
  }

  /** Makes the buffer reusable; every chunk returned by take() is invalid afterwards. */
  reset(): void {
    if (this.sealed === this.len) {
      this.len = 0;
      this.sealed = 0;
    }
  }

  write(reply: Reply): void {
    if (reply === null) {
      this.ascii(this.protocol === 3 ? "_\r\n" : "$-1\r\n");
      return;
    }
    switch (typeof reply) {
      case "number":
        this.integer(reply);
        return;
      case "bigint":
        this.ascii(`:${reply}\r\n`);
        return;
      case "string":
        this.bulkString(reply);
        return;
    }
    if (reply instanceof Uint8Array) {
      this.bulk(reply);
      return;
    }
    if (Array.isArray(reply)) {
      this.ascii(`*${reply.length}\r\n`);
      for (const item of reply) this.write(item);
      return;
    }
    if (reply instanceof RespError) {
      this.ascii(`-${sanitizeLine(reply.wireText)}\r\n`);
      return;
    }
    this.tagged(
      reply as Exclude<
        Reply,
        null | number | bigint | string | Uint8Array | RespError | readonly Reply[]
      >,
    );
  }

  private tagged(
    reply: Exclude<
      Reply,
      null | number | bigint | string | Uint8Array | RespError | readonly Reply[]
    >,
  ): void {
    switch (reply.kind) {
      case "simple":
        // +OK answers every SET: skip the sanitizing and encoding of a constant.
        if (reply === OK) this.raw(OK_BYTES);
        else this.ascii(`+${sanitizeLine(reply.text)}\r\n`);
        return;
      case "map":
        if (this.protocol === 3) this.ascii(`%${reply.entries.length}\r\n`);
        else this.ascii(`*${reply.entries.length * 2}\r\n`);
        for (const [k, v] of reply.entries) {
          this.write(k);
          this.write(v);
        }
        return;
      case "push":
        this.ascii(`${this.protocol === 3 ? ">" : "*"}${reply.items.length}\r\n`);
        for (const item of reply.items) this.write(item);
        return;
      case "set":
        this.ascii(`${this.protocol === 3 ? "~" : "*"}${reply.items.length}\r\n`);
        for (const item of reply.items) this.write(item);
        return;
      case "double": {
        const text = formatDouble(reply.value);
        if (this.protocol === 3) this.ascii(`,${text}\r\n`);
        else this.bulkString(text);
        return;
      }
      case "boolean":
        if (this.protocol === 3) this.ascii(reply.value ? "#t\r\n" : "#f\r\n");
        else this.ascii(reply.value ? ":1\r\n" : ":0\r\n");
        return;
      case "bignumber":
        if (this.protocol === 3) this.ascii(`(${reply.text}\r\n`);
        else this.bulkString(reply.text);
        return;
      case "nullarray":
        this.ascii(this.protocol === 3 ? "_\r\n" : "*-1\r\n");
        return;
      case "verbatim":
        if (this.protocol === 3) {
          const body = encoder.encode(reply.text);
          this.ascii(`=${body.length + 4}\r\ntxt:`);
          this.raw(body);
          this.crlf();
        } else this.bulkString(reply.text);
        return;
      case "multi":
        for (const r of reply.replies) this.write(r);
        return;
      case "none":
        return;
      case "stream":
        // The body is not in memory: queue the source itself between header and CRLF.
        this.ascii(`$${reply.size}\r\n`);
        this.sealBuffer();
        this.chunks.push(reply);
        this.crlf();
        return;
    }
  }

  private integer(n: number): void {
    // Integers are exact up to 2^53; larger counters are rendered as bigint by their producers.
    this.ascii(`:${Number.isInteger(n) ? n : Math.trunc(n)}\r\n`);
  }

  private bulkString(s: string): void {
    const bytes = Buffer.byteLength(s);
    this.ascii(`$${bytes}\r\n`);
    this.reserve(bytes + 2);
    const { written } = encoder.encodeInto(s, this.buf.subarray(this.len));
    this.len += written;
    this.crlf();
  }

  private bulk(b: Uint8Array): void {
    this.ascii(`$${b.length}\r\n`);
    this.raw(b);
    this.crlf();
  }

  /** Copies small payloads into the shared buffer; queues big ones by reference. */
  private raw(b: Uint8Array): void {
    if (b.length > limits.replyInlineCopyBytesMax) {
      this.sealBuffer();
      this.chunks.push(b);
      this.chunkBytes += b.length;
      return;
    }
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  private crlf(): void {
    this.reserve(2);
    this.buf[this.len++] = CRLF0;
    this.buf[this.len++] = CRLF1;
  }

  /** Writes a string known to be ASCII (protocol headers, sanitized lines). */
  private ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    const buf = this.buf;
    let at = this.len;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i) & 0xff;
    this.len = at;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    // Grow into a new buffer; views already handed out keep pointing at the old one.
    const unsealed = this.len - this.sealed;
    let size = this.buf.length * 2;
    while (size < unsealed + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(this.sealed, this.len));
    this.buf = next;
    this.len = unsealed;
    this.sealed = 0;
  }

  /** Moves the unsealed rendered bytes into the chunk list as a view of the buffer. */
  private sealBuffer(): void {
    if (this.len === this.sealed) return;
    this.chunks.push(this.buf.subarray(this.sealed, this.len));
    this.chunkBytes += this.len - this.sealed;
    this.sealed = this.len;
  }
}

/** Redis renders doubles with up to 17 significant digits and "inf"/"-inf"/"nan". */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Number.POSITIVE_INFINITY) return "inf";
  if (value === Number.NEGATIVE_INFINITY) return "-inf";
  return String(value);
}
