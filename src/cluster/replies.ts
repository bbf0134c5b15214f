/**
 * The cluster's introspection in Redis's exact formats: CLUSTER NODES lines (also the lines of
 * nodes.conf), CLUSTER INFO (CRLF-separated), CLUSTER SLOTS, CLUSTER SHARDS and CLUSTER LINKS.
 * Pure rendering from a Topology and a few counters; no sockets, no files.
 */
import { map, type Reply } from "../protocol/reply.ts";
import { rangeText, SLOT_COUNT, type SlotRange } from "./slots.ts";
import type { ClusterNode, Topology } from "./topology.ts";

export function flagsText(node: ClusterNode): string {
  const flags: string[] = [];
  if (node.myself) flags.push("myself");
  flags.push("master");
  if (node.pfail) flags.push("fail?");
  if (node.fail) flags.push("fail");
  if (!node.ip) flags.push("noaddr");
  return flags.join(",");
}

export function addressText(node: ClusterNode): string {
  return `${node.ip}:${node.port}@${node.cport}`;
}

/** Every owner's ranges in one pass over the slots (rendering all nodes stays O(16384)). */
export function allRanges(topo: Topology): Map<ClusterNode, SlotRange[]> {
  const out = new Map<ClusterNode, SlotRange[]>();
  let start = 0;
  while (start < SLOT_COUNT) {
    const owner = topo.owner[start]!;
    let end = start;
    while (end + 1 < SLOT_COUNT && topo.owner[end + 1] === owner) end++;
    if (owner) {
      const list = out.get(owner);
      if (list) list.push([start, end]);
      else out.set(owner, [[start, end]]);
    }
    start = end + 1;
  }
  return out;
}

/**
 * One CLUSTER NODES line (without the newline). `forFile` renders the nodes.conf variant:
 * the shard id after the address (as Redis 7.2 keeps it) and no live ping/pong times for us.
 */
export function nodeLine(
  topo: Topology,
  node: ClusterNode,
  now: number,
  forFile = false,
  ranges: Map<ClusterNode, SlotRange[]> = allRanges(topo),
): string {
  const address = forFile ? `${addressText(node)},,shard-id=${node.shardId}` : addressText(node);
  const pong = node.myself ? (forFile ? 0 : Math.floor(now / 1000) * 1000) : node.pongReceived;
  const link = node.myself || node.linkUp ? "connected" : "disconnected";
  const parts = [
    node.id,
    address,
    flagsText(node),
    "-",
    String(node.myself ? 0 : node.pingSent),
    String(pong),
    String(node.configEpoch),
    link,
    ...(ranges.get(node) ?? []).map(rangeText),
  ];
  if (node.myself) {
    for (const [slot, to] of [...topo.migrating].sort((a, b) => a[0] - b[0]))
      parts.push(`[${slot}->-${to}]`);
    for (const [slot, from] of [...topo.importing].sort((a, b) => a[0] - b[0]))
      parts.push(`[${slot}-<-${from}]`);
  }
  return parts.join(" ");
}

export function clusterNodes(topo: Topology, now: number): string {
  const ranges = allRanges(topo);
  let out = "";
  for (const node of topo.nodes.values()) out += `${nodeLine(topo, node, now, false, ranges)}\n`;
  return out;
}

export interface MessageStats {
  readonly sent: Map<string, number>;
  readonly received: Map<string, number>;
}

/** CLUSTER INFO, CRLF-separated as Redis renders it. */
export function clusterInfo(topo: Topology, stats: MessageStats): string {
  const slots = topo.slotStats();
  const lines = [
    `cluster_state:${topo.state}`,
    `cluster_slots_assigned:${slots.assigned}`,
    `cluster_slots_ok:${slots.ok}`,
    `cluster_slots_pfail:${slots.pfail}`,
    `cluster_slots_fail:${slots.fail}`,
    `cluster_known_nodes:${topo.nodes.size}`,
    `cluster_size:${topo.size()}`,
    `cluster_current_epoch:${topo.currentEpoch}`,
    `cluster_my_epoch:${topo.myself.configEpoch}`,
  ];
  let sent = 0;
  for (const [type, n] of stats.sent) {
    lines.push(`cluster_stats_messages_${type}_sent:${n}`);
    sent += n;
  }
  lines.push(`cluster_stats_messages_sent:${sent}`);
  let received = 0;
  for (const [type, n] of stats.received) {
    lines.push(`cluster_stats_messages_${type}_received:${n}`);
    received += n;
  }
  lines.push(`cluster_stats_messages_received:${received}`);
  lines.push("total_cluster_links_buffer_limit_exceeded:0");
  return `${lines.join("\r\n")}\r\n`;
}

/** CLUSTER SLOTS: one entry per contiguous range of one owner, ascending. */
export function clusterSlots(topo: Topology): Reply {
  const out: Reply[] = [];
  let start = 0;
  while (start < SLOT_COUNT) {
    const owner = topo.owner[start];
    let end = start;
    while (end + 1 < SLOT_COUNT && topo.owner[end + 1] === owner) end++;
    if (owner) out.push([start, end, [owner.ip, owner.port, owner.id, map([])]]);
    start = end + 1;
  }
  return out;
}

/** CLUSTER SHARDS: every master is a shard of its own (there are no replicas yet). */
export function clusterShards(topo: Topology): Reply {
  const out: Reply[] = [];
  const ranges = allRanges(topo);
  for (const node of topo.nodes.values()) {
    const slots: number[] = [];
    for (const [s, e] of ranges.get(node) ?? []) slots.push(s, e);
    const health = node.fail || node.pfail ? "failed" : "online";
    out.push(
      map([
        ["slots", slots],
        [
          "nodes",
          [
            map([
              ["id", node.id],
              ["port", node.port],
              ["ip", node.ip],
              ["endpoint", node.ip],
              ["role", "master"],
              ["replication-offset", 0],
              ["health", health],
            ]),
          ],
        ],
      ]),
    );
  }
  return out;
}

export interface LinkInfo {
  direction: "to" | "from";
  node: string;
  createTime: number;
  sendBufferUsed: number;
}

export function clusterLinks(links: readonly LinkInfo[]): Reply {
  return links.map((l) =>
    map([
      ["direction", l.direction],
      ["node", l.node],
      ["create-time", l.createTime],
      ["events", l.direction === "to" ? "rw" : "r"],
      ["send-buffer-allocated", l.sendBufferUsed],
      ["send-buffer-used", l.sendBufferUsed],
    ]),
  );
}
