/**
 * CLUSTER subcommands that change this node's view: slot assignment (ADDSLOTS[RANGE],
 * DELSLOTS[RANGE], FLUSHSLOTS, SETSLOT), epochs (SET-CONFIG-EPOCH, BUMPEPOCH) and membership
 * (MEET, FORGET, RESET), with Redis's checks and error words. Every change is written to
 * nodes.conf before the reply, and slot changes are announced to the peers at once.
 */
import { isIP } from "node:net";
import type { Cluster } from "../../cluster/cluster.ts";
import { countKeysInSlot, holdsKeys } from "../../cluster/slot-keys.ts";
import { SLOT_COUNT } from "../../cluster/slots.ts";
import { newNodeId } from "../../cluster/topology.ts";
import { errors, RespError, sanitizeLine } from "../../errors.ts";
import { OK, type Reply, simple } from "../../protocol/reply.ts";
import { parseInt64, text, token } from "../args.ts";
import { ks } from "../db.ts";
import type { RowDefaults } from "../rows.ts";
import type { ClusterCtx, CommandSpec } from "../spec.ts";
import { clusterOf, namedNode } from "./cluster-context.ts";

function slotArg(arg: Uint8Array): number {
  const n = parseInt64(arg);
  if (n === null || n < 0n || n >= BigInt(SLOT_COUNT))
    throw new RespError("ERR", "Invalid or out of range slot");
  return Number(n);
}

/** The slots of ADDSLOTS/DELSLOTS (singles) or the *RANGE forms (pairs), checked for repeats. */
function slotList(args: Uint8Array[], ranges: boolean, name: string): number[] {
  const slots: number[] = [];
  if (ranges) {
    if ((args.length - 2) % 2 !== 0) throw errors.wrongArity(`cluster|${name}`);
    for (let i = 2; i < args.length; i += 2) {
      const start = slotArg(args[i]!);
      const end = slotArg(args[i + 1]!);
      if (start > end)
        throw new RespError(
          "ERR",
          `start slot number ${start} is greater than end slot number ${end}`,
        );
      for (let s = start; s <= end; s++) slots.push(s);
    }
  } else for (let i = 2; i < args.length; i++) slots.push(slotArg(args[i]!));
  const seen = new Uint8Array(SLOT_COUNT);
  for (const s of slots) {
    if (seen[s]) throw new RespError("ERR", `Slot ${s} specified multiple times`);
    seen[s] = 1;
  }
  return slots;
}

/** Persist, recompute the state and tell the peers (Redis does this before its next reply). */
function commit(c: Cluster, announce = true): Reply {
  c.refresh();
  c.saveConfig();
  if (announce) c.bus.broadcastPong();
  return OK;
}

function addSlots(ranges: boolean, name: string) {
  return (ctx: ClusterCtx, args: Uint8Array[]): Reply | Promise<Reply> => {
    const c = clusterOf(ctx);
    const topo = c.topology;
    const slots = slotList(args, ranges, name);
    for (const s of slots)
      if (topo.owner[s]) throw new RespError("ERR", `Slot ${s} is already busy`);
    for (const s of slots) {
      topo.importing.delete(s);
      topo.owner[s] = topo.myself;
    }
    topo.dirty = true;
    return commit(c);
  };
}

function delSlots(ranges: boolean, name: string) {
  return (ctx: ClusterCtx, args: Uint8Array[]): Reply | Promise<Reply> => {
    const c = clusterOf(ctx);
    const topo = c.topology;
    const slots = slotList(args, ranges, name);
    for (const s of slots)
      if (!topo.owner[s]) throw new RespError("ERR", `Slot ${s} is already unassigned`);
    for (const s of slots) {
      topo.owner[s] = null;
      topo.importing.delete(s);
      topo.migrating.delete(s);
    }
    topo.dirty = true;
    return commit(c);
  };
}

function flushSlots(ctx: ClusterCtx): Reply | Promise<Reply> {
  const c = clusterOf(ctx);
  if (holdsKeys(ks(ctx)))
    throw new RespError("ERR", "DB must be empty to perform CLUSTER FLUSHSLOTS.");
  const topo = c.topology;
  for (let s = 0; s < SLOT_COUNT; s++) if (topo.owner[s] === topo.myself) topo.owner[s] = null;
  topo.dirty = true;
  return commit(c);
}

function setSlot(ctx: ClusterCtx, args: Uint8Array[]): Reply | Promise<Reply> {
  const c = clusterOf(ctx);
  const topo = c.topology;
  const me = topo.myself;
  const slot = slotArg(args[2]!);
  const action = token(args[3]!);
  const badAction = () =>
    new RespError("ERR", "Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
  if (action === "STABLE") {
    if (args.length !== 4) throw badAction();
    topo.importing.delete(slot);
    topo.migrating.delete(slot);
    topo.dirty = true;
    return commit(c, false);
  }
  if (args.length !== 5 || !["MIGRATING", "IMPORTING", "NODE"].includes(action)) throw badAction();
  if (action === "MIGRATING") {
    if (topo.owner[slot] !== me)
      throw new RespError("ERR", `I'm not the owner of hash slot ${slot}`);
    const node = namedNode(c, args[4]!, "I don't know about node");
    topo.migrating.set(slot, node.id);
    topo.dirty = true;
    return commit(c, false);
  }
  if (action === "IMPORTING") {
    if (topo.owner[slot] === me)
      throw new RespError("ERR", `I'm already the owner of hash slot ${slot}`);
    const node = namedNode(c, args[4]!, "I don't know about node");
    topo.importing.set(slot, node.id);
    topo.dirty = true;
    return commit(c, false);
  }
  const node = namedNode(c, args[4]!);
  if (topo.owner[slot] === me && node !== me && countKeysInSlot(ks(ctx), slot) > 0) {
    throw new RespError(
      "ERR",
      `Can't assign hashslot ${slot} to a different node while I still hold keys for this hash slot.`,
    );
  }
  // Every key is gone: the migration of this slot is over.
  if (topo.migrating.has(slot) && node !== me && countKeysInSlot(ks(ctx), slot) === 0)
    topo.migrating.delete(slot);
  if (node === me && topo.importing.has(slot)) {
    // The import is done: claim the slot with an epoch nobody else has, so it wins.
    topo.importing.delete(slot);
    topo.bumpEpochWithoutConsensus();
  }
  topo.owner[slot] = node;
  topo.dirty = true;
  return commit(c);
}

function setConfigEpoch(ctx: ClusterCtx, args: Uint8Array[]): Reply | Promise<Reply> {
  const c = clusterOf(ctx);
  const topo = c.topology;
  const epoch = parseInt64(args[2]!);
  if (epoch === null) throw errors.notInteger();
  if (epoch < 0n) throw new RespError("ERR", `Invalid config epoch specified: ${epoch}`);
  if (topo.nodes.size > 1)
    throw new RespError(
      "ERR",
      "The user can assign a config epoch only when the node does not know any other node.",
    );
  if (topo.myself.configEpoch !== 0)
    throw new RespError("ERR", "Node config epoch is already non-zero");
  topo.myself.configEpoch = Number(epoch);
  if (topo.currentEpoch < topo.myself.configEpoch) topo.currentEpoch = topo.myself.configEpoch;
  topo.dirty = true;
  return commit(c, false);
}

function bumpEpoch(ctx: ClusterCtx): Reply {
  const c = clusterOf(ctx);
  const bumped = c.topology.bumpEpochWithoutConsensus();
  commit(c);
  return simple(`${bumped ? "BUMPED" : "STILL"} ${c.topology.myself.configEpoch}`);
}

function meet(ctx: ClusterCtx, args: Uint8Array[]): Reply | Promise<Reply> {
  const c = clusterOf(ctx);
  if (args.length > 5) throw errors.syntax();
  const ip = text(args[2]!);
  const portText = text(args[3]!);
  const port = parseInt64(args[3]!);
  if (port === null || port < 0n || port > 65535n)
    throw new RespError("ERR", `Invalid TCP base port specified: ${sanitizeLine(portText)}`);
  let cport = port + 10000n;
  if (args.length === 5) {
    const given = parseInt64(args[4]!);
    if (given === null || given < 0n || given > 65535n)
      throw new RespError("ERR", `Invalid TCP bus port specified: ${sanitizeLine(text(args[4]!))}`);
    cport = given;
  }
  if (isIP(ip) === 0 || cport > 65535n)
    throw new RespError(
      "ERR",
      `Invalid node address specified: ${sanitizeLine(ip)}:${sanitizeLine(portText)}`,
    );
  c.bus.meet(ip, Number(cport));
  return OK;
}

function forget(ctx: ClusterCtx, args: Uint8Array[]): Reply | Promise<Reply> {
  const c = clusterOf(ctx);
  const node = namedNode(c, args[2]!);
  if (node.myself) throw new RespError("ERR", "I tried hard but I can't forget myself...");
  c.bus.forget(node.id);
  return commit(c, false);
}

function reset(ctx: ClusterCtx, args: Uint8Array[]): Reply | Promise<Reply> {
  const c = clusterOf(ctx);
  if (args.length > 3) throw errors.syntax();
  const mode = args.length === 3 ? token(args[2]!) : "SOFT";
  if (mode !== "SOFT" && mode !== "HARD") throw errors.syntax();
  if (holdsKeys(ks(ctx)))
    throw new RespError("ERR", "CLUSTER RESET can't be called on master nodes containing keys");
  c.bus.dropAllLinks();
  c.topology.reset(mode === "HARD", newNodeId());
  return commit(c, false);
}

const admin: RowDefaults = {
  flags: ["admin", "stale", "no_async_loading"],
  group: "cluster",
  since: "3.0.0",
  keys: null,
};

export const clusterAdminCommands: CommandSpec[] = [
  {
    ...admin,
    name: "cluster|addslots",
    arity: -3,
    summary: "Assigns new hash slots to a node.",
    syntax: "slot [slot ...]",
    handler: addSlots(false, "addslots"),
  },
  {
    ...admin,
    name: "cluster|addslotsrange",
    arity: -4,
    summary: "Assigns new hash slot ranges to a node.",
    syntax: "start-slot end-slot [start-slot end-slot ...]",
    handler: addSlots(true, "addslotsrange"),
    since: "7.0.0",
  },
  {
    ...admin,
    name: "cluster|delslots",
    arity: -3,
    summary: "Sets hash slots as unbound for a node.",
    syntax: "slot [slot ...]",
    handler: delSlots(false, "delslots"),
  },
  {
    ...admin,
    name: "cluster|delslotsrange",
    arity: -4,
    summary: "Sets hash slot ranges as unbound for a node.",
    syntax: "start-slot end-slot [start-slot end-slot ...]",
    handler: delSlots(true, "delslotsrange"),
    since: "7.0.0",
  },
  {
    ...admin,
    name: "cluster|flushslots",
    arity: 2,
    summary: "Deletes all slots information from a node.",
    syntax: "",
    handler: flushSlots,
  },
  {
    ...admin,
    name: "cluster|setslot",
    arity: -4,
    summary: "Binds a hash slot to a node.",
    syntax: "slot <IMPORTING node-id | MIGRATING node-id | NODE node-id | STABLE>",
    handler: setSlot,
  },
  {
    ...admin,
    name: "cluster|set-config-epoch",
    arity: 3,
    summary: "Sets the configuration epoch for a new node.",
    syntax: "config-epoch",
    handler: setConfigEpoch,
  },
  {
    ...admin,
    name: "cluster|bumpepoch",
    arity: 2,
    summary: "Advances the cluster config epoch.",
    syntax: "",
    handler: bumpEpoch,
  },
  {
    ...admin,
    name: "cluster|meet",
    arity: -4,
    summary: "Forces a node to handshake with another node.",
    syntax: "ip port [cluster-bus-port]",
    handler: meet,
  },
  {
    ...admin,
    name: "cluster|forget",
    arity: 3,
    summary: "Removes a node from the nodes table.",
    syntax: "node-id",
    handler: forget,
  },
  {
    ...admin,
    name: "cluster|reset",
    arity: -2,
    summary: "Resets a node.",
    syntax: "[HARD | SOFT]",
    handler: reset,
    flags: ["admin", "stale", "noscript"],
  },
  {
    ...admin,
    name: "cluster|saveconfig",
    arity: 2,
    summary: "Forces a node to save the cluster configuration to disk.",
    syntax: "",
    handler: async (ctx) => {
      await clusterOf(ctx).persist();
      return OK;
    },
  },
];
