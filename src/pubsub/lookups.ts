/**
 * A command's key lookups, the one place that decides them: Redis looks each key argument up
 * (lookupKeyRead / lookupKeyWrite) before the command acts on it, and the lookup, not the
 * command, emits three events. Made here before the handler, in argument order:
 * - `expired` (class x) for a key found past its TTL: the lookup itself announces it
 *   (storage/keyspace/lazy-expiry.ts), so it precedes the command's own events; for a write
 *   Redis runs key by key (Rule.perKey: DEL, UNLINK, MSET) it is held (Hold) and goes out
 *   just before the events of its key (Looked.release);
 * - `keymiss` (class m) for a read lookup that finds nothing: the key arguments of a
 *   readonly row except a quietLookup one (OBJECT's LOOKUP_NONOTIFY, MEMORY USAGE), and those
 *   a write's rule names as read first (Rule.lookups: GETDEL, SET … GET, COPY's source…);
 * - the keys a write finds absent, for the `new` event of the key it creates (index.ts).
 * Only rows that read or write keys look up: SPUBLISH's shard channel and WATCH's keys have
 * key positions for routing and WATCH, but Redis does not look those names up.
 * Known differences (docs/compatibility.md): a command refused for its arguments may still
 * have looked its keys up (Redis checks some first), and BITOP looks its destination up
 * before its sources (Redis: after).
 */
import type { CommandRow } from "../commands/row.ts";
import type { EventCtx, Lookup, Rule } from "./events.ts";
import { type KeyspaceNotifier, N } from "./notify.ts";

/** A key-expiry event as storage reports it (the sweep, lazy expiry): database, event, key. */
export type ExpiryEvent = [db: number, event: "expired" | "hexpired" | "del", key: Uint8Array];

/**
 * While a per-key write (Rule.perKey) looks its keys up, the `expired` events its lookups
 * found, by key index, instead of going out at once (index.ts routes them here).
 */
export class Hold {
  /** The index of the key being looked up. */
  at = 0;
  readonly events: [index: number, event: ExpiryEvent][] = [];
}

/** What before() learnt for after(): the rule's own state, the keys absent, held `expired`. */
export class Looked {
  private next = 0;
  private positions: Map<string, number> | null = null;

  constructor(
    readonly pre: unknown,
    /** The keys a write found absent, while `new` is wanted. */
    readonly absent: Uint8Array[] | null,
    private readonly held: Hold | null,
    private readonly spec: CommandRow,
    private readonly args: Uint8Array[],
  ) {}

  /**
   * Before an event about `key` (null: at the end), the held `expired` events of the keys
   * up to its place, as Redis's one-key-at-a-time loop emits them (DEL a b: del a, expired b).
   */
  release(key: Uint8Array | null, out: (event: ExpiryEvent) => void): void {
    const held = this.held?.events;
    if (held === undefined || this.next >= held.length) return;
    let upTo = Number.POSITIVE_INFINITY;
    if (key !== null) {
      if (this.positions === null) {
        this.positions = new Map();
        for (const i of keyIndexes(this.spec, this.args)) {
          const id = latin1(this.args[i]!);
          if (!this.positions.has(id)) this.positions.set(id, i);
        }
      }
      upTo = this.positions.get(latin1(key)) ?? upTo;
    }
    while (this.next < held.length && held[this.next]![0] <= upTo) out(held[this.next++]![1]);
  }
}

export const latin1 = (key: Uint8Array): string =>
  Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");

/**
 * Looks the command's keys up as Redis would, emitting `expired` and `keymiss`; returns the
 * keys a write found absent while `new` is wanted, else null.
 */
export function lookUpKeys(
  ctx: EventCtx,
  spec: CommandRow,
  rule: Rule | undefined,
  args: Uint8Array[],
  notifier: KeyspaceNotifier,
  hold: Hold | null,
): Uint8Array[] | null {
  if (spec.keys === null || !notifier.wants(N.expired | N.keyMiss | N.newKey)) return null;
  const readonly = spec.flags.includes("readonly");
  const write = spec.flags.includes("write");
  if (!readonly && !write) return null;
  const how = rule?.lookups?.(ctx, args) ?? null;
  const fallback: Lookup = readonly ? "read" : "write";
  // OBJECT and MEMORY USAGE read without Redis's lookup notifications (LOOKUP_NONOTIFY).
  const misses = notifier.wants(N.keyMiss) && !spec.quietLookup;
  const absent: Uint8Array[] | null = write && notifier.wants(N.newKey) ? [] : null;
  const db = ctx.client.db;
  for (const i of keyIndexes(spec, args)) {
    const lookup = how === null ? fallback : how(i);
    if (lookup === "none") continue;
    const key = args[i]!;
    if (hold !== null) hold.at = i;
    // The lookup: a key past its TTL is announced `expired` from inside exists().
    if (ctx.exists(key)) continue;
    if (misses && lookup === "read") notifier.emit(N.keyMiss, "keymiss", key, db);
    absent?.push(key);
  }
  return absent;
}

/** The key arguments of a command, by its row's key range. */
export function keysOf(spec: CommandRow, args: Uint8Array[]): Uint8Array[] {
  return keyIndexes(spec, args).map((i) => args[i]!);
}

/** The indexes of a command's key arguments, by its row's key range. */
function keyIndexes(spec: CommandRow, args: Uint8Array[]): number[] {
  const k = spec.keys;
  if (!k) return [];
  const last = k.last < 0 ? args.length + k.last : k.last;
  const out: number[] = [];
  for (let i = k.first; i <= last && i < args.length; i += k.step) out.push(i);
  return out;
}
