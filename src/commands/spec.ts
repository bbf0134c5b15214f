/**
 * The shape of one command-table row and the context a handler receives. Every consumer
 * (dispatch, COMMAND, INFO commandstats, cluster routing) reads these rows; nobody keeps a
 * second list of commands.
 */
import type { Config } from "../config/index.ts";
import type { Reply } from "../protocol/reply.ts";
import type { ProtocolVersion } from "../protocol/writer.ts";
import type { Store } from "../storage/store.ts";

export type CommandFlag =
  | "write"
  | "readonly"
  | "fast"
  | "admin"
  | "noauth"
  | "loading"
  | "stale"
  | "noscript"
  | "denyoom"
  | "random"
  | "no_multi"
  | "allow_busy";

export type CommandGroup =
  | "string"
  | "generic"
  | "hash"
  | "connection"
  | "server"
  | "cluster"
  | "transactions"
  | "blobasaur";

/** Redis's key-position convention: 1-based argument index, last -1 = up to the end. */
export interface KeyRange {
  first: number;
  last: number;
  step: number;
}

export interface ClientState {
  readonly id: number;
  readonly addr: string;
  readonly laddr: string;
  readonly createdAt: number;
  name: string | null;
  libName: string | null;
  libVer: string | null;
  protocol: ProtocolVersion;
  lastInteraction: number;
  lastCommand: string;
  /** Set by QUIT: send the pending replies, then close. */
  closeAfterReply: boolean;
  /** Asks the connection to close at once (CLIENT KILL). */
  kill(): void;
}

export interface CommandStat {
  calls: number;
  usec: number;
  rejectedCalls: number;
  failedCalls: number;
}

/** Server-wide state handed to handlers; created by startServer(), never global. */
export interface ServerContext {
  readonly config: Config;
  readonly store: Store;
  readonly table: CommandTable;
  readonly startedAt: number;
  readonly version: string;
  readonly clients: ReadonlyMap<number, ClientState>;
  readonly stats: ServerStats;
  /** The port actually bound (differs from config when it asked for 0). */
  port(): number;
  /** Starts a graceful shutdown (SHUTDOWN command). */
  shutdown(): void;
}

export interface ServerStats {
  connectionsReceived: number;
  commandsProcessed: number;
  rejectedConnections: number;
  expiredKeys: number;
  keyspaceHits: number;
  keyspaceMisses: number;
  netInputBytes: number;
  netOutputBytes: number;
  errorReplies: number;
  readonly commands: Map<string, CommandStat>;
  readonly errorsByCode: Map<string, number>;
}

export interface Ctx {
  readonly server: ServerContext;
  readonly client: ClientState;
}

export type Handler = (ctx: Ctx, args: Uint8Array[]) => Reply | Promise<Reply>;

export interface CommandSpec {
  /** Lower-case name, e.g. "get", or "client|setname" for a subcommand. */
  readonly name: string;
  /** Redis convention: N = exactly N arguments including the name, -N = at least N. */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  readonly keys: KeyRange | null;
  readonly group: CommandGroup;
  readonly summary: string;
  /** Arguments after the name, in Redis's documentation style. */
  readonly syntax: string;
  readonly since: string;
  readonly handler?: Handler;
  readonly subcommands?: readonly CommandSpec[];
}

/** Lookup structure built once from the rows by table.ts. */
export interface CommandTable {
  readonly all: readonly CommandSpec[];
  get(name: string): CommandSpec | undefined;
  sub(parent: CommandSpec, name: string): CommandSpec | undefined;
}
