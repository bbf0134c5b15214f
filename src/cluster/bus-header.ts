/**
 * What one received bus header changes in this node's belief (Redis's clusterProcessPacket
 * for PING/PONG/MEET): the sender's epochs and slot claim, an UPDATE back to a sender that
 * still claims slots a newer epoch took, and its gossip: failure reports about nodes we know
 * (which may make one FAIL) and MEETs to nodes we do not. bus.ts sends what this decides.
 */
import { limits } from "../limits.ts";
import type { Logger } from "../log.ts";
import type { BusMessage } from "./bus-link.ts";
import { type GossipEntry, toSlotSet } from "./bus-messages.ts";
import type { ClusterNode, Topology } from "./topology.ts";

const GOSSIP_READ_MAX = limits.clusterGossipReadMax;

export interface HeaderActions {
  log: Logger;
  nodeTimeoutMs: number;
  /** Tell the sender that `stale` owns slots it still claims (an UPDATE message). */
  sendUpdate(stale: ClusterNode): void;
  /** `node` just reached FAIL by our count: tell everyone. */
  announceFail(node: ClusterNode): void;
  /** Gossip named a node we do not know: meet it (unless a MEET is already pending). */
  meet(ip: string, cport: number): void;
}

export function applyHeader(
  topo: Topology,
  sender: ClusterNode,
  msg: BusMessage,
  now: number,
  isReply: boolean,
  act: HeaderActions,
): void {
  topo.observeEpochs(sender, Number(msg.currentEpoch) || 0, Number(msg.configEpoch) || 0);
  const claimed = toSlotSet(msg.slots);
  // Owners with a newer epoch than the sender for slots it still claims: tell it (UPDATE).
  let stale: ClusterNode | null = null;
  for (const s of claimed) {
    const owner = topo.owner[s];
    if (owner && owner !== sender && owner.configEpoch > sender.configEpoch) stale = owner;
  }
  const lost = topo.applyClaim(sender, claimed);
  if (lost.length > 0) act.log.info(`cluster: ${lost.length} slot(s) now served by ${sender.id}`);
  topo.handleEpochCollision(sender);
  if (stale && !isReply) act.sendUpdate(stale);
  applyGossip(topo, sender, msg.gossip, now, act);
}

function applyGossip(
  topo: Topology,
  sender: ClusterNode,
  gossip: unknown,
  now: number,
  act: HeaderActions,
): void {
  if (!Array.isArray(gossip)) return;
  for (const raw of gossip.slice(0, GOSSIP_READ_MAX) as GossipEntry[]) {
    if (typeof raw?.id !== "string") continue;
    const node = topo.nodes.get(raw.id);
    if (node) {
      if (node.myself) continue;
      topo.failureReport(node, sender, raw.pfail === true || raw.fail === true, now);
      if (topo.markFailingIfNeeded(node, now, act.nodeTimeoutMs)) act.announceFail(node);
    } else if (!topo.forgotten.has(raw.id) && typeof raw.ip === "string" && raw.ip !== "") {
      act.meet(raw.ip, Number(raw.cport));
    }
  }
}
