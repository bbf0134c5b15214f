/**
 * Keyspace notifications: the `notify-keyspace-events` flags (parsed and printed exactly as
 * Redis does, quirks included) and the emission of one event on the database-scoped channels
 * `__keyspace@<db>__:<key>` (payload: the event) and `__keyevent@<db>__:<event>` (payload:
 * the key). Which command emits which event is declared in events.ts; this file only knows
 * classes and channels.
 */
import { RespError } from "../errors.ts";
import type { PubsubHub } from "./hub.ts";

/** Event classes, Redis's NOTIFY_* bits. */
export const N = {
  keyspace: 1 << 0, // K
  keyevent: 1 << 1, // E
  generic: 1 << 2, // g
  string: 1 << 3, // $
  list: 1 << 4, // l
  set: 1 << 5, // s
  hash: 1 << 6, // h
  zset: 1 << 7, // z
  expired: 1 << 8, // x
  evicted: 1 << 9, // e
  stream: 1 << 10, // t
  keyMiss: 1 << 11, // m
  module: 1 << 12, // d
  newKey: 1 << 13, // n
} as const;

/** `A`: every class but key-miss and new-key, as in Redis. */
const ALL =
  N.generic |
  N.string |
  N.list |
  N.set |
  N.hash |
  N.zset |
  N.expired |
  N.evicted |
  N.stream |
  N.module;

const CHARS: readonly [string, number][] = [
  ["g", N.generic],
  ["$", N.string],
  ["l", N.list],
  ["s", N.set],
  ["h", N.hash],
  ["z", N.zset],
  ["x", N.expired],
  ["e", N.evicted],
  ["t", N.stream],
  ["d", N.module],
  ["n", N.newKey],
];

/** Parses a flags string; null when it holds a character Redis does not know. */
export function parseFlags(text: string): number | null {
  let flags = 0;
  for (const ch of text) {
    if (ch === "A") flags |= ALL;
    else if (ch === "K") flags |= N.keyspace;
    else if (ch === "E") flags |= N.keyevent;
    else if (ch === "m") flags |= N.keyMiss;
    else {
      const found = CHARS.find(([c]) => c === ch);
      if (!found) return null;
      flags |= found[1];
    }
  }
  return flags;
}

/** Redis's keyspaceEventsFlagsToString: `A` hides n when every class is on. */
export function formatFlags(flags: number): string {
  let out = "";
  if ((flags & ALL) === ALL) out += "A";
  else for (const [c, bit] of CHARS) if (flags & bit) out += c;
  if (flags & N.keyspace) out += "K";
  if (flags & N.keyevent) out += "E";
  if (flags & N.keyMiss) out += "m";
  return out;
}

export function invalidFlags(): RespError {
  return new RespError(
    "ERR",
    "CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
  );
}

const encoder = new TextEncoder();

export class KeyspaceNotifier {
  private flags = 0;

  constructor(
    private readonly hub: PubsubHub,
    initial: string,
  ) {
    const parsed = parseFlags(initial);
    if (parsed === null) throw invalidFlags();
    this.flags = parsed;
  }

  /** True when some class is on and at least one of K / E: the only case that emits. */
  get active(): boolean {
    return (this.flags & (N.keyspace | N.keyevent)) !== 0 && (this.flags & ~3) !== 0;
  }

  wants(cls: number): boolean {
    return this.active && (this.flags & cls) !== 0;
  }

  get text(): string {
    return formatFlags(this.flags);
  }

  /** CONFIG SET notify-keyspace-events. */
  set(text: string): void {
    const parsed = parseFlags(text);
    if (parsed === null) throw invalidFlags();
    this.flags = parsed;
  }

  /** Redis's notifyKeyspaceEvent: keyspace channel first, then keyevent. */
  emit(cls: number, event: string, key: Uint8Array, db: number): void {
    if ((this.flags & cls) === 0) return;
    if (!this.hub.hasListeners()) return;
    const ev = encoder.encode(event);
    if (this.flags & N.keyspace) {
      this.hub.deliverRemote(concat(`__keyspace@${db}__:`, key), ev);
    }
    if (this.flags & N.keyevent) {
      this.hub.deliverRemote(encoder.encode(`__keyevent@${db}__:${event}`), key);
    }
  }
}

function concat(prefix: string, key: Uint8Array): Uint8Array {
  const head = encoder.encode(prefix);
  const out = new Uint8Array(head.length + key.length);
  out.set(head);
  out.set(key, head.length);
  return out;
}
