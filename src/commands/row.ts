/**
 * The shape of one command-table row, without its handler's type: what the rooms below the
 * commands (security, pub/sub, scripting, MONITOR) read of a command — its name, arity,
 * flags, key positions and ACL facts. spec.ts binds the handler type (CommandSpec); this file
 * imports nothing, so anyone may read a row without an import circle.
 */
export type CommandFlag =
  | "write"
  | "readonly"
  | "fast"
  | "admin"
  | "no_auth"
  | "loading"
  | "stale"
  | "noscript"
  | "denyoom"
  | "random"
  | "no_multi"
  | "allow_busy"
  | "skip_slowlog"
  | "asking"
  | "no_async_loading"
  | "no_mandatory_keys"
  | "skip_monitor"
  | "pubsub";

export type CommandGroup =
  | "string"
  | "generic"
  | "hash"
  | "connection"
  | "server"
  | "cluster"
  | "transactions"
  | "scripting"
  | "pubsub"
  | "blobasaur";

/** Redis's key-position convention: 1-based argument index, last -1 = up to the end. */
export interface KeyRange {
  first: number;
  last: number;
  step: number;
}

export interface CommandRow<H = unknown> {
  /** Lower-case name, e.g. "get", or "client|setname" for a subcommand. */
  readonly name: string;
  /** Redis convention: N = exactly N arguments including the name, -N = at least N. */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  readonly keys: KeyRange | null;
  /**
   * Keys whose positions depend on the arguments (EVAL and FCALL's `numkeys`, at index
   * `numkeys`): `find` returns their indexes into args. Such rows have `keys: null`, as Redis's
   * COMMAND INFO shows 0 0 0 (movablekeys) for them.
   */
  /** COMMAND INFO shows movablekeys though `keys` covers the usual form (MIGRATE's KEYS). */
  readonly movableKeyFlag?: true;
  readonly movableKeys?: {
    readonly numkeys: number;
    find(args: readonly Uint8Array[]): number[];
  };
  readonly group: CommandGroup;
  readonly summary: string;
  /** Arguments after the name, in Redis's documentation style. */
  readonly syntax: string;
  readonly since: string;
  readonly handler?: H;
  readonly subcommands?: readonly CommandRow<H>[];
  /**
   * ACL categories the flags and group do not imply (e.g. "@dangerous" on FLUSHALL, "@bitmap"
   * on SETBIT); security/categories.ts derives the rest as Redis does.
   */
  readonly acl?: readonly string[];
  /**
   * Pub/sub channel arguments the ACL checks against `&pattern` rules: args[first..] (or just
   * args[first] when `one`); `pattern` = the arguments are patterns, matched literally (PSUBSCRIBE).
   */
  readonly channels?: {
    readonly first: number;
    readonly one?: boolean;
    readonly pattern?: boolean;
  };
  /**
   * The handler accepts streamed bulk strings (protocol/parser.ts LargeArg) and stores them
   * by reference (storage/large). For every other command the connection reads them into
   * memory first.
   */
  readonly largeArgs?: boolean;
  /**
   * The row's part in a MULTI queue. "runs": it runs at once inside MULTI instead of being
   * queued (MULTI, DISCARD, WATCH, QUIT, RESET, as Redis). "exec": it runs at once and runs
   * the queue, so cluster routing checks the queued keys, CLIENT PAUSE WRITE judges the
   * queued writes and MONITOR shows it after them.
   */
  readonly multi?: "runs" | "exec";
  /**
   * A RESP2 client with subscriptions may still send it (Redis's list: the (P|S)SUBSCRIBE and
   * (P|S)UNSUBSCRIBE family, PING, QUIT and RESET); other commands are refused.
   */
  readonly whileSubscribed?: true;
  /**
   * Reads its keys without Redis's lookup side effects: no `keymiss` event for a missing key
   * (Redis's LOOKUP_NONOTIFY: OBJECT, MEMORY USAGE).
   */
  readonly quietLookup?: true;
}

/** Lookup structure built once from the rows by table.ts. */
export interface CommandTableOf<H = unknown> {
  readonly all: readonly CommandRow<H>[];
  get(name: string): CommandRow<H> | undefined;
  sub(parent: CommandRow<H>, name: string): CommandRow<H> | undefined;
}
