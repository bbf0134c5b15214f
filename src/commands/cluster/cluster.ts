/**
 * CLUSTER introspection (INFO, NODES, SLOTS, SHARDS, MYID, MYSHARDID, KEYSLOT,
 * COUNTKEYSINSLOT, GETKEYSINSLOT, COUNT-FAILURE-REPORTS, LINKS, HELP) and the connection
 * flags READONLY, READWRITE and ASKING, in Redis's formats and words. The membership and
 * slot-changing subcommands are rows of cluster-admin.ts. Every row answers "This instance has
 * cluster support disabled" when the server runs without `[cluster] enabled = true`.
 */
import type { Cluster } from "../../cluster/cluster.ts";
import {
  clusterInfo,
  clusterLinks,
  clusterNodes,
  clusterShards,
  clusterSlots,
} from "../../cluster/replies.ts";
import { countKeysInSlot, getKeysInSlot } from "../../cluster/slot-keys.ts";
import { keySlot, SLOT_COUNT } from "../../cluster/slots.ts";
import { errors, RespError } from "../../errors.ts";
import { OK, type Reply, verbatim } from "../../protocol/reply.ts";
import { parseInt64 } from "../args.ts";
import { ks } from "../db.ts";
import { migrateDumpCommands } from "../keys/migrate-dump.ts";
import { helpRow, type RowDefaults } from "../rows.ts";
import type { ClusterCtx, CommandSpec } from "../spec.ts";
import { clusterAdminCommands } from "./cluster-admin.ts";
import { clusterOf, namedNode } from "./cluster-context.ts";

function int64(arg: Uint8Array): bigint {
  const n = parseInt64(arg);
  if (n === null) throw errors.notInteger();
  return n;
}

function countKeys(ctx: ClusterCtx, args: Uint8Array[]): Reply {
  clusterOf(ctx);
  const slot = int64(args[2]!);
  if (slot < 0n || slot >= BigInt(SLOT_COUNT)) throw new RespError("ERR", "Invalid slot");
  return countKeysInSlot(ks(ctx), Number(slot));
}

function getKeys(ctx: ClusterCtx, args: Uint8Array[]): Reply {
  clusterOf(ctx);
  const slot = int64(args[2]!);
  const count = int64(args[3]!);
  if (count < 0n || slot < 0n || slot >= BigInt(SLOT_COUNT))
    throw new RespError("ERR", "Invalid slot or number of keys");
  const max = count > 1_000_000n ? 1_000_000 : Number(count);
  return getKeysInSlot(ks(ctx), Number(slot), max);
}

function failureReports(ctx: ClusterCtx, args: Uint8Array[]): Reply {
  const cluster = clusterOf(ctx);
  const node = namedNode(cluster, args[2]!);
  return cluster.topology.validReports(node, Date.now(), cluster.nodeTimeoutMs);
}

const HELP = [
  "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "ADDSLOTS <slot> [<slot> ...]",
  "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
  "BUMPEPOCH",
  "COUNT-FAILURE-REPORTS <node-id>",
  "COUNTKEYSINSLOT <slot>",
  "DELSLOTS <slot> [<slot> ...]",
  "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
  "FLUSHSLOTS",
  "FORGET <node-id>",
  "GETKEYSINSLOT <slot> <count>",
  "INFO",
  "KEYSLOT <key>",
  "LINKS",
  "MEET <ip> <port> [<bus-port>]",
  "MYID",
  "MYSHARDID",
  "NODES",
  "RESET [HARD|SOFT]",
  "SET-CONFIG-EPOCH <epoch>",
  "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
  "SHARDS",
  "SLOTS",
  "HELP",
];

const sub: RowDefaults = {
  flags: ["stale"],
  group: "cluster",
  since: "3.0.0",
  keys: null,
};

const introspection: CommandSpec[] = [
  {
    ...sub,
    name: "cluster|info",
    arity: 2,
    summary: "Returns information about the state of a node.",
    syntax: "",
    handler: (ctx) => {
      const c = clusterOf(ctx);
      return verbatim(clusterInfo(c.topology, c.bus.stats));
    },
  },
  {
    ...sub,
    name: "cluster|nodes",
    arity: 2,
    summary: "Returns the cluster configuration for a node.",
    syntax: "",
    handler: (ctx) => verbatim(clusterNodes(clusterOf(ctx).topology, Date.now())),
  },
  {
    ...sub,
    name: "cluster|slots",
    arity: 2,
    summary: "Returns the mapping of cluster slots to nodes.",
    syntax: "",
    handler: (ctx) => clusterSlots(clusterOf(ctx).topology),
  },
  {
    ...sub,
    name: "cluster|shards",
    arity: 2,
    summary: "Returns the mapping of cluster slots to shards.",
    syntax: "",
    handler: (ctx) => clusterShards(clusterOf(ctx).topology),
  },
  {
    ...sub,
    name: "cluster|myid",
    arity: 2,
    summary: "Returns the ID of a node.",
    syntax: "",
    handler: (ctx) => clusterOf(ctx).topology.myself.id,
  },
  {
    ...sub,
    name: "cluster|myshardid",
    arity: 2,
    summary: "Returns the shard ID of a node.",
    syntax: "",
    handler: (ctx) => clusterOf(ctx).topology.myself.shardId,
  },
  {
    ...sub,
    name: "cluster|keyslot",
    arity: 3,
    summary: "Returns the hash slot for a key.",
    syntax: "key",
    handler: (ctx, args) => {
      clusterOf(ctx);
      return keySlot(args[2]!);
    },
  },
  {
    ...sub,
    name: "cluster|countkeysinslot",
    arity: 3,
    summary: "Returns the number of keys in a hash slot.",
    syntax: "slot",
    handler: countKeys,
  },
  {
    ...sub,
    name: "cluster|getkeysinslot",
    arity: 4,
    summary: "Returns the key names in a hash slot.",
    syntax: "slot count",
    handler: getKeys,
  },
  {
    ...sub,
    name: "cluster|count-failure-reports",
    arity: 3,
    summary: "Returns the number of active failure reports active for a node.",
    syntax: "node-id",
    handler: failureReports,
    flags: ["admin", "stale"],
  },
  {
    ...sub,
    name: "cluster|links",
    arity: 2,
    summary: "Returns a list of all TCP links to and from peer nodes.",
    syntax: "",
    handler: (ctx) => clusterLinks(clusterOf(ctx).bus.links()),
  },
  helpRow({
    ...sub,
    name: "cluster|help",
    arity: 2,
    summary: "Returns helpful text about the different subcommands.",
    syntax: "",
    handler: (ctx) => {
      clusterOf(ctx);
      return HELP.map((line) => ({ kind: "simple", text: line }) as const);
    },
  }),
];

function connectionFlag(
  name: string,
  summary: string,
  since: string,
  set: (c: Cluster, ctx: ClusterCtx) => void,
  flags: CommandSpec["flags"] = ["fast", "loading", "stale"],
): CommandSpec {
  return {
    name,
    arity: 1,
    flags,
    keys: null,
    group: "cluster",
    since,
    summary,
    syntax: "",
    handler: (ctx) => {
      set(clusterOf(ctx), ctx);
      return OK;
    },
  };
}

export const clusterCommands: CommandSpec[] = [
  {
    name: "cluster",
    arity: -2,
    flags: [],
    keys: null,
    group: "cluster",
    since: "3.0.0",
    summary: "A container for Redis Cluster commands.",
    syntax: "<subcommand> [arguments]",
    subcommands: [...introspection, ...clusterAdminCommands],
  },
  connectionFlag(
    "readonly",
    "Enables read-only queries for a connection to a Redis Cluster replica node.",
    "3.0.0",
    (c, ctx) => {
      c.clientFlags(ctx.client).readonly = true;
    },
  ),
  connectionFlag(
    "readwrite",
    "Enables read-write queries for a connection to a Redis Cluster replica node.",
    "3.0.0",
    (c, ctx) => {
      c.clientFlags(ctx.client).readonly = false;
    },
  ),
  connectionFlag(
    "asking",
    "Signals that a cluster client is following an -ASK redirect.",
    "3.0.0",
    (c, ctx) => {
      c.clientFlags(ctx.client).asking = true;
    },
    // Fast only, in Redis's table: ASKING is refused while loading.
    ["fast"],
  ),
  // DUMP/RESTORE/MIGRATE are generic commands, registered with the cluster rows they serve.
  ...migrateDumpCommands,
];
