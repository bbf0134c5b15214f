/**
 * The string commands' side of large values (storage/large/): SET with a streamed value
 * (protocol/parser.ts LargeArg) stores it by reference, and GET, STRLEN and GETRANGE read a
 * file row without loading it: GET streams it, STRLEN reads the size from the row, GETRANGE
 * reads only the chunks of the range. Every other string command sees the whole value
 * (LiveEntry.value reads the file), bounded by proto-max-bulk-len.
 */
import { errors } from "../../errors.ts";
import { limits } from "../../limits.ts";
import type { LargeBody } from "../../protocol/large-arg.ts";
import { OK, type Reply } from "../../protocol/reply.ts";
import {
  type ExpiryMs,
  keyParam,
  type LargeRef,
  type LargeUpload,
  type LiveEntry,
} from "../../storage/api.ts";
import { ks } from "../db.ts";
import type { KeyCtx } from "../spec.ts";

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
 * SET key <streamed value> [options]: makes the uploaded file durable (fsync, rename, fsync of
 * the directory), then points the key at it in a writer transaction; the reply comes after
 * that COMMIT. A file no row took (NX/XX not met, an expiry in the past, a failed commit) is
 * removed at once; a crash in between leaves an orphan the next start removes.
 */
export async function setLarge(
  ctx: KeyCtx,
  args: Uint8Array[],
  body: LargeBody,
  opts: LargeSetOptions | null,
): Promise<Reply> {
  const store = ks(ctx);
  const large = ctx.server.store.large;
  let ref: LargeRef;
  try {
    // Only storage/large/upload.ts produces bodies (the parser's sink is LargeFiles.upload).
    ref = await (body as LargeUpload).persist();
  } catch (error) {
    large.report(`storing a large value: ${(error as Error).message}`);
    throw errors.storage();
  }
  const key = keyParam(args[1]!);
  let used = false;
  let reply: Reply;
  try {
    reply = await store.writeHash(args[1]!, (table, now): Reply => {
      if (opts === null) {
        table.putFile(key, ref, now, null);
        used = true;
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
      else {
        table.putFile(key, ref, now, expiresAt);
        used = true;
      }
      return opts.get ? previous : OK;
    });
  } catch (error) {
    // The closure threw or its COMMIT failed: no row points at the file.
    large.discard(ref);
    throw error;
  }
  if (!used) large.discard(ref);
  return reply;
}
