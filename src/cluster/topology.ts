/**
 * What this node believes about the cluster: the known nodes (40-hex ids, addresses, config
 * epochs, PFAIL/FAIL flags, failure reports), which node owns each of the 16384 slots, the
 * slots being migrated or imported, and the cluster's current epoch. Redis's rules for
 * changing that belief live here as plain methods (claims settled by config epoch, epoch
 * collisions, failure reports and the FAIL quorum, coverage and cluster_state), so they run
 * the same whether a bus message, a CLUSTER command or a unit test drives them. No sockets,
 * no files (nodes-file.ts persists it, bus.ts feeds it), no clock of its own.
 */
import { randomBytes } from "node:crypto";
import { SLOT_COUNT } from "./slots.ts";

export interface ClusterNode {
  /** 40 lower-case hex characters, as Redis's node names. */
  id: string;
  ip: string;
  /** Client (Redis protocol) port. */
  port: number;
  /** Cluster bus port (Redis's cport). */
  cport: number;
  readonly myself: boolean;
  configEpoch: number;
  /** Our ping that has no pong yet, ms since the epoch; 0 = none outstanding. */
  pingSent: number;
  /** The last pong (or any message) received from it; ms since the epoch. */
  pongReceived: number;
  pfail: boolean;
  fail: boolean;
  /** When we flagged it FAIL (ms), for clearing it again. */
  failTime: number;
  shardId: string;
  /** Nodes that told us this one is PFAIL/FAIL: reporter id -> when (ms). */
  readonly failReports: Map<string, number>;
  /** Our outbound bus link to it is established (CLUSTER NODES link-state). */
  linkUp: boolean;
}

export function newNodeId(): string {
  return randomBytes(20).toString("hex");
}

export function isNodeId(text: string): boolean {
  return /^[0-9a-f]{40}$/.test(text);
}

export interface NodeAddress {
  ip: string;
  port: number;
  cport: number;
}

export class Topology {
  readonly nodes = new Map<string, ClusterNode>();
  /** Owner of each slot, or null when unassigned. */
  readonly owner: (ClusterNode | null)[] = new Array(SLOT_COUNT).fill(null);
  /** Slot -> id of the node we are migrating it to (we own it). */
  readonly migrating = new Map<number, string>();
  /** Slot -> id of the node we are importing it from. */
  readonly importing = new Map<number, string>();
  /** Ids removed by CLUSTER FORGET, ignored in gossip until the time given (ms). */
  readonly forgotten = new Map<string, number>();
  currentEpoch = 0;
  lastVoteEpoch = 0;
  myself: ClusterNode;
  /** Set by every change worth persisting; nodes-file.ts clears it when it writes. */
  dirty = false;
  /** nodes.conf writes: the newest text rendered and the newest renamed into place (nodes-file.ts). */
  readonly saves = { rendered: 0, saved: 0 };
  /** cluster_state, recomputed by updateState(). */
  state: "ok" | "fail" = "fail";

  constructor(id: string, address: NodeAddress, shardId = newNodeId()) {
    this.myself = this.addNode(id, address, true, shardId);
  }

  addNode(id: string, a: NodeAddress, myself = false, shardId = newNodeId()): ClusterNode {
    const node: ClusterNode = {
      id,
      ip: a.ip,
      port: a.port,
      cport: a.cport,
      myself,
      configEpoch: 0,
      pingSent: 0,
      pongReceived: 0,
      pfail: false,
      fail: false,
      failTime: 0,
      shardId,
      failReports: new Map(),
      linkUp: false,
    };
    this.nodes.set(id, node);
    this.dirty = true;
    return node;
  }

  /** Removes a node and every trace of it (slots it owned become unassigned). */
  removeNode(id: string): void {
    const node = this.nodes.get(id);
    if (!node || node.myself) return;
    for (let s = 0; s < SLOT_COUNT; s++) if (this.owner[s] === node) this.owner[s] = null;
    for (const [slot, target] of this.migrating) if (target === id) this.migrating.delete(slot);
    for (const [slot, source] of this.importing) if (source === id) this.importing.delete(slot);
    for (const other of this.nodes.values()) other.failReports.delete(id);
    this.nodes.delete(id);
    this.dirty = true;
  }

  slotsOf(node: ClusterNode): number {
    let n = 0;
    for (let s = 0; s < SLOT_COUNT; s++) if (this.owner[s] === node) n++;
    return n;
  }

  /** Masters serving at least one slot: Redis's cluster_size, the base of the FAIL quorum. */
  size(): number {
    const serving = new Set<ClusterNode>();
    for (const n of this.owner) if (n) serving.add(n);
    return serving.size;
  }

  quorum(): number {
    return Math.floor(this.size() / 2) + 1;
  }

  maxEpoch(): number {
    let max = this.currentEpoch;
    for (const n of this.nodes.values()) max = Math.max(max, n.configEpoch);
    return max;
  }

  /** CLUSTER BUMPEPOCH and SETSLOT NODE on the importing side: a fresh epoch unless ours is already the highest. */
  bumpEpochWithoutConsensus(): boolean {
    const max = this.maxEpoch();
    if (this.myself.configEpoch === 0 || this.myself.configEpoch !== max) {
      this.currentEpoch = max + 1;
      this.myself.configEpoch = this.currentEpoch;
      this.dirty = true;
      return true;
    }
    return false;
  }

  /**
   * Two masters with the same config epoch: the one with the smaller id takes a new epoch,
   * so every claim is eventually ordered (Redis's clusterHandleConfigEpochCollision).
   */
  handleEpochCollision(sender: ClusterNode): void {
    if (sender.configEpoch !== this.myself.configEpoch) return;
    if (sender.id <= this.myself.id) return;
    this.currentEpoch++;
    this.myself.configEpoch = this.currentEpoch;
    this.dirty = true;
  }

  /** Takes a peer's epochs into account (any message carries both). */
  observeEpochs(sender: ClusterNode, currentEpoch: number, configEpoch: number): void {
    if (currentEpoch > this.currentEpoch) {
      this.currentEpoch = currentEpoch;
      this.dirty = true;
    }
    if (configEpoch > sender.configEpoch) {
      sender.configEpoch = configEpoch;
      this.dirty = true;
    }
    if (configEpoch > this.currentEpoch) this.currentEpoch = configEpoch;
  }

  /**
   * A peer claims `slots` at config epoch `sender.configEpoch`. A slot moves to it when it was
   * unassigned or its owner's epoch is lower; a slot we are importing is left alone (the
   * importing side learns the move by SETSLOT NODE). Redis's clusterUpdateSlotsConfigWith.
   * Returns the slots we lost.
   */
  applyClaim(
    sender: ClusterNode,
    claimed: ReadonlySet<number> | ((slot: number) => boolean),
  ): number[] {
    const has = typeof claimed === "function" ? claimed : (s: number) => claimed.has(s);
    const lost: number[] = [];
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (!has(s)) continue;
      const current = this.owner[s]!;
      if (current === sender) continue;
      if (this.importing.has(s)) continue;
      if (current === null || current.configEpoch < sender.configEpoch) {
        if (current === this.myself) lost.push(s);
        this.owner[s] = sender;
        this.migrating.delete(s);
        this.dirty = true;
      }
    }
    return lost;
  }

  /** A report from `reporter` that `node` is PFAIL or FAIL (true) or reachable (false). */
  failureReport(node: ClusterNode, reporter: ClusterNode, failing: boolean, now: number): void {
    if (node.myself || reporter === node) return;
    if (failing) node.failReports.set(reporter.id, now);
    else node.failReports.delete(reporter.id);
  }

  /** Drops reports older than twice the node timeout, as Redis does. */
  validReports(node: ClusterNode, now: number, nodeTimeoutMs: number): number {
    for (const [id, at] of node.failReports) {
      if (now - at > nodeTimeoutMs * 2 || !this.nodes.has(id)) node.failReports.delete(id);
    }
    return node.failReports.size;
  }

  /**
   * PFAIL becomes FAIL once a majority of the slot-serving masters agree (our own view counts
   * as one vote). True when the flag was just raised: the caller broadcasts FAIL.
   */
  markFailingIfNeeded(node: ClusterNode, now: number, nodeTimeoutMs: number): boolean {
    if (!node.pfail || node.fail || node.myself) return false;
    const votes = this.validReports(node, now, nodeTimeoutMs) + 1;
    if (votes < this.quorum()) return false;
    this.markFail(node, now);
    return true;
  }

  markFail(node: ClusterNode, now: number): void {
    if (node.myself || node.fail) return;
    node.fail = true;
    node.pfail = false;
    node.failTime = now;
    this.dirty = true;
  }

  /**
   * A FAIL node that talks again: one without slots is cleared at once; one serving slots
   * after twice the node timeout (nobody can take its slots over: there are no replicas).
   */
  clearFailureIfNeeded(node: ClusterNode, now: number, nodeTimeoutMs: number): void {
    if (!node.fail) return;
    if (this.slotsOf(node) === 0 || now - node.failTime > nodeTimeoutMs * 2) {
      node.fail = false;
      node.failReports.clear();
      this.dirty = true;
    }
  }

  /**
   * cluster_state: fail when a slot has no live owner and full coverage is required, or when
   * this node cannot reach a majority of the slot-serving masters (it is in a minority
   * partition); ok otherwise.
   */
  updateState(requireFullCoverage: boolean): "ok" | "fail" {
    let state: "ok" | "fail" = "ok";
    if (requireFullCoverage) {
      for (const n of this.owner) {
        if (n === null || n.fail) {
          state = "fail";
          break;
        }
      }
    }
    const serving = new Set<ClusterNode>();
    for (const n of this.owner) if (n) serving.add(n);
    let reachable = 0;
    for (const n of serving) if (!n.fail && !n.pfail) reachable++;
    if (reachable < Math.floor(serving.size / 2) + 1) state = "fail";
    this.state = state;
    return state;
  }

  /** Slots assigned / served by a non-failing owner / PFAIL owner / FAIL owner (CLUSTER INFO). */
  slotStats(): { assigned: number; ok: number; pfail: number; fail: number } {
    const out = { assigned: 0, ok: 0, pfail: 0, fail: 0 };
    for (const n of this.owner) {
      if (!n) continue;
      out.assigned++;
      if (n.fail) out.fail++;
      else if (n.pfail) out.pfail++;
      else out.ok++;
    }
    return out;
  }

  /** CLUSTER RESET: forget every other node and every slot; HARD also takes a new id and epochs 0. */
  reset(hard: boolean, newId: string): void {
    for (const id of [...this.nodes.keys()]) if (id !== this.myself.id) this.removeNode(id);
    this.owner.fill(null);
    this.migrating.clear();
    this.importing.clear();
    this.forgotten.clear();
    if (hard) {
      this.nodes.delete(this.myself.id);
      this.myself.id = newId;
      this.nodes.set(newId, this.myself);
      this.currentEpoch = 0;
      this.lastVoteEpoch = 0;
      this.myself.configEpoch = 0;
    }
    this.dirty = true;
  }
}
