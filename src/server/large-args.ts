/**
 * Streamed arguments (protocol/parser.ts LargeArg): bulk strings above the large-value
 * threshold go from the socket into a file (storage/large) as they arrive. How a connection's
 * parser opens those files, and what happens to them before and after the command runs.
 */
import type { CommandRow } from "../commands/row.ts";
import type { ServerContext } from "../commands/spec.ts";
import { RespError } from "../errors.ts";
import { largeBody } from "../protocol/large-arg.ts";
import { type Command, RespParser } from "../protocol/parser.ts";
import type { Reply } from "../protocol/reply.ts";

/** A connection's request parser, bounded by proto-max-bulk-len and streaming large values. */
export function requestParser(server: ServerContext): RespParser {
  const security = server.security;
  const large = server.store.large;
  return new RespParser({
    ...(security ? { bulkBytesMax: security.limits.protoMaxBulkLen } : {}),
    streamBulkBytesOver: large.thresholdBytes,
    openSink: (size) => {
      try {
        return large.upload(size);
      } catch (error) {
        // No file (disk full, descriptors exhausted): buffer this one in memory instead.
        large.report(`large value upload: ${(error as Error).message}`);
        return null;
      }
    },
  });
}

/**
 * Streamed arguments before the command runs: a command whose row says largeArgs keeps them;
 * any other command, and a command queued in MULTI, gets the bytes read into memory (bounded
 * by proto-max-bulk-len); a refused command drops them. Returns an error reply when the
 * upload itself failed (disk full); `report` logs why.
 */
export function readLargeArgs(
  args: Command,
  spec: CommandRow | RespError,
  inMulti: boolean,
  report: (message: string) => void,
): RespError | null {
  let failure: RespError | null = null;
  for (let i = 0; i < args.length; i++) {
    const body = largeBody(args[i]);
    if (body === null) continue;
    if (spec instanceof RespError) body.dispose();
    else if (inMulti || !spec.largeArgs) {
      try {
        args[i] = body.readAll();
      } catch (error) {
        report(`large value upload failed: ${(error as Error).message}`);
        failure ??= new RespError("ERR", "the value could not be stored");
      } finally {
        body.dispose();
      }
    }
  }
  return failure;
}

/**
 * Drops a command's streamed arguments once its reply is settled (persisted ones stay).
 * `inFlight(+1)` / `inFlight(-1)` bracket a write still pending, which holds the client's
 * later writes back.
 */
export function releaseLargeArgsAfter(
  args: Command,
  result: Reply | Promise<Reply>,
  inFlight: (delta: 1 | -1) => void,
): void {
  const bodies = args.map(largeBody).filter((b) => b !== null);
  if (bodies.length === 0) return;
  const release = () => {
    for (const body of bodies) body.dispose();
  };
  if (!(result instanceof Promise)) {
    release();
    return;
  }
  inFlight(1);
  const done = () => {
    inFlight(-1);
    release();
  };
  result.then(done, done);
}
