/**
 * A command's key lookups, the one place that decides them: Redis looks each key argument up
 * (lookupKeyRead / lookupKeyWrite) before the command acts on it, and the lookup, not the
 * command, emits three events. Made here before the handler, in argument order:
 * - `expired` (class x) for a key found past its TTL: the lookup itself announces it
 *   (storage/keyspace/lazy-expiry.ts), so it precedes the command's own events;
 * - `keymiss` (class m) for a read lookup that finds nothing: the key arguments of a
 *   readonly row except a quietLookup one (OBJECT, MEMORY USAGE: LOOKUP_NONOTIFY), and those
 *   a write's rule names as read first (Rule.reads: GETDEL, SET … GET, COPY's source…);
 * - the keys a write finds absent, for the `new` event of the key it creates (index.ts).
 * Only rows that read or write keys look up: SPUBLISH's shard channel and WATCH's keys have
 * key positions for routing and WATCH, but Redis does not look those names up.
 */
import type { CommandRow } from "../commands/row.ts";
import type { EventCtx, Rule } from "./events.ts";
import { type KeyspaceNotifier, N } from "./notify.ts";

const NONE = (): boolean => false;
const ALL = (): boolean => true;

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
): Uint8Array[] | null {
  if (spec.keys === null || !notifier.wants(N.expired | N.keyMiss | N.newKey)) return null;
  const readonly = spec.flags.includes("readonly");
  const write = spec.flags.includes("write");
  if (!readonly && !write) return null;
  let isRead: (i: number) => boolean = NONE;
  if (notifier.wants(N.keyMiss)) {
    if (readonly) isRead = spec.quietLookup ? NONE : ALL;
    else if (rule?.reads) isRead = rule.reads(args);
  }
  const absent: Uint8Array[] | null = write && notifier.wants(N.newKey) ? [] : null;
  const db = ctx.client.db;
  for (const i of keyIndexes(spec, args)) {
    const key = args[i]!;
    // The lookup: a key past its TTL is announced `expired` from inside exists().
    if (ctx.exists(key)) continue;
    if (isRead(i)) notifier.emit(N.keyMiss, "keymiss", key, db);
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
