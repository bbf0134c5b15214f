/**
 * The pub/sub room's front: one `PubsubServices` per server (created by startServer, reached
 * through ServerContext.pubsub) bundling the hub, keyspace notifications, client tracking and
 * CLIENT PAUSE. Dispatch calls `before`/`after` around a handler only while `hooked` is true
 * (notifications on or some client tracking), so with both off a command pays one branch.
 */
import type { ClientState } from "../commands/client-state.ts";
import type { CommandRow } from "../commands/row.ts";
import type { Reply } from "../protocol/reply.ts";
import { type Emit, type EventCtx, FLUSHES, rules } from "./events.ts";
import { PubsubHub } from "./hub.ts";
import { type ExpiryEvent, Hold, keysOf, Looked, latin1, lookUpKeys } from "./lookups.ts";
import { KeyspaceNotifier, N } from "./notify.ts";
import { PauseGate } from "./pause.ts";
import { INVALIDATE_CHANNEL, TrackingTable } from "./tracking.ts";

type SweepListener = (events: ExpiryEvent[]) => void;

const invalidateName = Buffer.from(INVALIDATE_CHANNEL).toString("latin1");

export class PubsubServices {
  readonly hub: PubsubHub;
  readonly notifier: KeyspaceNotifier;
  readonly tracking: TrackingTable;
  readonly pause: PauseGate;
  /** True while notifications are on or a client tracks: dispatch then calls before/after. */
  hooked = false;
  private sweeper: { keyListener: SweepListener | null } | null = null;
  private lazy: { listener: SweepListener | null } | null = null;
  private readonly sweepListener: SweepListener = (events) => this.expired(events);
  /** Set only while a per-key write looks its keys up: the `expired` events wait there. */
  private hold: Hold | null = null;

  constructor(
    clients: ReadonlyMap<number, ClientState>,
    notifyFlags: string,
    clock: () => number = Date.now,
  ) {
    this.hub = new PubsubHub(clock);
    this.notifier = new KeyspaceNotifier(this.hub, notifyFlags);
    this.tracking = new TrackingTable(
      clients,
      (c) => this.hub.subsOf(c)?.channels.has(invalidateName) ?? false,
      () => this.refresh(),
    );
    this.pause = new PauseGate(clock);
    this.refresh();
  }

  /** CONFIG SET notify-keyspace-events. */
  setNotifyFlags(text: string): void {
    this.notifier.set(text);
    this.refresh();
  }

  /** A connection went away or sent RESET. */
  removeClient(client: ClientState): void {
    this.hub.removeClient(client);
    this.tracking.removeClient(client);
  }

  /**
   * Before the handler: the command's key lookups (lookups.ts: `expired`, `keymiss`, and,
   * with the `new` class on, which of a write's keys are absent: a `new` event if it creates
   * them), then the state a rule needs to know what the command changed.
   */
  before(ctx: EventCtx, spec: CommandRow, args: Uint8Array[]): unknown {
    // BCAST messages of earlier turns go out before this command's reply; a transaction's or a
    // script's commands are one turn, so their keys stay in one message per prefix.
    if (!ctx.inExec) this.tracking.broadcast();
    const rule = rules.get(spec.name);
    const hold = rule?.perKey ? new Hold() : null;
    this.hold = hold;
    let absent: Uint8Array[] | null;
    try {
      absent = lookUpKeys(ctx, spec, rule, args, this.notifier, hold);
    } finally {
      this.hold = null;
    }
    const pre = rule?.before ? rule.before(ctx, args) : undefined;
    if (absent === null && (hold === null || hold.events.length === 0)) return pre;
    return new Looked(pre, absent, hold, spec, args);
  }

  /** The handler failed (threw, or its write did): the `expired` events held still go out. */
  abandon(pre: unknown): void {
    if (pre instanceof Looked) pre.release(null, (e) => this.expired([e]));
  }

  /** After the handler: events for what it changed, read tracking; the result is unchanged. */
  after(
    ctx: EventCtx,
    spec: CommandRow,
    args: Uint8Array[],
    result: Reply | Promise<Reply>,
    pre: unknown,
  ): Reply | Promise<Reply> {
    if (result instanceof Promise) {
      return result.then(
        (reply) => {
          this.settled(ctx, spec, args, reply, pre);
          return reply;
        },
        (error: unknown) => {
          this.abandon(pre);
          throw error;
        },
      );
    }
    this.settled(ctx, spec, args, result, pre);
    return result;
  }

  /** The sweep removed keys (or fields): `expired` / `hexpired` events and invalidations. */
  expired(events: readonly ExpiryEvent[]): void {
    if (this.hold !== null) {
      // Found by a per-key write's lookup (before()): they wait for their place.
      for (const e of events) this.hold.events.push([this.hold.at, e]);
      return;
    }
    for (const [db, event, key] of events) {
      const cls = event === "expired" ? N.expired : event === "hexpired" ? N.hash : N.generic;
      this.notifier.emit(cls, event, key, db);
      if (this.tracking.count > 0) this.tracking.invalidate(key, null);
    }
  }

  private settled(ctx: EventCtx, spec: CommandRow, args: Uint8Array[], reply: Reply, pre: unknown) {
    const tracking = this.tracking;
    if (tracking.count > 0 && tracking.state(ctx.client)) {
      const reads = spec.flags.includes("readonly") ? keysOf(spec, args) : null;
      tracking.afterCommand(ctx.client, spec.name.startsWith("client|"), reads);
    }
    if (!spec.flags.includes("write")) return;
    const db = ctx.client.db;
    if (FLUSHES.has(spec.name)) {
      if (tracking.count > 0) tracking.flush();
      return;
    }
    const failed = typeof reply === "object" && reply !== null && "code" in reply;
    const looked = pre instanceof Looked ? pre : null;
    const rulePre = looked === null ? pre : looked.pre;
    const release = (key: Uint8Array | null) => looked?.release(key, (e) => this.expired([e]));
    // `new` goes just before the first event about a key the write created, as Redis's dbAdd
    // emits it when the key is added (per key, for MSET); a rule's own `new` (COPY, MOVE:
    // another database) takes its place.
    let created: Map<string, Uint8Array> | null = null;
    if (looked?.absent && !failed) {
      created = new Map();
      for (const key of looked.absent) if (ctx.exists(key)) created.set(latin1(key), key);
    }
    const rule = rules.get(spec.name);
    const emit: Emit = (cls, event, key, at = db) => {
      if (at === db) release(key);
      if (created !== null && created.size > 0 && at === db) {
        const id = latin1(key);
        if (created.delete(id) && event !== "new") this.notifier.emit(N.newKey, "new", key, db);
      }
      this.notifier.emit(cls, event, key, at);
      if (tracking.count > 0 && event !== "new") tracking.invalidate(key, ctx.client);
    };
    if (rule && !failed) rule.after(ctx, args, reply, emit, rulePre);
    // Keys created without an event of their own still get their `new`.
    if (created !== null) for (const key of created.values()) emit(N.newKey, "new", key);
    release(null);
  }

  /**
   * The expiry sweep names the keys it removes only while we listen (it is cheaper without):
   * its listener is set and cleared with `hooked`.
   */
  attachSweeper(sweeper: { keyListener: SweepListener | null }): void {
    this.sweeper = sweeper;
    this.refresh();
  }

  /** Reads that find an expired key report it too (storage's LazyExpiry), with `hooked`. */
  attachLazyExpiry(lazy: { listener: SweepListener | null }): void {
    this.lazy = lazy;
    this.refresh();
  }

  private refresh(): void {
    this.hooked = this.notifier.active || this.tracking.count > 0;
    if (this.sweeper) this.sweeper.keyListener = this.hooked ? this.sweepListener : null;
    if (this.lazy) this.lazy.listener = this.hooked ? this.sweepListener : null;
  }
}

export { PubsubHub } from "./hub.ts";
