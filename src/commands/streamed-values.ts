/**
 * Commands whose values the parser streamed to files (rows with largeArgs): SET, HSET, HMSET,
 * HSETEX. Each streamed value is made durable under large/ (fsync, rename, fsync of the
 * directory) before the key is touched; the write then takes the files it stores, so a blob
 * is written to disk once and never held whole in memory. A streamed argument in a key or
 * field-name position is read into memory instead (names are keys). A file no row took (a
 * condition not met, an expiry already past, WRONGTYPE, a failed commit) is removed at once;
 * a crash in between leaves an orphan the next start removes.
 */
import { errors } from "../errors.ts";
import { largeBody } from "../protocol/large-arg.ts";
import type { LargeRef, LargeUpload } from "../storage/api.ts";
import type { KeyCtx } from "./spec.ts";

/** The file a value argument was streamed to, marked as taken; undefined for the rest. */
export type TakeFile = (valueIndex: number) => LargeRef | undefined;

/**
 * Persists the streamed values among `args` (name/value pairs from index `first`: key and
 * value for SET, field and value for the hash commands) and runs `write`, which takes each
 * value's file by argument index. Files it did not take, and every file when it fails, are
 * removed.
 */
export function withStreamedValues<T>(
  ctx: KeyCtx,
  args: Uint8Array[],
  first: number,
  write: (take: TakeFile) => Promise<T>,
): Promise<T> {
  // The common HSET streams nothing: no promise of its own, no map.
  for (let i = first; i < args.length; i++)
    if (largeBody(args[i]) !== null) return persistThenWrite(ctx, args, first, write);
  return write(NONE);
}

const NONE: TakeFile = () => undefined;

async function persistThenWrite<T>(
  ctx: KeyCtx,
  args: Uint8Array[],
  first: number,
  write: (take: TakeFile) => Promise<T>,
): Promise<T> {
  const large = ctx.server.store.large;
  const files = new Map<number, LargeRef>();
  try {
    for (let i = first; i < args.length; i++) {
      const body = largeBody(args[i]);
      if (body === null) continue;
      if ((i - first) % 2 === 0) {
        args[i] = body.readAll();
        body.dispose();
      } else {
        // Only storage/large/upload.ts produces bodies (the parser's sink is LargeFiles.upload).
        files.set(i, await (body as LargeUpload).persist());
      }
    }
  } catch (error) {
    for (const ref of files.values()) large.discard(ref);
    large.report(`storing a large value: ${(error as Error).message}`);
    throw errors.storage();
  }
  const taken = new Set<number>();
  let result: T;
  try {
    result = await write((i) => {
      const ref = files.get(i);
      if (ref) taken.add(i);
      return ref;
    });
  } catch (error) {
    // The write threw or its COMMIT failed: no field points at these files.
    for (const ref of files.values()) large.discard(ref);
    throw error;
  }
  for (const [i, ref] of files) if (!taken.has(i)) large.discard(ref);
  return result;
}
