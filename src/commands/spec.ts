/**
 * The shape of one command-table row and the context a handler receives. Every consumer
 * (dispatch, COMMAND, INFO commandstats, cluster routing) reads these rows; nobody keeps a
 * second list of commands.
 */
import type { Cluster } from "../cluster/cluster.ts";
import type { Config } from "../config/index.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { Reply } from "../protocol/reply.ts";
import type { ProtocolVersion } from "../protocol/writer.ts";
import type { PubsubServices } from "../pubsub/index.ts";
import type { ScriptEngine } from "../scripting/engine.ts";
import type { Security } from "../security/security.ts";
import type { AclUser } from "../security/user.ts";
import type { MonitorFeed } from "../server/monitor.ts";
import type { Store, Watcher } from "../storage/api.ts";
import type { SlowLog } from "./observability.ts";

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
  | "allow_busy"
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

export interface ClientState {
  readonly id: number;
  readonly addr: string;
  readonly laddr: string;
  readonly createdAt: number;
  name: string | null;
  libName: string | null;
  libVer: string | null;
  protocol: ProtocolVersion;
  /** The selected Redis database (SELECT); every key command acts on it. */
  db: number;
  lastInteraction: number;
  lastCommand: string;
  /** CLIENT REPLY: "off" drops every reply, "skip" drops the next one (server/connection.ts). */
  replyMode: "on" | "off" | "skip";
  /** Set by QUIT: send the pending replies, then close. */
  closeAfterReply: boolean;
  /** The MULTI queue, or null outside a transaction. */
  tx: { queued: QueuedCommand[]; failed: boolean } | null;
  /** The keys this client WATCHes and whether one was written since. */
  readonly watcher: Watcher;
  /** Asks the connection to close at once (CLIENT KILL). */
  kill(): void;
  /** Set by MONITOR (server/monitor.ts): this client receives the command stream. */
  monitoring: boolean;
  /**
   * Sends an out-of-band reply (a MONITOR line) after every reply already owed. `now`: ahead
   * of the reply of the command this client is running (pub/sub messages, as Redis).
   */
  deliver(reply: Reply, now?: boolean): void;
  /** Channels + patterns + shard channels subscribed (src/pubsub/hub.ts keeps it); 0 or absent = none. */
  subscriptions?: number;
  /** The same per kind, for CLIENT LIST's sub=, psub= and ssub=. */
  subCounts?: { channels: number; patterns: number; shard: number };
  /** Reply bytes rendered or queued but not yet taken by the socket. */
  outputBytes(): number;
  /** The ACL user this client runs as (src/security); set when the connection opens. */
  user?: AclUser;
  /** False until AUTH when the default user needs a password (NOAUTH). */
  authenticated?: boolean;
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
  /** The cluster handle (src/cluster); absent when `[cluster] enabled = false`. */
  readonly cluster?: Cluster;
  /** Prometheus metrics (src/metrics); absent when `[metrics] enabled = false`. */
  readonly metrics?: MetricsRegistry;
  /** The port actually bound (differs from config when it asked for 0). */
  port(): number;
  /** Starts a graceful shutdown (SHUTDOWN command). */
  shutdown(): void;
  /** INFO's instantaneous_* rates (server/rates.ts); absent in unit tests that build a context. */
  readonly rates?: {
    readonly opsPerSec: number;
    readonly inputKbps: number;
    readonly outputKbps: number;
  };
  /** The MONITOR audience (server/monitor.ts); dispatch feeds it every command that ran. */
  readonly monitors: MonitorFeed;
  /** Users, ACL, client limits (src/security); absent in unit tests that build a context. */
  readonly security?: Security;
  /** Pub/sub, notifications, tracking, CLIENT PAUSE (src/pubsub); absent in unit-test contexts. */
  readonly pubsub?: PubsubServices;
  /**
   * EVAL / FCALL: the Lua VMs, script cache and function libraries (src/scripting); absent in
   * contexts built without startServer() (bench/inproc.ts), where scripting commands refuse.
   */
  scripting?: ScriptEngine;
  /** Runs EXEC's queue with no other client's command interleaved (server/server.ts). */
  runTransaction(ctx: Ctx, queued: readonly QueuedCommand[]): Promise<Reply>;
}

/** A command accepted inside MULTI, waiting for EXEC. */
export interface QueuedCommand {
  readonly spec: CommandSpec;
  readonly args: Uint8Array[];
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
  /** SLOWLOG's bounded ring (commands/observability.ts); dispatch feeds it. */
  readonly slowlog: SlowLog;
}

export interface Ctx {
  readonly server: ServerContext;
  readonly client: ClientState;
  /** True while EXEC runs the queued commands (MONITOR refuses to start there, as in Redis). */
  readonly inExec?: boolean;
}

export type Handler = (ctx: Ctx, args: Uint8Array[]) => Reply | Promise<Reply>;

export interface CommandSpec {
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
  readonly movableKeys?: {
    readonly numkeys: number;
    find(args: readonly Uint8Array[]): number[];
  };
  readonly group: CommandGroup;
  readonly summary: string;
  /** Arguments after the name, in Redis's documentation style. */
  readonly syntax: string;
  readonly since: string;
  readonly handler?: Handler;
  readonly subcommands?: readonly CommandSpec[];
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
}

/** Lookup structure built once from the rows by table.ts. */
export interface CommandTable {
  readonly all: readonly CommandSpec[];
  get(name: string): CommandSpec | undefined;
  sub(parent: CommandSpec, name: string): CommandSpec | undefined;
}
