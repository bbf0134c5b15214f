/**
 * The pub/sub hub of one server: who subscribes to which channel, pattern and shard channel,
 * and delivery of PUBLISH / SPUBLISH messages as Redis frames them (`message`, `pmessage`,
 * `smessage`; RESP3 push, RESP2 array). It owns nothing else: keyspace notifications
 * (notify.ts) and tracking invalidations (tracking.ts) publish through it.
 *
 * Channels are binary: they are keyed by their latin1 string (one char per byte).
 *
 * A subscriber that does not read is cut off as Redis's `client-output-buffer-limit pubsub
 * 32mb 8mb 60` does: at once past the hard limit, or after staying past the soft limit for
 * the soft number of seconds.
 *
 * Cluster hook (src/cluster wires it; this file never imports cluster code):
 *   - `onLocalPublish` is called for every PUBLISH a client of this node made, so the bus can
 *     forward it to every other node;
 *   - `deliverRemote(channel, message)` delivers a PUBLISH that arrived over the bus to this
 *     node's subscribers and returns how many received it (no further forwarding).
 *   SPUBLISH needs no bus traffic: the cluster routes it (and SSUBSCRIBE) by the slot of the
 *   channel, like a key; `shardChannelsInSlot` lets the cluster drop shard subscribers when a
 *   slot moves away (Redis sends them `sunsubscribe`).
 */

import type { ClientState } from "../commands/client-state.ts";
import { globMatch } from "../commands/glob.ts";
import { limits } from "../limits.ts";
import { push, type Reply } from "../protocol/reply.ts";

export type SubKind = "channel" | "pattern" | "shard";

/** One client's subscriptions, in subscription order. */
export interface ClientSubs {
  readonly channels: Map<string, Uint8Array>;
  readonly patterns: Map<string, Uint8Array>;
  readonly shard: Map<string, Uint8Array>;
  /** When the client's output first went past the soft limit (0 = it is below). */
  softSince: number;
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1");

const NAMES = {
  channel: ["subscribe", "unsubscribe"],
  pattern: ["psubscribe", "punsubscribe"],
  shard: ["ssubscribe", "sunsubscribe"],
} as const;

export class PubsubHub {
  private readonly channels = new Map<string, Set<ClientState>>();
  private readonly patterns = new Map<string, { bytes: Uint8Array; clients: Set<ClientState> }>();
  private readonly shardChannels = new Map<string, Set<ClientState>>();
  private readonly subs = new Map<ClientState, ClientSubs>();
  /** Cluster hook: every local PUBLISH, for the bus to forward. */
  onLocalPublish: ((channel: Uint8Array, message: Uint8Array) => void) | null = null;
  /** The pubsub output-buffer limits (CONFIG GET client-output-buffer-limit shows them). */
  readonly outputLimit = {
    hardBytes: limits.pubsubOutputHardBytes,
    softBytes: limits.pubsubOutputSoftBytes,
    softSeconds: limits.pubsubOutputSoftSeconds,
  };

  constructor(private readonly clock: () => number = Date.now) {}

  /** Channels plus patterns: the count SUBSCRIBE/UNSUBSCRIBE replies carry. */
  count(client: ClientState): number {
    const s = this.subs.get(client);
    return s ? s.channels.size + s.patterns.size : 0;
  }

  shardCount(client: ClientState): number {
    return this.subs.get(client)?.shard.size ?? 0;
  }

  subsOf(client: ClientState): ClientSubs | undefined {
    return this.subs.get(client);
  }

  /** (P|S)SUBSCRIBE: one confirmation per name, as Redis sends them. */
  subscribe(client: ClientState, kind: SubKind, names: Uint8Array[]): Reply[] {
    const s = this.stateOf(client);
    const out: Reply[] = [];
    for (const bytes of names) {
      const name = latin1(bytes);
      const mine = this.mine(s, kind);
      if (!mine.has(name)) {
        mine.set(name, bytes);
        this.index(kind, name, bytes).add(client);
      }
      out.push(push([NAMES[kind][0], bytes, this.kindCount(client, kind)]));
    }
    this.refresh(client);
    return out;
  }

  /** (P|S)UNSUBSCRIBE: the names given, or every one of that kind; a null name when none. */
  unsubscribe(client: ClientState, kind: SubKind, names: Uint8Array[]): Reply[] {
    const s = this.subs.get(client);
    const list = names.length > 0 ? names : s ? [...this.mine(s, kind).values()] : [];
    const out: Reply[] = [];
    for (const bytes of list) {
      const name = latin1(bytes);
      if (s && this.mine(s, kind).delete(name)) this.unindex(kind, name, client);
      out.push(push([NAMES[kind][1], bytes, this.kindCount(client, kind)]));
    }
    if (out.length === 0) out.push(push([NAMES[kind][1], null, this.kindCount(client, kind)]));
    this.refresh(client);
    return out;
  }

  /** Drops every subscription of a client that closed or sent RESET. */
  removeClient(client: ClientState): void {
    const s = this.subs.get(client);
    if (!s) return;
    for (const kind of ["channel", "pattern", "shard"] as const)
      for (const name of this.mine(s, kind).keys()) this.unindex(kind, name, client);
    this.subs.delete(client);
    client.subscriptions = 0;
  }

  /** PUBLISH from a client of this node: local delivery, then the cluster hook. */
  publish(channel: Uint8Array, message: Uint8Array): number {
    const n = this.deliverRemote(channel, message);
    this.onLocalPublish?.(channel, message);
    return n;
  }

  /** Delivers to this node's channel and pattern subscribers; returns how many got it. */
  deliverRemote(channel: Uint8Array, message: Uint8Array): number {
    let n = 0;
    const exact = this.channels.get(latin1(channel));
    if (exact) {
      const frame = push(["message", channel, message]);
      for (const client of exact) n += this.send(client, frame);
    }
    if (this.patterns.size > 0) {
      for (const { bytes, clients } of this.patterns.values()) {
        if (!globMatch(bytes, channel)) continue;
        const frame = push(["pmessage", bytes, channel, message]);
        for (const client of clients) n += this.send(client, frame);
      }
    }
    return n;
  }

  /** SPUBLISH: shard channel subscribers of this node only. */
  spublish(channel: Uint8Array, message: Uint8Array): number {
    const clients = this.shardChannels.get(latin1(channel));
    if (!clients) return 0;
    const frame = push(["smessage", channel, message]);
    let n = 0;
    for (const client of clients) n += this.send(client, frame);
    return n;
  }

  /** True when a PUBLISH to this channel would reach anybody here (notifications skip work). */
  hasListeners(): boolean {
    return this.channels.size > 0 || this.patterns.size > 0;
  }

  channelNames(kind: "channel" | "shard"): Uint8Array[] {
    const index = kind === "channel" ? this.channels : this.shardChannels;
    return [...index.keys()].map((k) => Buffer.from(k, "latin1"));
  }

  numsub(kind: "channel" | "shard", channel: Uint8Array): number {
    const index = kind === "channel" ? this.channels : this.shardChannels;
    return index.get(latin1(channel))?.size ?? 0;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  get patternCount(): number {
    return this.patterns.size;
  }

  /** Shard channels whose slot the caller's predicate selects (cluster: a slot moved away). */
  shardChannelsWhere(inSlot: (channel: Uint8Array) => boolean): Uint8Array[] {
    return this.channelNames("shard").filter(inSlot);
  }

  /** Removes every subscriber of a shard channel, sending each its `sunsubscribe`. */
  dropShardChannel(channel: Uint8Array): void {
    const clients = this.shardChannels.get(latin1(channel));
    if (!clients) return;
    for (const client of [...clients]) {
      for (const frame of this.unsubscribe(client, "shard", [channel])) this.send(client, frame);
    }
  }

  /**
   * Sends an out-of-band frame to a client, ahead of the reply of the command it is running
   * (so a client publishing to itself sees the message first, as in Redis). Enforces the
   * pubsub output-buffer limit. Returns 1 when sent.
   */
  send(client: ClientState, frame: Reply): number {
    client.deliver(frame, true);
    const bytes = client.outputBytes();
    const limit = this.outputLimit;
    if (bytes <= limit.softBytes) {
      const s = this.subs.get(client);
      if (s) s.softSince = 0;
      return 1;
    }
    if (limit.hardBytes > 0 && bytes > limit.hardBytes) {
      client.kill();
      return 1;
    }
    if (limit.softBytes > 0) {
      const s = this.stateOf(client);
      const now = this.clock();
      if (s.softSince === 0) s.softSince = now;
      else if (now - s.softSince >= limit.softSeconds * 1000) client.kill();
    }
    return 1;
  }

  private kindCount(client: ClientState, kind: SubKind): number {
    return kind === "shard" ? this.shardCount(client) : this.count(client);
  }

  private stateOf(client: ClientState): ClientSubs {
    let s = this.subs.get(client);
    if (!s) {
      s = { channels: new Map(), patterns: new Map(), shard: new Map(), softSince: 0 };
      this.subs.set(client, s);
    }
    return s;
  }

  private mine(s: ClientSubs, kind: SubKind): Map<string, Uint8Array> {
    return kind === "channel" ? s.channels : kind === "pattern" ? s.patterns : s.shard;
  }

  private index(kind: SubKind, name: string, bytes: Uint8Array): Set<ClientState> {
    if (kind === "pattern") {
      let entry = this.patterns.get(name);
      if (!entry) {
        entry = { bytes, clients: new Set() };
        this.patterns.set(name, entry);
      }
      return entry.clients;
    }
    const map = kind === "channel" ? this.channels : this.shardChannels;
    let set = map.get(name);
    if (!set) {
      set = new Set();
      map.set(name, set);
    }
    return set;
  }

  private unindex(kind: SubKind, name: string, client: ClientState): void {
    if (kind === "pattern") {
      const entry = this.patterns.get(name);
      entry?.clients.delete(client);
      if (entry && entry.clients.size === 0) this.patterns.delete(name);
      return;
    }
    const map = kind === "channel" ? this.channels : this.shardChannels;
    const set = map.get(name);
    set?.delete(client);
    if (set && set.size === 0) map.delete(name);
  }

  /** Keeps the client's subscription count (what subscriber mode checks) current. */
  private refresh(client: ClientState): void {
    const s = this.subs.get(client);
    const total = s ? s.channels.size + s.patterns.size + s.shard.size : 0;
    client.subscriptions = total;
    client.subCounts = s
      ? { channels: s.channels.size, patterns: s.patterns.size, shard: s.shard.size }
      : undefined;
    if (s && total === 0) this.subs.delete(client);
  }
}
