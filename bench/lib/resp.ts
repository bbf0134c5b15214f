/**
 * A minimal pipelining RESP2 client for the load generator: one TCP connection to 127.0.0.1,
 * requests queued in order with a callback each, writes coalesced and flushed explicitly,
 * partial writes resumed on drain. Replies are parsed incrementally; a bulk reply that spans
 * chunks is collected into one buffer of its final size (a single copy, so 1 MiB replies
 * stay cheap). Bulk values handed to callbacks are only valid during the callback.
 */
import type { Socket } from "bun";

export class ReplyError {
  constructor(public readonly message: string) {}
}

export type RespValue = string | number | Uint8Array | null | ReplyError | RespValue[];

const CR = 13;
const LF = 10;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Integer from ASCII bytes [from, to); NaN when malformed. */
function parseIntAscii(data: Uint8Array, from: number, to: number): number {
  let i = from;
  let sign = 1;
  if (data[i] === 45) {
    sign = -1;
    i++;
  }
  if (i >= to) return Number.NaN;
  let n = 0;
  for (; i < to; i++) {
    const d = data[i]! - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return sign * n;
}

export class ReplyParser {
  private pending: Uint8Array | null = null;
  private bulk: Uint8Array | null = null;
  private bulkFill = 0;
  private readonly stack: { items: RespValue[]; left: number }[] = [];
  private readonly latin1 = new TextDecoder("latin1");

  constructor(private readonly onValue: (v: RespValue) => void) {}

  feed(chunk: Uint8Array): void {
    let data = chunk;
    let pos = 0;
    if (this.bulk) {
      const take = Math.min(this.bulk.length - this.bulkFill, data.length);
      this.bulk.set(data.subarray(0, take), this.bulkFill);
      this.bulkFill += take;
      pos = take;
      if (this.bulkFill < this.bulk.length) return;
      const value = this.bulk.subarray(0, this.bulk.length - 2);
      this.bulk = null;
      this.emit(value);
    } else if (this.pending) {
      data = concat(this.pending, data);
      this.pending = null;
    }
    while (pos < data.length) {
      const eol = data.indexOf(LF, pos);
      if (eol < 0) {
        this.pending = data.slice(pos);
        return;
      }
      const type = data[pos]!;
      const lineEnd = data[eol - 1] === CR ? eol - 1 : eol;
      const next = eol + 1;
      switch (type) {
        case 43: // +
          this.emit(this.latin1.decode(data.subarray(pos + 1, lineEnd)));
          pos = next;
          break;
        case 45: // -
          this.emit(new ReplyError(this.latin1.decode(data.subarray(pos + 1, lineEnd))));
          pos = next;
          break;
        case 58: // :
          this.emit(parseIntAscii(data, pos + 1, lineEnd));
          pos = next;
          break;
        case 36: {
          // $
          const len = parseIntAscii(data, pos + 1, lineEnd);
          if (Number.isNaN(len)) throw new Error("bad bulk length in reply");
          if (len < 0) {
            this.emit(null);
            pos = next;
          } else if (next + len + 2 <= data.length) {
            this.emit(data.subarray(next, next + len));
            pos = next + len + 2;
          } else {
            this.bulk = new Uint8Array(len + 2);
            this.bulk.set(data.subarray(next));
            this.bulkFill = data.length - next;
            return;
          }
          break;
        }
        case 42: {
          // *
          const n = parseIntAscii(data, pos + 1, lineEnd);
          pos = next;
          if (n < 0) this.emit(null);
          else if (n === 0) this.emit([]);
          else this.stack.push({ items: [], left: n });
          break;
        }
        default:
          throw new Error(`unexpected reply type byte ${type}`);
      }
    }
  }

  private emit(v: RespValue): void {
    let value = v;
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) {
        this.onValue(value);
        return;
      }
      top.items.push(value);
      if (--top.left > 0) return;
      this.stack.pop();
      value = top.items;
    }
  }
}

const encoder = new TextEncoder();

/** RESP frame for a command whose arguments are all strings or byte arrays. */
export function frame(args: (string | Uint8Array)[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let head = `*${args.length}\r\n`;
  for (const a of args) {
    if (typeof a === "string") {
      head += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    } else {
      head += `$${a.length}\r\n`;
      parts.push(encoder.encode(head), a);
      head = "\r\n";
    }
  }
  parts.push(encoder.encode(head));
  return parts;
}

const COALESCE_BYTES = 64 * 1024;

export class Connection {
  private readonly callbacks: ((v: RespValue) => void)[] = [];
  private cbHead = 0;
  private readonly out: Uint8Array[] = [];
  private readonly parser: ReplyParser;
  private socket: Socket<undefined> | null = null;
  /** Called after every data event, once its replies have been handled. */
  onAfterData: () => void = () => {};
  closed = false;
  failure: Error | null = null;

  private constructor() {
    this.parser = new ReplyParser((v) => {
      const cb = this.callbacks[this.cbHead];
      if (!cb) throw new Error("reply without a request");
      this.callbacks[this.cbHead++] = undefined as never;
      if (this.cbHead > 1024 && this.cbHead * 2 > this.callbacks.length) {
        this.callbacks.splice(0, this.cbHead);
        this.cbHead = 0;
      }
      cb(v);
    });
  }

  static async open(port: number, host = "127.0.0.1"): Promise<Connection> {
    const c = new Connection();
    c.socket = await Bun.connect({
      hostname: host,
      port,
      socket: {
        data: (_s, chunk) => {
          try {
            c.parser.feed(chunk);
          } catch (error) {
            c.failure = error as Error;
            c.socket?.end();
          }
          c.onAfterData();
        },
        drain: () => c.flush(),
        close: () => {
          c.closed = true;
          c.onAfterData();
        },
        error: (_s, error) => {
          c.failure = error;
        },
      },
    });
    return c;
  }

  get inflight(): number {
    return this.callbacks.length - this.cbHead;
  }

  /** Queues one request; call flush() once a batch is queued. */
  send(parts: Uint8Array[], onReply: (v: RespValue) => void): void {
    for (const p of parts) this.out.push(p);
    this.callbacks.push(onReply);
  }

  flush(): void {
    const s = this.socket;
    if (!s || this.closed) return;
    while (this.out.length > 0) {
      // Coalesce small queued parts into one write of at most COALESCE_BYTES.
      let total = 0;
      let used = 0;
      while (used < this.out.length && total + this.out[used]!.length <= COALESCE_BYTES) {
        total += this.out[used]!.length;
        used++;
      }
      let chunk: Uint8Array;
      if (used <= 1) {
        chunk = this.out[0]!;
        used = 1;
      } else {
        chunk = new Uint8Array(total);
        let at = 0;
        for (let i = 0; i < used; i++) {
          chunk.set(this.out[i]!, at);
          at += this.out[i]!.length;
        }
      }
      const written = s.write(chunk);
      this.out.splice(0, used);
      if (written < chunk.length) {
        this.out.unshift(chunk.subarray(Math.max(0, written)));
        return;
      }
    }
  }

  close(): void {
    this.socket?.end();
  }
}
