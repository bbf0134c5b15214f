/**
 * What cluster-bus messages carry (see docs/cluster.md, "The bus protocol"): the sender's
 * header (id, address, epochs, claimed slot ranges) with gossip about the other nodes, and
 * the slot-range decoding every receiver applies. Plain data; bus.ts sends and reads them.
 */
import { limits } from "../limits.ts";
import type { BusMessage } from "./bus-link.ts";
import { rangesOf, SLOT_COUNT, type SlotRange } from "./slots.ts";
import type { ClusterNode, Topology } from "./topology.ts";

const GOSSIP_ENTRIES_MAX = limits.clusterGossipEntriesMax;

export interface GossipEntry {
  id: string;
  ip: string;
  port: number;
  cport: number;
  pfail: boolean;
  fail: boolean;
}

/** The header of a message of type `t` from this node. */
export function buildHeader(topo: Topology, t: string): BusMessage {
  const me = topo.myself;
  const gossip: GossipEntry[] = [];
  for (const n of topo.nodes.values()) {
    if (n.myself) continue;
    if (gossip.length >= GOSSIP_ENTRIES_MAX && !n.pfail && !n.fail) continue;
    gossip.push({
      id: n.id,
      ip: n.ip,
      port: n.port,
      cport: n.cport,
      pfail: n.pfail,
      fail: n.fail,
    });
  }
  return {
    t,
    id: me.id,
    ip: me.ip,
    port: me.port,
    cport: me.cport,
    shardId: me.shardId,
    configEpoch: me.configEpoch,
    currentEpoch: topo.currentEpoch,
    slots: rangesOf((s) => topo.owner[s] === me),
    gossip,
  };
}

/** The slots of a message's `slots` ranges, clamped to 0..16383. */
export function toSlotSet(ranges: unknown): Set<number> {
  const out = new Set<number>();
  if (!Array.isArray(ranges)) return out;
  for (const r of ranges as SlotRange[]) {
    if (!Array.isArray(r)) continue;
    const start = Math.max(0, Number(r[0]));
    const end = Math.min(SLOT_COUNT - 1, Number(r[1]));
    for (let s = start; s <= end; s++) out.add(s);
  }
  return out;
}

/** A node first heard of in a MEET (or a MEET's answer): added with the address it announces. */
export function nodeFromHeader(
  topo: Topology,
  msg: BusMessage,
  remote: string,
  now: number,
): ClusterNode | undefined {
  const id = String(msg.id);
  if (!/^[0-9a-f]{40}$/.test(id)) return undefined;
  const ip = typeof msg.ip === "string" && msg.ip !== "" ? msg.ip : remote;
  const node = topo.addNode(
    id,
    { ip, port: Number(msg.port), cport: Number(msg.cport) },
    false,
    String(msg.shardId),
  );
  node.pongReceived = now;
  return node;
}

/**
 * Takes the address a node announces (its socket's address when it announces none); true
 * when it changed (a node restarted on other ports).
 */
export function updateAddress(
  topo: Topology,
  node: ClusterNode,
  msg: BusMessage,
  remote: string,
): boolean {
  const ip = typeof msg.ip === "string" && msg.ip !== "" ? msg.ip : remote;
  const port = Number(msg.port);
  const cport = Number(msg.cport);
  if (!ip || (ip === node.ip && port === node.port && cport === node.cport)) return false;
  node.ip = ip;
  node.port = port;
  node.cport = cport;
  topo.dirty = true;
  return true;
}
