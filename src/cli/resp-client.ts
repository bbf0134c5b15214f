/**
 * A minimal RESP client for the maintenance CLI: connect, send one command as bulk strings,
 * read exactly one reply frame (RESP2, plus the RESP3 types for robustness) with a size cap
 * and one deadline covering connect + send + read, then close. It must not be used by the
 * server and does no pipelining, reconnects or auth.
 */
import { createConnection } from "node:net";
import { limits } from "../limits.ts";

/** An error reply (`-ERR ...`) from the server, kept apart from transport failures. */
export class RespErrorReply {
  constructor(readonly message: string) {}
}

/**
 * A decoded reply: bulk/simple/verbatim strings as string, integers as number (bigint beyond
 * 2^53), null, arrays (RESP3 maps arrive flattened to [k, v, k, v…], like RESP2's), errors.
 */
export type RespValue = string | number | bigint | boolean | null | RespErrorReply | RespValue[];

/** Thrown when the frame is malformed. */
export class RespFrameError extends Error {}

const CRLF = 0x0d;

/** Parses one frame at `at`; undefined when the buffer does not hold all of it yet. */
export function parseFrame(
  buf: Uint8Array,
  at = 0,
): { value: RespValue; next: number } | undefined {
  if (at >= buf.length) return undefined;
  let end = -1;
  for (let i = at + 1; i + 1 < buf.length; i++) {
    if (buf[i] === CRLF && buf[i + 1] === 0x0a) {
      end = i;
      break;
    }
  }
  if (end < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = Buffer.from(buf.buffer, buf.byteOffset + at + 1, end - at - 1).toString("utf8");
  const after = end + 2;
  const count = () => {
    if (!/^-?[0-9]+$/.test(line)) throw new RespFrameError(`bad length '${line}'`);
    return Number(line);
  };
  switch (type) {
    case "+":
      return { value: line, next: after };
    case "-":
      return { value: new RespErrorReply(line), next: after };
    case ":":
    case "(": {
      if (!/^-?[0-9]+$/.test(line)) throw new RespFrameError(`bad integer '${line}'`);
      const big = BigInt(line);
      const safe = big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER);
      return { value: safe ? Number(big) : big, next: after };
    }
    case ",":
      return { value: Number(line), next: after };
    case "#":
      return { value: line === "t", next: after };
    case "_":
      return { value: null, next: after };
    case "$":
    case "=":
    case "!": {
      const n = count();
      if (n < 0) return { value: null, next: after };
      if (after + n + 2 > buf.length) return undefined;
      let s = Buffer.from(buf.buffer, buf.byteOffset + after, n).toString("utf8");
      if (type === "=") s = s.slice(4); // "txt:" prefix of verbatim strings
      const value = type === "!" ? new RespErrorReply(s) : s;
      return { value, next: after + n + 2 };
    }
    case "*":
    case "~":
    case ">":
    case "%": {
      const n = count();
      if (n < 0) return { value: null, next: after };
      const items = type === "%" ? n * 2 : n;
      const out: RespValue[] = [];
      let next = after;
      for (let i = 0; i < items; i++) {
        const part = parseFrame(buf, next);
        if (!part) return undefined;
        out.push(part.value);
        next = part.next;
      }
      return { value: out, next };
    }
    default:
      throw new RespFrameError(`unexpected reply type byte 0x${buf[at]!.toString(16)}`);
  }
}

/** `host:port` or `[v6]:port` into parts. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:[\]]+):(\d+)$/.exec(addr);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new Error(`invalid node address '${addr}': expected host:port`);
  }
  return { host: m[1]!, port };
}

function encode(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

export interface RespCallOptions {
  /** Deadline for connect + send + read together. */
  timeoutMs: number;
  /** Reply size cap; default limits.vacuumReplyBytesMax (8 MiB). */
  maxReplyBytes?: number;
}

/** Sends one command to `addr` and resolves with its one reply (an error reply included). */
export function respCall(
  addr: string,
  args: readonly string[],
  options: RespCallOptions,
): Promise<RespValue> {
  const { host, port } = splitHostPort(addr);
  const cap = options.maxReplyBytes ?? limits.vacuumReplyBytesMax;
  return new Promise<RespValue>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const socket = createConnection({ host, port });
    const finish = (error: Error | null, value?: RespValue) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value as RespValue);
    };
    const timer = setTimeout(
      () => finish(new Error(`timed out after ${options.timeoutMs / 1000} s`)),
      options.timeoutMs,
    );
    socket.on("connect", () => socket.write(encode(args)));
    socket.on("data", (data: Buffer) => {
      chunks.push(data);
      size += data.length;
      if (size > cap) {
        finish(new Error(`reply larger than ${cap} bytes`));
        return;
      }
      try {
        const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        chunks.length = 0;
        chunks.push(buf);
        const frame = parseFrame(buf);
        if (frame) finish(null, frame.value);
      } catch (error) {
        finish(new Error(`malformed reply: ${(error as Error).message}`));
      }
    });
    socket.on("error", (error) => finish(error));
    socket.on("close", () => finish(new Error("connection closed before a complete reply")));
  });
}
