/**
 * startServer(): builds everything one node needs (store, command table, stats, listener)
 * and returns a handle to stop it. No module-level state, so several nodes can run in one
 * process (tests do). Graceful close: stop accepting, let in-flight commands finish, drain
 * the writers, close the databases.
 */
import type { SocketHandler, TCPSocketListener } from "bun";
import { Cluster } from "../cluster/cluster.ts";
import { clusterSettings } from "../cluster/settings.ts";
import { clientInfoLine } from "../commands/connection/client.ts";
import { commandRows } from "../commands/index.ts";
import type { ClientState, ServerContext, ServerStats } from "../commands/spec.ts";
import { buildTable } from "../commands/table.ts";
import type { Config } from "../config/index.ts";
import { limits } from "../limits.ts";
import { createLogger, type Logger } from "../log.ts";
import { type MetricsServer, startMetricsServer } from "../metrics/http.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import { PubsubServices } from "../pubsub/index.ts";
import { ScriptEngine } from "../scripting/engine.ts";
import { ClientReaper } from "../security/reaper.ts";
import { Security } from "../security/security.ts";
import { tlsOptions } from "../security/tls.ts";
import { ExpirySweeper, SlotBackfill, Store } from "../storage/api.ts";
import { REDIS_COMPAT_VERSION, VERSION } from "../version.ts";
import { execRunner, scriptHost } from "./atomic.ts";
import { Connection, type ConnectionHost, type ExecGate } from "./connection.ts";
import { Dispatcher } from "./dispatch.ts";
import { IdleCollector } from "./idle-gc.ts";
import { MonitorFeed } from "./monitor.ts";
import { InstantRates } from "./rates.ts";
import { SlowLog } from "./slowlog.ts";

export interface ServerHandle {
  readonly port: number;
  /** The TLS port actually bound, or null without `[tls] port`. */
  readonly tlsPort: number | null;
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

/** True when the TLS peer sent a certificate (an empty object means none was sent). */
function presentedCertificate(socket: { getPeerCertificate?(): object | null }): boolean {
  const cert = socket.getPeerCertificate?.();
  return cert !== null && cert !== undefined && Object.keys(cert).length > 0;
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
    largeValueThresholdBytes: config.largeValueThresholdKb * 1024,
    clusterSlots: config.cluster.enabled,
    events: {
      onCommit: metrics?.onCommit,
      onCommitError: (shard, error, ops) =>
        log.error(
          `shard ${shard}: transaction of ${ops} operation(s) failed: ${(error as Error)?.message ?? error}`,
        ),
    },
  });
  const cluster = config.cluster.enabled
    ? new Cluster(clusterSettings(config), () => store.keyspace(0), log)
    : undefined;
  const connections = new Map<number, Connection>();
  const clients = new Map<number, ClientState>();
  let listener: TCPSocketListener<Connection> | null = null;
  let tlsListener: TCPSocketListener<Connection> | null = null;
  const table = buildTable(commandRows);
  let security: Security;
  try {
    security = new Security(config, table, clients, (c) => clientInfoLine(c, Date.now()));
  } catch (error) {
    await store.close();
    throw error;
  }
  const reaper = new ClientReaper(security.limits, () => connections.values());
  /** maxclients, then protected mode: the line to refuse a new client with, or null. */
  const admission = (address: string): string | null =>
    connections.size >= security.limits.maxclients
      ? "ERR max number of clients reached"
      : security.protectedDenial(address);
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
    table,
    security,
    startedAt: Date.now(),
    version: VERSION,
    clients,
    stats,
    configValues: new Map(),
    configChanged: new Set(),
    metrics,
    cluster,
    port: () => listener?.port ?? config.addr.port,
    shutdown: () => {
      void close();
    },
    monitors: new MonitorFeed(),
    pubsub: new PubsubServices(clients, config.notifyKeyspaceEvents ?? "", options.clock),
    // Replaced below, once the dispatcher exists.
    runTransaction: async () => null,
    // Set below, once the dispatcher and the gate exist.
    scripting: undefined,
  };
  const dispatcher = new Dispatcher(context, log);
  const gate: ExecGate = { owner: null, waiters: [] };
  context.runTransaction = execRunner(context, store, dispatcher, gate);
  try {
    // A damaged functions.json stops the start, as a damaged RDB stops Redis.
    context.scripting = new ScriptEngine({
      table: context.table,
      version: REDIS_COMPAT_VERSION,
      dataDir: config.dataDir,
      host: scriptHost(store, dispatcher, gate, log, cluster ?? undefined),
    });
    context.scripting.busyThresholdMs = config.busyReplyThresholdMs;
  } catch (error) {
    await store.close();
    throw error;
  }
  const host: ConnectionHost = {
    server: context,
    dispatcher,
    gate,
    closed(conn) {
      store.watches.unwatchAll(conn.client.watcher);
      context.monitors.remove(conn.client);
      context.pubsub?.removeClient(conn.client);
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

  const socketHandlers: SocketHandler<Connection> = {
    open(socket) {
      if (closing) {
        socket.end();
        return;
      }
      // maxclients and protected mode refuse a client before it costs a Connection.
      const refusal = admission(socket.remoteAddress);
      if (refusal !== null) {
        stats.rejectedConnections++;
        socket.write(`-${refusal}\r\n`);
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
    // tls.auth_clients = "optional": a client certificate is not required, but one that was
    // sent must verify (Redis's rule); "yes" is enforced by the TLS layer itself.
    handshake(socket, _success, authorizationError) {
      const optional = config.tls.authClients === "optional";
      if (authorizationError && optional && presentedCertificate(socket)) socket.data?.abort();
    },
    close(socket) {
      socket.data?.onClose();
    },
    error(socket, error) {
      log.debug(`socket error: ${error.message}`);
      metrics?.connectionDropped();
      socket.data?.onClose();
    },
  };

  try {
    listener = Bun.listen<Connection>({
      hostname: config.addr.host,
      port: config.addr.port,
      socket: socketHandlers,
    });
    if (config.tls.port !== null) {
      // Redis's tls-port: the same connections and commands, beside the plain port.
      tlsListener = Bun.listen<Connection>({
        hostname: config.addr.host,
        port: config.tls.port,
        tls: tlsOptions(config),
        socket: socketHandlers,
      });
    }
  } catch (error) {
    listener?.stop(true);
    await store.close();
    throw error;
  }
  reaper.start();
  // Expired keys named by the sweep (only while someone listens): `expired` events, tracking.
  context.pubsub?.attachSweeper(sweeper);
  store.lazyExpiry.counted = (n) => {
    stats.expiredKeys += n;
  };
  context.pubsub?.attachLazyExpiry(store.lazyExpiry);
  if (cluster) {
    // PUBLISH reaches every node's subscribers over the bus (SPUBLISH is routed by slot).
    const hub = context.pubsub?.hub;
    if (hub) {
      hub.onLocalPublish = (channel, message) => cluster.publish(channel, message);
      cluster.onRemotePublish = (channel, message) => hub.deliverRemote(channel, message);
    }
    try {
      cluster.start(listener.port);
    } catch (error) {
      listener.stop(true);
      tlsListener?.stop(true);
      await store.close();
      throw error;
    }
  }
  sweeper.start();
  // Cluster mode needs every row's slot (SETSLOT, COUNTKEYSINSLOT); standalone never reads it.
  const slotBackfill = cluster ? new SlotBackfill(store, log) : null;
  slotBackfill?.start();
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
      tlsListener?.stop(false);
      reaper.stop();
      const deadline = Date.now() + limits.shutdownGraceMs;
      // Let replies already owed to clients go out before closing their sockets.
      while (Date.now() < deadline && [...connections.values()].some((c) => !c.idle)) {
        await Bun.sleep(5);
      }
      await cluster?.close();
      sweeper.stop();
      slotBackfill?.stop();
      context.pubsub?.pause.stop();
      rates.stop();
      idleCollector.stop();
      await metricsServer?.stop();
      await store.close();
      for (const conn of connections.values()) conn.close();
      listener?.stop(true);
      tlsListener?.stop(true);
      resolveClosed();
    })();
    return closing;
  }

  return {
    port: listener.port,
    tlsPort: tlsListener?.port ?? null,
    hostname: listener.hostname,
    context,
    store,
    close,
    closed,
    [Symbol.asyncDispose]: close,
  };
}
