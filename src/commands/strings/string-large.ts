/**
 * The string commands' side of large values (storage/large/): SET with a streamed value
 * (protocol/parser.ts LargeArg) stores it by reference, and GET, STRLEN and GETRANGE read a
 * file row without loading it: GET streams it, STRLEN reads the size from the row, GETRANGE
 * reads only the chunks of the range. Every other string command sees the whole value
 * (LiveEntry.value reads the file), bounded by proto-max-bulk-len.
 */
import { errors } from "../../errors.ts";
import { limits } from "../../limits.ts";
import { OK, type Reply } from "../../protocol/reply.ts";
import { type ExpiryMs, keyParam, type LargeRef, type LiveEntry } from "../../storage/api.ts";
import { ks } from "../db.ts";
import type { KeyCtx } from "../spec.ts";
import { withStreamedValues } from "../streamed-values.ts";

/** SET's parsed options (string.ts parseSetOptions); null for a plain SET key value. */
export interface LargeSetOptions {
  condition: "NX" | "XX" | null;
  get: boolean;
  keepTtl: boolean;
  expiresAt: ExpiryMs | null;
}

/** GET's reply for a live string (and HGET's for a field): the bytes, or a stream of the file. */
export function stringReply(ctx: KeyCtx, entry: LiveEntry): Reply {
  if (entry.large === undefined) return entry.value;
  try {
    const large = ctx.server.store.large;
    // Small enough to hold briefly: one read and one socket write beat a stream's turns.
    // Inside EXEC and scripts (ctx.inExec) the reply may be consumed in memory (Lua): whole.
    if (entry.large.size <= limits.largeReplyWholeBytesMax || ctx.inExec) return entry.value;
    return large.stream(entry.large);
  } catch (error) {
    ctx.server.store.large.report(`GET of a large value: ${(error as Error).message}`);
    throw errors.storage();
  }
}

/** STRLEN without reading the value. */
export function stringLength(entry: LiveEntry | null): number {
  if (entry === null) return 0;
  return entry.large !== undefined ? entry.large.size : entry.value.length;
}

/** Bytes [start, end] (inclusive, already clamped) of a file row, reading only their chunks. */
export function fileRange(ctx: KeyCtx, ref: LargeRef, start: number, end: number): Uint8Array {
  try {
    const file = ctx.server.store.large.open(ref);
    try {
      return file.readRange(start, end + 1);
    } finally {
      file.close();
    }
  } catch (error) {
    ctx.server.store.large.report(`GETRANGE of a large value: ${(error as Error).message}`);
    throw errors.storage();
  }
}

/**
 * SET key <streamed value> [options]: the uploaded file is made durable first, then the key
 * points at it in a writer transaction; the reply comes after that COMMIT. A file the write
 * does not take (NX/XX not met, an expiry in the past, a failed commit) is removed at once
 * (streamed-values.ts).
 */
export function setLarge(
  ctx: KeyCtx,
  args: Uint8Array[],
  opts: LargeSetOptions | null,
): Promise<Reply> {
  return withStreamedValues(ctx, args, 1, (take) =>
    ks(ctx).writeHash(args[1]!, (table, now): Reply => {
      const key = keyParam(args[1]!);
      if (opts === null) {
        table.putFile(key, take(2)!, now, null);
        return OK;
      }
      const needsOld = opts.condition !== null || opts.get || opts.keepTtl;
      const old = opts.get ? table.live(key, now) : needsOld ? table.entry(key, now) : null;
      const previous: Reply = opts.get && old !== null ? stringReply(ctx, old) : null;
      if ((opts.condition === "NX" && old) || (opts.condition === "XX" && !old)) return previous;
      const expiresAt = opts.keepTtl
        ? old === null || old.expiresAt === null
          ? null
          : (table.exactExpiry(key, now) ?? null)
        : opts.expiresAt;
      if (expiresAt !== null && expiresAt <= now) table.remove(key, now);
      else table.putFile(key, take(2)!, now, expiresAt);
      return opts.get ? previous : OK;
    }),
  );
}
