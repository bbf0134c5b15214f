/**
 * Error types that carry a Redis error code. Handlers and storage throw these; only
 * server/dispatch turns them into bytes (see protocol/writer.ts) and counts them.
 */

/** An error reply for the client: `-<code> <message>\r\n`. The connection stays open. */
export class RespError extends Error {
  constructor(
    /** Redis error code: ERR, WRONGTYPE, MOVED, NOPROTO, ... */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "RespError";
  }

  /** The error line as a client sees it, without the leading '-' and the CRLF. */
  get wireText(): string {
    return `${this.code} ${this.message}`;
  }
}

/** Malformed framing from a client. The server replies `-ERR Protocol error: ...` and closes that connection. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** A storage or codec failure. Logged with shard and operation; the client only sees a plain ERR. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly shard: number,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StorageError";
  }
}

/** Removes CR and LF so client-supplied text echoed in an error cannot break the reply stream. */
export function sanitizeLine(text: string): string {
  return text.replace(/[\r\n]/g, " ");
}

/** Redis's standard error texts, built in one place so every command words them the same way. */
export const errors = {
  syntax: () => new RespError("ERR", "syntax error"),
  notInteger: () => new RespError("ERR", "value is not an integer or out of range"),
  notFloat: () => new RespError("ERR", "value is not a valid float"),
  wrongArity: (name: string) =>
    new RespError(
      "ERR",
      `wrong number of arguments for '${sanitizeLine(name.toLowerCase())}' command`,
    ),
  invalidExpire: (name: string) =>
    new RespError("ERR", `invalid expire time in '${sanitizeLine(name.toLowerCase())}' command`),
  /** Redis's wording: each argument quoted and followed by a space, at most ~128 chars of them. */
  unknownCommand: (name: string, args: string[]) => {
    let shown = "";
    for (const a of args) {
      if (shown.length >= 128) break;
      shown += `'${a.slice(0, 128 - shown.length)}' `;
    }
    return new RespError(
      "ERR",
      sanitizeLine(`unknown command '${name.slice(0, 128)}', with args beginning with: ${shown}`),
    );
  },
  unknownSubcommand: (sub: string, container: string) =>
    new RespError(
      "ERR",
      `unknown subcommand '${sanitizeLine(sub.length > 128 ? sub.slice(0, 128) : sub)}'. Try ${container.toUpperCase()} HELP.`,
    ),
  storage: () => new RespError("ERR", "storage error; see the server log"),
  wrongType: () =>
    new RespError("WRONGTYPE", "Operation against a key holding the wrong kind of value"),
} as const;
