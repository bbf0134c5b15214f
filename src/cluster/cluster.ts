/**
 * The cluster handle one node's server owns when `[cluster] enabled = true`: the topology
 * (loaded from nodes.conf, or seeded from the config's slots on first start), the bus, the
 * run-time settings CONFIG GET/SET change (cluster-node-timeout,
 * cluster-require-full-coverage), per-client ASKING/READONLY flags, and the routing entry
 * point dispatch calls. Created by startServer() and handed down: no module-level state.
 */

import type { CommandRow } from "../commands/row.ts";
import { RespError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Keyspace } from "../storage/api.ts";
import { ClusterBus } from "./bus.ts";
import { publishMessage, readPublish } from "./bus-publish.ts";
import { loadNodesFile, saveNodesFile, saveNodesFileAsync } from "./nodes-file.ts";
import { route } from "./route.ts";
import { keySlot, SLOT_COUNT } from "./slots.ts";
import { isNodeId, newNodeId, Topology } from "./topology.ts";

export interface ClusterSettings {
  /** A 40-hex id pins this node's id on first start; any other text is just a name. */
  nodeName: string | null;
  /** The client-facing address other nodes and clients are told (MOVED/ASK, CLUSTER NODES). */
  announceIp: string;
  /** The client port to announce; null = the port actually bound. */
  announcePort: number | null;
  busHost: string;
  busPort: number;
  /** host:cport of nodes to meet at startup. */
  seeds: readonly string[];
  /** The slots this node claims on first start (no nodes.conf yet). */
  initialSlots: readonly number[];
  gossipIntervalMs: number;
  nodeTimeoutMs: number;
  requireFullCoverage: boolean;
  secret: string;
  dataDir: string;
}

export interface ClientFlags {
  asking: boolean;
  readonly: boolean;
}

export class Cluster {
  readonly topology: Topology;
  readonly bus: ClusterBus;
  nodeTimeoutMs: number;
  requireFullCoverage: boolean;
  private readonly flags = new WeakMap<object, ClientFlags>();
  /** The last nodes.conf write queued, and the one not started yet (see persist()). */
  private saves: Promise<void> = Promise.resolve();
  private nextSave: Promise<void> | null = null;

  constructor(
    readonly settings: ClusterSettings,
    private readonly keyspace: () => Keyspace,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.nodeTimeoutMs = settings.nodeTimeoutMs;
    this.requireFullCoverage = settings.requireFullCoverage;
    const port = settings.announcePort ?? 0;
    const loaded = loadNodesFile(settings.dataDir);
    if (loaded) {
      this.topology = loaded;
      const me = loaded.myself;
      // Addresses may change across restarts; the id, epochs and slots stay.
      if (settings.announceIp) me.ip = settings.announceIp;
      me.port = port;
      me.cport = settings.busPort;
      log.info(`cluster: loaded nodes.conf, node id ${me.id}, ${loaded.nodes.size} known node(s)`);
    } else {
      const id = settings.nodeName && isNodeId(settings.nodeName) ? settings.nodeName : newNodeId();
      this.topology = new Topology(id, { ip: settings.announceIp, port, cport: settings.busPort });
      for (const s of settings.initialSlots) this.topology.owner[s] = this.topology.myself;
      log.info(`cluster: new node id ${id}${settings.nodeName ? ` (${settings.nodeName})` : ""}`);
    }
    this.bus = new ClusterBus(this.topology, {
      secret: settings.secret,
      host: settings.busHost,
      port: settings.busPort,
      gossipIntervalMs: settings.gossipIntervalMs,
      nodeTimeoutMs: () => this.nodeTimeoutMs,
      log,
      now,
      changed: () => this.changed(),
      published: (msg) => {
        const p = readPublish(msg);
        if (p) this.onRemotePublish?.(p.channel, p.message);
      },
    });
    this.topology.updateState(this.requireFullCoverage);
  }

  /** Delivers a PUBLISH that another node forwarded (the pub/sub hub's deliverRemote). */
  onRemotePublish: ((channel: Uint8Array, message: Uint8Array) => void) | null = null;

  /** A client of this node published: every other node gets it over the bus. */
  publish(channel: Uint8Array, message: Uint8Array): void {
    const msg = publishMessage(this.topology.myself.id, channel, message);
    if (msg) this.bus.broadcast(msg);
    else
      this.log.warn(
        `cluster: a PUBLISH of ${channel.length + message.length} bytes is too large for the bus; only this node's subscribers got it`,
      );
  }

  /** Starts the bus once the client listener is bound (`clientPort` is the port it got). */
  start(clientPort: number): void {
    if (this.settings.announcePort === null) this.topology.myself.port = clientPort;
    this.bus.start();
    // Port 0 in the config (tests): announce the port the bus actually got.
    if (this.settings.busPort === 0) this.topology.myself.cport = this.bus.port;
    this.saveConfig();
    for (const seed of this.settings.seeds) {
      const m = /^(.*):(\d+)$/.exec(seed);
      if (m) this.bus.meet(m[1]!.replace(/^\[|\]$/g, ""), Number(m[2]), true);
    }
  }

  async close(): Promise<void> {
    this.bus.stop();
    await this.saves;
    if (this.topology.dirty) this.saveConfig();
  }

  /** The flags of one client connection (ASKING, READONLY). */
  clientFlags(client: object): ClientFlags {
    let f = this.flags.get(client);
    if (!f) {
      f = { asking: false, readonly: false };
      this.flags.set(client, f);
    }
    return f;
  }

  /**
   * Redis's scriptVerifyClusterState for one command a script runs: its keys must be served
   * here (else an error in Redis's words, never a redirect), and, unless the script allows
   * cross-slot keys, hash to the run's slot: the slot of its declared keys, else of the first
   * key it touched (`run.slot`, -1 until then).
   */
  scriptRoute(
    commandName: string,
    keys: readonly Uint8Array[],
    run: { slot: number; readonly crossSlot: boolean },
  ): RespError | null {
    if (keys.length === 0) return null;
    const refused = route(this.topology, {
      keys,
      asking: false,
      exists: (key) => this.keyspace().entry(key) !== null,
    });
    if (refused !== null) return scriptRouteError(refused, commandName);
    if (run.crossSlot) return null;
    const slot = keySlot(keys[0]!);
    if (run.slot === -1) run.slot = slot;
    else if (run.slot !== slot)
      return new RespError(
        "ERR",
        "Script attempted to access keys that do not hash to the same slot",
      );
    return null;
  }

  /**
   * route() for a command with one key, without allocating in the common case: the slot is
   * ours, stable (not migrating or importing), the cluster is ok and no ASKING is pending.
   * Anything else takes route(), which decides exactly as Redis.
   */
  routeOne(client: object, row: CommandRow, key: Uint8Array, inMulti: boolean): RespError | null {
    const topo = this.topology;
    if (
      topo.state === "ok" &&
      !row.movableKeyFlag &&
      !row.flags.includes("asking") &&
      this.flags.get(client)?.asking !== true
    ) {
      const slot = keySlot(key);
      if (
        topo.owner[slot] === topo.myself &&
        !topo.migrating.has(slot) &&
        !topo.importing.has(slot)
      )
        return null;
    }
    return this.route(client, row, [key], inMulti);
  }

  /**
   * Routing for one command about to run or be queued. `keys` are its keys (EXEC: every
   * queued command's); `row` is its command row; `inMulti` whether the client is inside
   * MULTI. ASKING holds for the next command only (for the whole transaction inside MULTI).
   */
  route(
    client: object,
    row: CommandRow,
    keys: readonly Uint8Array[],
    inMulti: boolean,
  ): RespError | null {
    const f = this.flags.get(client);
    // Rows flagged asking (RESTORE-ASKING) act as if ASKING had been sent, as in Redis.
    const asking = (f?.asking ?? false) || row.flags.includes("asking");
    // ASKING holds for the next command only (not for ASKING itself, nor inside MULTI).
    if (f?.asking && row.name !== "asking" && !inMulti) f.asking = false;
    // MIGRATE (movable keys: its KEYS form names no key at its key position) moves only keys
    // this node holds (NOKEY otherwise): it always runs here, as Redis serves it while a slot
    // moves.
    if (keys.length === 0 || row.movableKeyFlag) return null;
    return route(this.topology, {
      keys,
      asking,
      exists: (key) => this.keyspace().entry(key) !== null,
    });
  }

  /**
   * Persists nodes.conf in the background; resolves once a write that includes every change
   * made so far is on disk (CLUSTER commands reply after that, as Redis saves before replying).
   * Writes are serialized, and changes made while one waits share the next one.
   */
  persist(): Promise<void> {
    if (this.nextSave) return this.nextSave;
    const save = this.saves.then(async () => {
      this.nextSave = null;
      try {
        await saveNodesFileAsync(this.settings.dataDir, this.topology);
      } catch (error) {
        this.log.error(`cluster: cannot write nodes.conf: ${(error as Error).message}`);
      }
    });
    this.nextSave = save;
    this.saves = save;
    return save;
  }

  /** Persists nodes.conf now, blocking (startup, shutdown, CLUSTER SAVECONFIG). */
  saveConfig(): void {
    try {
      saveNodesFile(this.settings.dataDir, this.topology);
    } catch (error) {
      this.log.error(`cluster: cannot write nodes.conf: ${(error as Error).message}`);
    }
  }

  /** After bus activity: recompute cluster_state, persist changes. */
  private changed(): void {
    const before = this.topology.state;
    const after = this.topology.updateState(this.requireFullCoverage);
    if (before !== after) this.log.info(`cluster: state changed to ${after}`);
    if (this.topology.dirty) void this.persist();
  }

  /** Recomputes the state at once (after CONFIG SET or a CLUSTER command). */
  refresh(): void {
    this.changed();
  }

  get slotCount(): number {
    return SLOT_COUNT;
  }
}

/** A routing refusal as Redis words it for a command inside a script. */
function scriptRouteError(refused: RespError, command: string): RespError {
  switch (refused.code) {
    case "CROSSSLOT":
      return new RespError(
        "ERR",
        `Command '${command}' in script attempted to access keys that don't hash to the same slot`,
      );
    case "TRYAGAIN":
      return new RespError(
        "ERR",
        `Unable to execute command '${command}' in script because undeclared keys were accessed during rehashing of the slot`,
      );
    case "CLUSTERDOWN":
      return new RespError(
        "ERR",
        refused.message.includes("not served")
          ? "Script attempted to access a slot not served"
          : "Script attempted to execute a command while the cluster is down",
      );
    default:
      return new RespError("ERR", "Script attempted to access a non local key in a cluster node");
  }
}
