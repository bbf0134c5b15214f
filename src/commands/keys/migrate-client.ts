/**
 * MIGRATE's connection to the target: sends a pipeline of commands and reads one RESP2 reply
 * per command, with one deadline over connect, send and read. Errors name what failed in
 * Redis's words (IOERR …). Replies are reduced to what MIGRATE needs: OK or an error text.
 */
import { RespError } from "../../errors.ts";

export type TargetReply = { ok: true } | { ok: false; error: string };

function encode(args: (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b =
      typeof a === "string" ? Buffer.from(a) : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Skips one reply frame at `at`; returns [reply, next] or null when incomplete. */
function readReply(buf: Buffer, at: number): [TargetReply, number] | null {
  const eol = buf.indexOf("\r\n", at);
  if (eol < 0) return null;
  const type = buf[at];
  const line = buf.toString("latin1", at + 1, eol);
  let next = eol + 2;
  if (type === 0x2b /* + */ || type === 0x3a /* : */) return [{ ok: true }, next];
  if (type === 0x2d /* - */) return [{ ok: false, error: line }, next];
  if (type === 0x24 /* $ */) {
    const len = Number(line);
    if (len < 0) return [{ ok: true }, next];
    if (buf.length < next + len + 2) return null;
    return [{ ok: true }, next + len + 2];
  }
  if (type === 0x2a /* * */) {
    const n = Number(line);
    for (let i = 0; i < n; i++) {
      const inner = readReply(buf, next);
      if (inner === null) return null;
      next = inner[1];
    }
    return [{ ok: true }, next];
  }
  throw new RespError("IOERR", "error or timeout reading to target instance");
}

export async function pipelineToTarget(
  host: string,
  port: number,
  commands: (string | Uint8Array)[][],
  timeoutMs: number,
): Promise<TargetReply[]> {
  const replies: TargetReply[] = [];
  let inbox = Buffer.alloc(0);
  let connected = false;
  return await new Promise<TargetReply[]>((resolve, reject) => {
    let done = false;
    let socket: { end(): void; write(d: Uint8Array): number } | null = null;
    const finish = (error: RespError | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        socket?.end();
      } catch {
        // gone already
      }
      if (error) reject(error);
      else resolve(replies);
    };
    const ioError = () =>
      new RespError(
        "IOERR",
        connected
          ? "error or timeout reading to target instance"
          : "error or timeout connecting to the client",
      );
    const timer = setTimeout(() => finish(ioError()), timeoutMs);
    const out = Buffer.concat(commands.map(encode));
    let sent = 0;
    const pump = () => {
      while (socket && sent < out.length) {
        const n = socket.write(out.subarray(sent));
        if (n <= 0) return;
        sent += n;
      }
    };
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open(s) {
          socket = s;
          connected = true;
          pump();
        },
        drain() {
          pump();
        },
        data(_s, chunk) {
          inbox = inbox.length === 0 ? Buffer.from(chunk) : Buffer.concat([inbox, chunk]);
          let at = 0;
          try {
            for (;;) {
              const r = readReply(inbox, at);
              if (r === null) break;
              replies.push(r[0]);
              at = r[1];
            }
          } catch (error) {
            finish(error as RespError);
            return;
          }
          inbox = inbox.subarray(at);
          if (replies.length >= commands.length) finish(null);
        },
        close() {
          finish(ioError());
        },
        error() {
          finish(ioError());
        },
        connectError() {
          finish(ioError());
        },
      },
    }).catch(() => finish(ioError()));
  });
}
