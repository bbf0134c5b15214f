/**
 * The cluster bus: TCP on `[cluster] port` (Redis's cport), every link authenticated with the
 * shared secret (bus-link.ts). It follows Redis's model: each node keeps one outbound link per
 * known peer and sends PING (or MEET to a node it is introducing itself to) on it; the peer
 * answers PONG on the same link. Every message carries the sender's id, address, config epoch,
 * current epoch and slot claim, plus gossip about other nodes (their PFAIL/FAIL flags).
 * From that the cron derives PFAIL (no pong within the node timeout), FAIL (a majority of
 * slot owners agree; broadcast to everyone) and clears them when a node talks again. Decisions
 * about the belief itself are Topology methods; this file moves messages and keeps time.
 */
import type { TCPSocketListener } from "bun";
import { limits } from "../limits.ts";
import type { Logger } from "../log.ts";
import { applyHeader } from "./bus-header.ts";
import {
  BusLink,
  type BusMessage,
  connectLink,
  type BusLink as Link,
  type LinkEvents,
} from "./bus-link.ts";
import { buildHeader, nodeFromHeader, toSlotSet, updateAddress } from "./bus-messages.ts";
import type { LinkInfo, MessageStats } from "./replies.ts";
import { rangesOf } from "./slots.ts";
import type { ClusterNode, Topology } from "./topology.ts";

export interface BusOptions {
  secret: string;
  host: string;
  port: number;
  gossipIntervalMs: number;
  nodeTimeoutMs(): number;
  log: Logger;
  now(): number;
  /** Called after every cron tick and every message that changed the topology. */
  changed(): void;
  /** A PUBLISH another node forwarded (bus-publish.ts). */
  published?(msg: BusMessage): void;
}

/** A MEET to an address whose node id we learn from its PONG. */
interface PendingMeet {
  host: string;
  cport: number;
  link: Link | null;
  /** Give up at this time (ms); seeds from the config retry forever (Infinity). */
  deadline: number;
  nextAttempt: number;
}

const FORGET_MS = limits.clusterForgetMs;

export class ClusterBus implements LinkEvents {
  readonly stats: MessageStats = { sent: new Map(), received: new Map() };
  private listener: TCPSocketListener<Link> | null = null;
  /** Outbound link per known node id. */
  private readonly outbound = new Map<string, Link>();
  private readonly inbound = new Set<Link>();
  private readonly meets: PendingMeet[] = [];
  private readonly lastPing = new Map<string, number>();
  private readonly nextConnect = new Map<string, number>();
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Links refused because the peer did not prove the secret (tests and INFO read it). */
  refusedLinks = 0;

  constructor(
    private readonly topo: Topology,
    private readonly o: BusOptions,
  ) {}

  get port(): number {
    return this.listener?.port ?? this.o.port;
  }

  start(): void {
    this.listener = Bun.listen<Link>({
      hostname: this.o.host,
      port: this.o.port,
      socket: {
        open: (socket) => {
          const link = new BusLink("from", this.o.secret, this);
          socket.data = link;
          this.inbound.add(link);
          link.attach(socket);
        },
        data: (socket, chunk) => socket.data?.onData(chunk),
        drain: (socket) => socket.data?.onDrain(),
        close: (socket) => socket.data?.close("peer closed"),
        error: (socket) => socket.data?.close("socket error"),
      },
    });
    const tick = Math.max(10, Math.min(100, Math.floor(this.o.nodeTimeoutMs() / 10)));
    this.timer = setInterval(() => this.cron(), tick);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const link of [...this.outbound.values(), ...this.inbound]) link.close("shutdown");
    for (const m of this.meets) m.link?.close("shutdown");
    this.meets.length = 0;
    this.listener?.stop(true);
    this.listener = null;
  }

  /** CLUSTER MEET / a seed: introduce ourselves to the node at host:cport. */
  meet(host: string, cport: number, forever = false): void {
    const now = this.o.now();
    const timeout = Math.max(this.o.nodeTimeoutMs(), 1000);
    this.meets.push({
      host,
      cport,
      link: null,
      deadline: forever ? Infinity : now + timeout,
      nextAttempt: now,
    });
    this.cron();
  }

  /** CLUSTER FORGET: drop the node and ignore gossip about it for a minute. */
  forget(id: string): void {
    this.outbound.get(id)?.close("forgotten");
    this.outbound.delete(id);
    this.topo.removeNode(id);
    this.topo.forgotten.set(id, this.o.now() + FORGET_MS);
  }

  /** CLUSTER RESET: every link goes. */
  dropAllLinks(): void {
    for (const link of this.outbound.values()) link.close("reset");
    this.outbound.clear();
    for (const m of this.meets) m.link?.close("reset");
    this.meets.length = 0;
  }

  /** CLUSTER LINKS: established links, ours to each peer and theirs to us. */
  links(): LinkInfo[] {
    const info = (direction: "to" | "from", l: Link): LinkInfo => ({
      direction,
      node: l.nodeId ?? "",
      createTime: l.createdAt,
      sendBufferUsed: l.pendingBytes,
    });
    const to = [...this.outbound.values()].filter((l) => l.ready).map((l) => info("to", l));
    const from = [...this.inbound].filter((l) => l.ready && l.nodeId).map((l) => info("from", l));
    return [...to, ...from];
  }

  /** Sends a PONG with our claim to everyone (after a slot change, so it spreads at once). */
  broadcastPong(): void {
    this.broadcast(this.header("pong"));
  }

  /** Sends `msg` to every node with a ready link (a PONG, a FAIL, a PUBLISH). */
  broadcast(msg: BusMessage): void {
    for (const link of this.outbound.values()) if (link.ready) this.send(link, msg);
  }

  ready(link: Link): void {
    if (link.direction !== "to") return;
    const meet = this.meets.find((m) => m.link === link);
    this.send(link, this.header(meet ? "meet" : "ping"));
    if (link.nodeId) {
      const node = this.topo.nodes.get(link.nodeId);
      if (node) {
        node.linkUp = true;
        if (node.pingSent === 0) node.pingSent = this.o.now();
        this.lastPing.set(node.id, this.o.now());
      }
    }
  }

  closed(link: Link, reason: string): void {
    if (link.refusedSecret) {
      this.refusedLinks++;
      this.o.log.warn(
        `cluster bus: link ${link.direction} ${link.remoteAddress || "?"} refused: ${reason}`,
      );
    }
    this.inbound.delete(link);
    if (link.nodeId && this.outbound.get(link.nodeId) === link) {
      this.outbound.delete(link.nodeId);
      const node = this.topo.nodes.get(link.nodeId);
      if (node) node.linkUp = false;
    }
    for (const m of this.meets) if (m.link === link) m.link = null;
  }

  message(link: Link, msg: BusMessage): void {
    this.count(this.stats.received, msg.t);
    const now = this.o.now();
    if (link.direction === "from") {
      this.onInbound(link, msg, now);
      return;
    }
    if (msg.t !== "pong") return;
    let node = link.nodeId ? this.topo.nodes.get(link.nodeId) : undefined;
    const meetIndex = this.meets.findIndex((m) => m.link === link);
    const senderId = String(msg.id);
    if (meetIndex >= 0) {
      // A MEET answered: now we know who lives at that address.
      this.meets.splice(meetIndex, 1);
      if (senderId === this.topo.myself.id || this.topo.forgotten.has(senderId)) {
        link.close("met myself");
        return;
      }
      node = this.topo.nodes.get(senderId) ?? this.addFromHeader(msg, link.remoteAddress);
      if (!node) {
        link.close("bad header");
        return;
      }
      link.nodeId = node.id;
      if (this.outbound.has(node.id)) link.close("duplicate link");
      else {
        this.outbound.set(node.id, link);
        node.linkUp = true;
      }
    }
    if (!node || node.id !== senderId) return;
    node.pongReceived = now;
    node.pingSent = 0;
    if (node.pfail) {
      node.pfail = false;
      this.topo.dirty = true;
    }
    this.topo.clearFailureIfNeeded(node, now, this.o.nodeTimeoutMs());
    updateAddress(this.topo, node, msg, link.remoteAddress);
    this.processHeader(node, msg, now, link);
    this.o.changed();
  }

  private onInbound(link: Link, msg: BusMessage, now: number): void {
    const topo = this.topo;
    const senderId = String(msg.id);
    if (senderId === topo.myself.id) {
      link.close("talking to myself");
      return;
    }
    link.nodeId = senderId;
    if (!topo.myself.ip && link.localAddress) {
      topo.myself.ip = link.localAddress;
      topo.dirty = true;
    }
    let sender = topo.nodes.get(senderId);
    if (msg.t === "meet" && !sender) {
      if (topo.forgotten.has(senderId)) topo.forgotten.delete(senderId);
      sender = this.addFromHeader(msg, link.remoteAddress);
    }
    if (msg.t === "ping" || msg.t === "meet") {
      this.send(link, this.header("pong"));
    }
    if (!sender) return;
    // Any message proves the sender is alive; only our own pings time its PFAIL, though.
    if (msg.t === "publish") {
      this.o.published?.(msg);
      return;
    }
    if (msg.t === "fail") {
      const failing = topo.nodes.get(String(msg.node));
      if (failing && !failing.myself && !failing.fail) {
        topo.markFail(failing, now);
        this.o.log.info(`cluster: node ${failing.id} marked FAIL (reported by ${senderId})`);
      }
    } else if (msg.t === "update") {
      const target = topo.nodes.get(String(msg.node));
      const epoch = Number(msg.configEpoch);
      if (target && !target.myself && epoch > target.configEpoch) {
        target.configEpoch = epoch;
        const claimed = toSlotSet(msg.slots);
        topo.applyClaim(target, claimed);
      }
    } else if (msg.t === "ping" || msg.t === "meet" || msg.t === "pong") {
      // A node restarted on other ports: reach it at the new ones.
      if (msg.t !== "pong" && updateAddress(this.topo, sender, msg, link.remoteAddress)) {
        this.outbound.get(sender.id)?.close("peer moved");
      }
      this.processHeader(sender, msg, now, null);
    }
    this.o.changed();
  }

  /** What a received header changes (bus-header.ts), with this bus's links to act on. */
  private processHeader(
    sender: ClusterNode,
    msg: BusMessage,
    now: number,
    replyLink: Link | null,
  ): void {
    applyHeader(this.topo, sender, msg, now, replyLink !== null, {
      log: this.o.log,
      nodeTimeoutMs: this.o.nodeTimeoutMs(),
      sendUpdate: (stale) => {
        const link = this.outbound.get(sender.id);
        if (link?.ready)
          this.send(link, {
            ...this.header("update"),
            node: stale.id,
            configEpoch: stale.configEpoch,
            slots: rangesOf((s) => this.topo.owner[s] === stale),
          });
      },
      announceFail: (node) => this.announceFail(node),
      meet: (ip, cport) => {
        if (!this.meets.some((m) => m.host === ip && m.cport === cport)) this.meet(ip, cport);
      },
    });
  }

  private announceFail(node: ClusterNode): void {
    this.o.log.info(`cluster: node ${node.id} marked FAIL (quorum reached)`);
    this.broadcast({ ...this.header("fail"), node: node.id });
  }

  private addFromHeader(msg: BusMessage, remote: string): ClusterNode | undefined {
    const node = nodeFromHeader(this.topo, msg, remote, this.o.now());
    if (node) this.o.log.info(`cluster: met node ${node.id} at ${node.ip}:${node.port}`);
    return node;
  }

  private header(t: string): BusMessage {
    return buildHeader(this.topo, t);
  }

  private send(link: Link, msg: BusMessage): void {
    this.count(this.stats.sent, msg.t);
    link.send(msg);
  }

  private count(stats: Map<string, number>, type: string): void {
    stats.set(type, (stats.get(type) ?? 0) + 1);
  }

  private connect(host: string, cport: number, nodeId: string | null): Link {
    return connectLink(host, cport, this.o.secret, this, nodeId);
  }

  /** Runs every tick: links, pings, PFAIL/FAIL, cluster state. */
  private cron(): void {
    if (!this.listener) return;
    const now = this.o.now();
    const topo = this.topo;
    const timeout = this.o.nodeTimeoutMs();
    const pingEvery = Math.max(10, Math.min(this.o.gossipIntervalMs, Math.floor(timeout / 4)));
    for (const [id, until] of topo.forgotten) if (until <= now) topo.forgotten.delete(id);
    for (let i = this.meets.length - 1; i >= 0; i--) {
      const m = this.meets[i]!;
      if (m.deadline <= now) {
        m.link?.close("handshake timeout");
        this.meets.splice(i, 1);
      } else if (m.link === null && m.nextAttempt <= now) {
        m.nextAttempt = now + Math.min(1000, timeout);
        m.link = this.connect(m.host, m.cport, null);
      }
    }
    for (const node of topo.nodes.values()) {
      if (node.myself) continue;
      const link = this.outbound.get(node.id);
      if (!link) {
        if ((this.nextConnect.get(node.id) ?? 0) <= now && node.ip) {
          this.nextConnect.set(node.id, now + Math.min(1000, Math.max(50, timeout / 4)));
          this.outbound.set(node.id, this.connect(node.ip, node.cport, node.id));
        }
        if (node.pingSent === 0) node.pingSent = now;
      } else if (link.ready) {
        if (node.pingSent === 0 && now - (this.lastPing.get(node.id) ?? 0) >= pingEvery) {
          this.send(link, this.header("ping"));
          node.pingSent = now;
          this.lastPing.set(node.id, now);
        } else if (
          node.pingSent !== 0 &&
          now - node.pingSent > timeout / 2 &&
          now - link.createdAt > timeout / 2
        ) {
          // A link that stopped answering may be stuck: reconnect (the ping clock keeps running).
          link.close("no pong for half the node timeout");
        }
      }
      if (node.pingSent !== 0 && now - node.pingSent > timeout && !node.pfail && !node.fail) {
        node.pfail = true;
        topo.dirty = true;
        this.o.log.info(
          `cluster: node ${node.id} is PFAIL (no pong for ${now - node.pingSent} ms)`,
        );
      }
      if (node.pfail && topo.markFailingIfNeeded(node, now, timeout)) this.announceFail(node);
    }
    this.o.changed();
  }
}
