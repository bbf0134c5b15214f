/**
 * Streaming request parser: turns received bytes into commands (RESP2 multibulk and Redis
 * inline). It owns framing only: it knows nothing about command names, arity or sockets, and
 * it must never copy a bulk that arrived whole, mutate a chunk it was given, or reuse a buffer
 * it has handed out (the server may keep args forever).
 */
import { ProtocolError } from "../errors.ts";
import { limits } from "../limits.ts";
import { splitInline } from "./inline.ts";
import { type BulkSink, LargeArg, largeBody } from "./large-arg.ts";

/** One request: args[0] is the command name, every element is raw bytes. */
export type Command = Uint8Array[];

export interface ParserOptions {
  bulkBytesMax: number;
  argsCountMax: number;
  inlineBytesMax: number;
  /** Bulk strings longer than this go to `openSink` as they arrive (never buffered whole). */
  streamBulkBytesOver: number;
  /** Where a long bulk string goes; null = buffer it as usual. */
  openSink: ((size: number) => BulkSink | null) | null;
}

const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;
const HEADER_MAX = limits.headerLineBytesMax;
const BAD_END = "expected CRLF after bulk data";

// Parser states: plain numbers, so dispatch compares small integers.
const IDLE = 0; // at a command boundary
const COUNT = 1; // inside "*<n>\r\n"
const ARG_HEADER = 2; // expecting or inside "$<len>\r\n"
const BODY = 3; // inside a bulk payload
const BODY_END = 4; // expecting the CRLF after a payload
const INLINE = 5; // inside an inline line

/**
 * Parses a decimal integer with the same rules as Redis's string2ll: optional '-', no '+',
 * no spaces, no leading zeros, not empty, "-0" rejected. Returns NaN when invalid.
 * Values beyond 2^53 lose precision, which is harmless: every caller rejects them as too big.
 */
function parseDecimal(buf: Uint8Array, from: number, to: number): number {
  const neg = from < to && buf[from] === 45;
  let i = neg ? from + 1 : from;
  if (i >= to || (buf[i] === 48 && (neg || i + 1 < to))) return Number.NaN;
  let v = 0;
  for (; i < to; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return Number.NaN;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

/**
 * Feed it chunks as they arrive; it appends complete commands to `out`. Chunks passed to
 * feed() must not be mutated afterwards by the caller: args (and partial frames) are views.
 */
export class RespParser {
  private readonly bulkMax: number;
  private readonly argsMax: number;
  private readonly inlineMax: number;
  private readonly streamOver: number;
  private readonly openSink: ((size: number) => BulkSink | null) | null;
  /** Where the body in progress goes when it is streamed. */
  private sink: BulkSink | null = null;

  private state = IDLE;
  /** Set after a ProtocolError; the parser refuses further input with the same message. */
  private failure: string | null = null;
  /** Bytes of the command in progress that arrived in earlier chunks. */
  private carried = 0;

  /** Partial "*<n>"/"$<n>" line kept across chunks; only ever read back as a number. */
  private readonly hdr = new Uint8Array(HEADER_MAX + 1);
  private hdrLen = 0;
  /** Result of the last complete header line (NaN if not an integer). */
  private num = 0;

  private args: Command = [];
  private remaining = 0;

  /** Destination of a bulk payload split across chunks, allocated once at its final size. */
  private body: Uint8Array | null = null;
  private bodyLen = 0;
  private bodyFilled = 0;
  private crSeen = false;

  /** Pieces of an inline line split across chunks (views; copied once when the line ends). */
  private inlineParts: Uint8Array[] = [];
  private inlineLen = 0;

  constructor(options?: Partial<ParserOptions>) {
    this.bulkMax = options?.bulkBytesMax ?? limits.bulkBytesMax;
    this.argsMax = options?.argsCountMax ?? limits.argsCountMax;
    this.inlineMax = options?.inlineBytesMax ?? limits.inlineBytesMax;
    this.openSink = options?.openSink ?? null;
    this.streamOver =
      this.openSink === null
        ? Number.POSITIVE_INFINITY
        : (options?.streamBulkBytesOver ?? Number.POSITIVE_INFINITY);
  }

  /** The connection is gone: drops a streamed body in progress and the args parsed so far. */
  abort(): void {
    this.sink?.abort();
    this.sink = null;
    for (const arg of this.args) largeBody(arg)?.dispose();
    this.args = [];
    this.streamed = 0;
    this.body = null;
  }

  /** Bytes received so far of the command in progress (0 at a command boundary). */
  get bufferedBytes(): number {
    return this.carried - this.streamed;
  }

  /** Bytes of the command in progress that went to a sink instead of memory. */
  private streamed = 0;

  feed(chunk: Uint8Array, out: Command[]): void {
    if (this.failure !== null) throw new ProtocolError(this.failure);
    const end = chunk.length;
    let pos = 0;
    let cmdStart = 0;
    let before = this.carried;
    try {
      while (pos < end) {
        if (this.state === IDLE) {
          cmdStart = pos;
          before = 0;
          if (chunk[pos] === STAR) {
            const next = this.whole(chunk, pos, end, out);
            if (next > 0) {
              pos = next;
              continue;
            }
            this.state = COUNT;
          } else {
            this.state = INLINE;
          }
        }
        const state = this.state;
        if (state === COUNT) pos = this.count(chunk, pos, end);
        else if (state === ARG_HEADER) pos = this.argHeader(chunk, pos, end);
        else if (state === BODY) pos = this.bodyPart(chunk, pos, end, out);
        else if (state === BODY_END) pos = this.bodyEnd(chunk, pos, end, out);
        else pos = this.inline(chunk, pos, end, out);
      }
    } catch (e) {
      // Unusable from now on; drop partial data so a kept parser holds no memory.
      this.failure = e instanceof ProtocolError ? e.message : "invalid request";
      this.abort();
      this.inlineParts = [];
      throw e;
    }
    this.carried = this.state === IDLE ? 0 : before + (end - cmdStart);
  }

  /**
   * Hot path: parses one multibulk command lying wholly in the chunk, without touching parser
   * state. Returns the position after it, or -1 for anything unusual (incomplete, malformed,
   * over a limit); the state machine then re-parses from `pos` and reports exact errors.
   */
  private whole(buf: Uint8Array, pos: number, end: number, out: Command[]): number {
    let p = this.uint(buf, pos + 1, end);
    const n = this.num;
    if (p < 0 || n === 0 || n > this.argsMax || n * 6 > end - p) return -1;
    if (p + 1 >= end || buf[p] !== CR || buf[p + 1] !== LF) return -1;
    p += 2;
    const bulkMax = this.bulkMax;
    const args: Command = [];
    for (let k = 0; k < n; k++) {
      if (p >= end || buf[p] !== DOLLAR) return -1;
      p = this.uint(buf, p + 1, end);
      const s = p + 2;
      const e = s + this.num;
      if (p < 0 || this.num > bulkMax || e + 2 > end || buf[p] !== CR || buf[p + 1] !== LF)
        return -1;
      if (this.num > this.streamOver) return -1;
      if (buf[e] !== CR || buf[e + 1] !== LF) return -1;
      args.push(buf.subarray(s, e));
      p = e + 2;
    }
    out.push(args);
    return p;
  }

  /** Scans digits without a leading zero at buf[p..] into `num`; returns where they end or -1. */
  private uint(buf: Uint8Array, p: number, end: number): number {
    const start = p;
    let v = 0;
    while (p < end) {
      const d = buf[p]! - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      p++;
    }
    const digits = p - start;
    if (digits === 0 || digits > 15 || (digits > 1 && buf[start] === 48)) return -1;
    this.num = v;
    return p;
  }

  /**
   * Reads a header line ("*<n>" or "$<n>", at most HEADER_MAX bytes before CRLF) starting at
   * chunk[pos] or continuing one kept in `hdr`. Returns the position after its LF with the value
   * in `num`, or -1 when the chunk ended first. The limit is judged on the bytes seen, never on
   * how they were split into chunks, so errors do not depend on network timing.
   */
  private readHeader(chunk: Uint8Array, pos: number, end: number, big: string, bad: string) {
    if (this.hdrLen === 0) {
      const lim = Math.min(end, pos + HEADER_MAX + 1);
      let i = pos + 1;
      while (i < lim && chunk[i] !== CR) i++;
      if (i < lim) {
        if (i + 1 < end) {
          if (chunk[i + 1] !== LF) throw new ProtocolError(bad);
          this.num = parseDecimal(chunk, pos + 1, i);
          return i + 2;
        }
      } else if (end - pos > HEADER_MAX) {
        throw new ProtocolError(big);
      }
      this.hdr.set(chunk.subarray(pos, end));
      this.hdrLen = end - pos;
      return -1;
    }
    // Continuing a split line: at most HEADER_MAX + 1 bytes in all, so byte by byte is fine.
    const hdr = this.hdr;
    let n = this.hdrLen;
    for (let i = pos; i < end; i++) {
      const b = chunk[i]!;
      if (hdr[n - 1] === CR) {
        if (b !== LF) throw new ProtocolError(bad);
        this.hdrLen = 0;
        this.num = parseDecimal(hdr, 1, n - 1);
        return i + 1;
      }
      if (b !== CR && n >= HEADER_MAX) throw new ProtocolError(big);
      hdr[n++] = b;
    }
    this.hdrLen = n;
    return -1;
  }

  private count(chunk: Uint8Array, pos: number, end: number): number {
    const invalid = "invalid multibulk length";
    const p = this.readHeader(chunk, pos, end, "too big mbulk count string", invalid);
    if (p < 0) return end;
    const n = this.num;
    // Like Redis, a count <= 0 is no command at all and is skipped silently ("*-10" then PING
    // answers PONG); only a count that is not an int64 or is too big is an error.
    if (!(n >= -(2 ** 63) && n <= this.argsMax)) throw new ProtocolError(invalid);
    this.remaining = n;
    this.state = n <= 0 ? IDLE : ARG_HEADER;
    return p;
  }

  private argHeader(chunk: Uint8Array, pos: number, end: number): number {
    if (this.hdrLen === 0 && chunk[pos] !== DOLLAR) {
      throw new ProtocolError(`expected '$', got '${String.fromCharCode(chunk[pos]!)}'`);
    }
    const invalid = "invalid bulk length";
    const p = this.readHeader(chunk, pos, end, "too big bulk count string", invalid);
    if (p < 0) return end;
    const len = this.num;
    if (!(len >= 0 && len <= this.bulkMax)) throw new ProtocolError(invalid);
    this.bodyLen = len;
    this.state = BODY;
    if (len > this.streamOver) {
      this.sink = this.openSink!(len);
      this.bodyFilled = 0;
    }
    return p;
  }

  private bodyPart(chunk: Uint8Array, pos: number, end: number, out: Command[]): number {
    const avail = end - pos;
    const len = this.bodyLen;
    const sink = this.sink;
    if (sink !== null) {
      // Streamed: each piece goes on at once, nothing of it is kept here.
      const take = Math.min(avail, len - this.bodyFilled);
      sink.write(chunk.subarray(pos, pos + take));
      this.bodyFilled += take;
      this.streamed += take;
      if (this.bodyFilled === len) {
        this.sink = null;
        this.args.push(new LargeArg(sink.finish()));
        this.state = BODY_END;
      }
      return pos + take;
    }
    const body = this.body;
    if (body === null) {
      if (avail >= len) {
        // Whole payload in this chunk: a view, no copy.
        this.args.push(chunk.subarray(pos, pos + len));
        const e = pos + len;
        if (e + 1 < end && chunk[e] === CR && chunk[e + 1] === LF) return this.argDone(e + 2, out);
        this.state = BODY_END;
        return e;
      }
      // Split payload: one buffer of the final size, each piece copied into it exactly once.
      // Zero-filled memory is committed lazily by the OS, so a declared-but-unsent length
      // costs address space, not RAM. One spare byte in front: the storage codec writes its
      // header there and stores the value without copying it (codecs/codec.ts rawEncode),
      // which took 10–15 % of the CPU of a 1 MiB SET.
      this.body = new Uint8Array(len + 1).subarray(1);
      this.body.set(chunk.subarray(pos, end));
      this.bodyFilled = avail;
      return end;
    }
    const take = Math.min(avail, len - this.bodyFilled);
    body.set(chunk.subarray(pos, pos + take), this.bodyFilled);
    this.bodyFilled += take;
    if (this.bodyFilled === len) {
      this.args.push(body);
      this.body = null;
      this.state = BODY_END;
    }
    return pos + take;
  }

  /** Redis skips these two bytes unchecked; we insist on CRLF so a wrong length is caught. */
  private bodyEnd(chunk: Uint8Array, pos: number, end: number, out: Command[]): number {
    let p = pos;
    if (!this.crSeen) {
      if (chunk[p] !== CR) throw new ProtocolError(BAD_END);
      this.crSeen = true;
      if (++p === end) return end;
    }
    if (chunk[p] !== LF) throw new ProtocolError(BAD_END);
    this.crSeen = false;
    return this.argDone(p + 1, out);
  }

  private argDone(pos: number, out: Command[]): number {
    if (--this.remaining === 0) {
      this.streamed = 0;
      out.push(this.args);
      this.args = [];
      this.state = IDLE;
    } else {
      this.state = ARG_HEADER;
    }
    return pos;
  }

  /**
   * An inline line ends at LF; one CR before it is dropped. The limit applies to the line
   * without its terminator and, like the header limit, never depends on chunk boundaries.
   */
  private inline(chunk: Uint8Array, pos: number, end: number, out: Command[]): number {
    const max = this.inlineMax;
    const nl = chunk.indexOf(LF, pos);
    if (nl < 0) {
      const total = this.inlineLen + (end - pos);
      if (total > max + 1 || (total === max + 1 && chunk[end - 1] !== CR)) {
        throw new ProtocolError("too big inline request");
      }
      this.inlineParts.push(pos === 0 ? chunk : chunk.subarray(pos, end));
      this.inlineLen = total;
      return end;
    }
    // Judge the length before joining pieces, so an oversized line never gets allocated.
    const parts = this.inlineParts;
    const last = nl > pos ? chunk[nl - 1] : parts.length > 0 ? parts.at(-1)!.at(-1) : 0;
    const n = this.inlineLen + (nl - pos) - (last === CR ? 1 : 0);
    if (n > max) throw new ProtocolError("too big inline request");
    let line = chunk.subarray(pos, nl);
    if (parts.length > 0) {
      parts.push(line);
      line = new Uint8Array(this.inlineLen + (nl - pos));
      let o = 0;
      for (const part of parts) {
        line.set(part, o);
        o += part.length;
      }
      this.inlineParts = [];
      this.inlineLen = 0;
    }
    const args = splitInline(line, n);
    if (args.length > 0) out.push(args);
    this.state = IDLE;
    return nl + 1;
  }
}
