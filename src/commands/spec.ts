/**
 * The command table's row type bound to its handler, and the contexts handlers receive: the
 * whole server (Ctx) for the server's own commands, and small parts of it (KeyCtx,
 * ClusterCtx, ScriptAdminCtx) for the rooms that need no more. Every consumer (dispatch,
 * COMMAND, INFO commandstats, cluster routing) reads these rows; nobody keeps a second list of
 * commands. The row's shape without the handler is row.ts, a connection's state
 * client-state.ts: the rooms below the commands read those.
 */
import type { Cluster } from "../cluster/cluster.ts";
import type { Config } from "../config/index.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { Reply } from "../protocol/reply.ts";
import type { PubsubServices } from "../pubsub/index.ts";
import type { ScriptEngine } from "../scripting/engine.ts";
import type { Security } from "../security/security.ts";
import type { MonitorFeed } from "../server/monitor.ts";
import type { ServerStats } from "../server/stats.ts";
import type { Store } from "../storage/api.ts";
import type { ClientState as ClientOf } from "./client-state.ts";
import type { CommandRow, CommandTableOf } from "./row.ts";

export type { CommandStat, ServerStats } from "../server/stats.ts";

/** A connection's state, its MULTI queue holding rows with their handlers. */
export type ClientState = ClientOf<QueuedCommand>;

/** Server-wide state handed to handlers; created by startServer(), never global. */
export interface ServerContext {
  readonly config: Config;
  readonly store: Store;
  readonly table: CommandTable;
  readonly startedAt: number;
  readonly version: string;
  readonly clients: ReadonlyMap<number, ClientState>;
  readonly stats: ServerStats;
  /** Run-time values of CONFIG parameters kept by the server itself (config/param.ts). */
  readonly configValues: Map<string, string>;
  /** Names CONFIG SET changed at run time, for CONFIG REWRITE. */
  readonly configChanged: Set<string>;
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

export interface Ctx {
  readonly server: ServerContext;
  readonly client: ClientState;
  /** True while EXEC runs the queued commands (MONITOR refuses to start there, as in Redis). */
  readonly inExec?: boolean;
}

/**
 * What a command on keys (strings, hashes, the keyspace) sees: the store, the config and the
 * hit/miss counters, and of its connection only the selected database and protocol. Such handlers cannot reach the
 * server's clients, security or scripting, so a new key type's commands need only this.
 */
export interface KeyCtx {
  readonly server: Pick<ServerContext, "store" | "config" | "stats">;
  readonly client: Pick<ClientState, "db" | "protocol">;
  /** Inside EXEC or a script a reply may be consumed in memory, so it is never a stream. */
  readonly inExec?: boolean;
}

/** What a CLUSTER command sees: a key command's context plus the node's cluster handle. */
export interface ClusterCtx extends KeyCtx {
  readonly server: Pick<ServerContext, "store" | "config" | "stats" | "cluster">;
  readonly client: Pick<ClientState, "db" | "protocol">;
}

/** What a SCRIPT or FUNCTION management command sees: the script engine only. */
export interface ScriptAdminCtx {
  readonly server: Pick<ServerContext, "scripting">;
}

/** The table's handler type; every narrower context above is a part of this one. */
export type Handler = (ctx: Ctx, args: Uint8Array[]) => Reply | Promise<Reply>;

/** A command-table row with its handler. */
export type CommandSpec = CommandRow<Handler>;

/** Lookup structure built once from the rows by table.ts. */
export type CommandTable = CommandTableOf<Handler>;
