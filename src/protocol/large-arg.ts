/**
 * A bulk string the parser streams instead of buffering (above `streamBulkBytesOver`): the
 * sink it writes to as bytes arrive, the body a command then sees, and the argument standing
 * for it in a Command.
 */

/** The body of a bulk string the parser did not keep in memory (storage/large/upload.ts). */
export interface LargeBody {
  readonly size: number;
  /** The whole value in memory, for commands that cannot take a file. */
  readAll(): Uint8Array;
  /** Drops whatever the body still holds (a temporary file); safe to repeat. */
  dispose(): void;
}

/** Receives a long bulk string's bytes in order; never throws (it reports errors later). */
export interface BulkSink {
  write(bytes: Uint8Array): void;
  /** All bytes arrived: the body the command will see. */
  finish(): LargeBody;
  /** The connection ended first. */
  abort(): void;
}

/**
 * The argument standing for a streamed bulk string: an empty Uint8Array (so it fits Command)
 * carrying the body. Commands that take it read `body` (largeBody()); for every other command
 * the connection replaces it with the bytes before the handler runs.
 */
export class LargeArg extends Uint8Array {
  static get [Symbol.species]() {
    return Uint8Array;
  }
  constructor(readonly body: LargeBody) {
    super(0);
  }
}

/** The streamed body behind an argument, or null for an ordinary one. */
export function largeBody(arg: Uint8Array | undefined): LargeBody | null {
  return arg instanceof LargeArg ? arg.body : null;
}
