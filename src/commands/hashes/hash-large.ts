/**
 * HSET and HMSET with values the parser streamed to files (rows with largeArgs, as SET): each
 * such value is made durable under large/ before the hash is touched, then its field points
 * at the file (format 4), so a blob stored as a hash field is written to disk once and never
 * held whole in memory. A streamed field name is read into memory: names are the hash's keys.
 * A file no field took (WRONGTYPE, a failed commit) is removed at once.
 */
import { errors } from "../../errors.ts";
import { largeBody } from "../../protocol/large-arg.ts";
import type { LargeRef, LargeUpload } from "../../storage/api.ts";
import type { KeyCtx } from "../spec.ts";

/**
 * Persists the streamed values among `args` (field/value pairs from index 2) and runs `write`
 * with them by argument index; cleans up the files if it fails.
 */
export function withStreamedValues<T>(
  ctx: KeyCtx,
  args: Uint8Array[],
  write: (files: ReadonlyMap<number, LargeRef>) => Promise<T>,
): Promise<T> {
  // The common HSET streams nothing: no promise of its own, no map.
  for (let i = 2; i < args.length; i++)
    if (largeBody(args[i]) !== null) return persistThenWrite(ctx, args, write);
  return write(NO_FILES);
}

const NO_FILES: ReadonlyMap<number, LargeRef> = new Map();

async function persistThenWrite<T>(
  ctx: KeyCtx,
  args: Uint8Array[],
  write: (files: ReadonlyMap<number, LargeRef>) => Promise<T>,
): Promise<T> {
  const large = ctx.server.store.large;
  const files = new Map<number, LargeRef>();
  try {
    for (let i = 2; i < args.length; i++) {
      const body = largeBody(args[i]);
      if (body === null) continue;
      if (i % 2 === 0) {
        args[i] = body.readAll();
        body.dispose();
      } else {
        // Only storage/large/upload.ts produces bodies (the parser's sink is LargeFiles.upload).
        files.set(i, await (body as LargeUpload).persist());
      }
    }
  } catch (error) {
    for (const ref of files.values()) large.discard(ref);
    large.report(`storing a large hash value: ${(error as Error).message}`);
    throw errors.storage();
  }
  try {
    return await write(files);
  } catch (error) {
    // The write threw or its COMMIT failed: no field points at these files.
    for (const ref of files.values()) large.discard(ref);
    throw error;
  }
}
