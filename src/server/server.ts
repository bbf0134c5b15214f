/**
 * startServer(): builds everything one node needs (store, command table, stats, listener)
 * and returns a handle to stop it. No module-level state, so several nodes can run in one
 * process (tests do). Graceful close: stop accepting, let in-flight commands finish, drain
 * the writers, close the databases.
 */
import type { TCPSocketListener } from "bun";
import { commandRows } from "../commands/index.ts";
import { SlowLog } from "../commands/observability.ts";
import type { ClientState, ServerContext, ServerStats } from "../commands/spec.ts";
import { buildTable } from "../commands/table.ts";
import type { Config } from "../config/index.ts";
import { errors } from "../errors.ts";
import { limits } from "../limits.ts";
import { createLogger, type Logger } from "../log.ts";
import { type MetricsServer, startMetricsServer } from "../metrics/http.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import type { Reply } from "../protocol/reply.ts";
import { Store } from "../storage/store.ts";
import { ExpirySweeper } from "../storage/ttl.ts";
import { VERSION } from "../version.ts";
import { Connection, type ConnectionHost, type ExecGate } from "./connection.ts";
import { Dispatcher } from "./dispatch.ts";
import { IdleCollector } from "./idle-gc.ts";
import { MonitorFeed } from "./monitor.ts";
import { InstantRates } from "./rates.ts";

export interface ServerHandle {
  readonly port: number;
  readonly hostname: string;
  readonly context: ServerContext;
  readonly store: Store;
  /** Graceful stop; resolves when the databases are closed. Safe to call twice. */
  close(): Promise<void>;
  /** Resolves when the server has stopped (by close() or by the SHUTDOWN command). */
  readonly closed: Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  clock?: () => number;
}

export function newStats(): ServerStats {
  return {
    connectionsReceived: 0,
    commandsProcessed: 0,
    rejectedConnections: 0,
    expiredKeys: 0,
    keyspaceHits: 0,
    keyspaceMisses: 0,
    netInputBytes: 0,
    netOutputBytes: 0,
    errorReplies: 0,
    commands: new Map(),
    errorsByCode: new Map(),
    slowlog: new SlowLog(),
  };
}

export async function startServer(
  config: Config,
  options: StartOptions = {},
): Promise<ServerHandle> {
  const log = options.log ?? createLogger();
  const stats = newStats();
  const rates = new InstantRates(stats);
  const idleCollector = new IdleCollector(stats, undefined, log);
  // Metrics (src/metrics): one registry per server, none when [metrics] enabled = false.
  const metrics = config.metrics.enabled ? new MetricsRegistry() : undefined;
  let metricsServer: MetricsServer | null = null;
  const store = new Store({
    dataDir: config.dataDir,
    numShards: config.numShards,
    sqlite: config.sqlite,
    compression: config.storageCompression,
    batchSize: config.batchSize,
    batchTimeoutMs: config.batchTimeoutMs,
    clock: options.clock,
    log,
    asyncWrite: config.asyncWrite,
    valueCacheMb: config.valueCacheMb,
    databases: config.databases,
    events: {
      onCommit: metrics?.onCommit,
      onCommitError: (shard, error, ops) =>
        log.error(
          `shard ${shard}: transaction of ${ops} operation(s) failed: ${(error as Error)?.message ?? error}`,
        ),
    },
  });
  const connections = new Map<number, Connection>();
  const clients = new Map<number, ClientState>();
  let listener: TCPSocketListener<Connection> | null = null;
  let nextClientId = 1;
  let closing: Promise<void> | null = null;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });

  const context: ServerContext = {
    config,
    store,
    rates,
    table: buildTable(commandRows),
    startedAt: Date.now(),
    version: VERSION,
    clients,
    stats,
    metrics,
    port: () => listener?.port ?? config.addr.port,
    shutdown: () => {
      void close();
    },
    monitors: new MonitorFeed(),
    // Replaced below, once the dispatcher exists.
    runTransaction: async () => null,
  };
  const dispatcher = new Dispatcher(context, log);
  const gate: ExecGate = { owner: null, waiters: [] };
  /**
   * EXEC: runs the queue with every other client held at the gate, every write going through
   * the store's overlay (so later commands see earlier ones), then commits them together.
   */
  context.runTransaction = async (ctx, queued) => {
    gate.owner = ctx.client;
    try {
      const { result, failed } = await store.exclusive(async () => {
        const replies: Reply[] = [];
        const execCtx = { ...ctx, inExec: true };
        for (const { spec, args } of queued)
          replies.push(await dispatcher.execute(execCtx, spec, args));
        return replies;
      });
      return failed ? errors.storage() : result;
    } finally {
      gate.owner = null;
      for (const wake of gate.waiters.splice(0)) wake();
    }
  };
  const host: ConnectionHost = {
    server: context,
    dispatcher,
    gate,
    closed(conn) {
      store.watches.unwatchAll(conn.client.watcher);
      context.monitors.remove(conn.client);
      connections.delete(conn.client.id);
      clients.delete(conn.client.id);
    },
  };
  const sweeper = new ExpirySweeper(
    store,
    (n) => {
      stats.expiredKeys += n;
    },
    log,
  );

  try {
    listener = Bun.listen<Connection>({
      hostname: config.addr.host,
      port: config.addr.port,
      socket: {
        open(socket) {
          if (closing) {
            socket.end();
            return;
          }
          socket.setNoDelay(true);
          const conn = new Connection(socket, nextClientId++, host);
          socket.data = conn;
          connections.set(conn.client.id, conn);
          clients.set(conn.client.id, conn.client);
          stats.connectionsReceived++;
        },
        data(socket, chunk) {
          try {
            socket.data?.onData(chunk);
          } catch (error) {
            // A bug must cost one connection, never the server.
            log.error("connection handler failed; closing that connection", error);
            socket.data?.close();
          }
        },
        drain(socket) {
          socket.data?.onDrain();
        },
        close(socket) {
          socket.data?.onClose();
        },
        error(socket, error) {
          log.debug(`socket error: ${error.message}`);
          metrics?.connectionDropped();
          socket.data?.onClose();
        },
      },
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  sweeper.start();
  rates.start();
  idleCollector.start();
  if (metrics) {
    try {
      metricsServer = startMetricsServer(context, metrics, config.metrics.addr);
    } catch (error) {
      log.error(
        `metrics: cannot listen on ${config.metrics.addr.text}: ${(error as Error).message}`,
      );
    }
  }

  async function close(): Promise<void> {
    if (closing) return closing;
    closing = (async () => {
      listener?.stop(false);
      const deadline = Date.now() + limits.shutdownGraceMs;
      // Let replies already owed to clients go out before closing their sockets.
      while (Date.now() < deadline && [...connections.values()].some((c) => !c.idle)) {
        await Bun.sleep(5);
      }
      sweeper.stop();
      rates.stop();
      idleCollector.stop();
      await metricsServer?.stop();
      await store.close();
      for (const conn of connections.values()) conn.close();
      listener?.stop(true);
      resolveClosed();
    })();
    return closing;
  }

  return {
    port: listener.port,
    hostname: listener.hostname,
    context,
    store,
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}
