/**
 * Client-side caching support (CLIENT TRACKING), as Redis 7 does it:
 * - default mode remembers, per key name (databases are not told apart, as in Redis), which
 *   clients read it; the first write after that sends each of them one `invalidate` and
 *   forgets them;
 * - BCAST mode remembers nothing per key: the keys written under a registered prefix (or any
 *   key, with no prefix) are gathered during an event-loop turn and announced at its end, one
 *   message per prefix listing them all, as Redis's beforeSleep does;
 * - OPTIN / OPTOUT with CLIENT CACHING YES|NO choose which reads are remembered;
 * - NOLOOP skips the client that made the write;
 * - REDIRECT sends the messages to another connection: to a RESP2 one as a `message` on
 *   `__redis__:invalidate` when it subscribes to that channel, to a RESP3 one as a push.
 * A FLUSHDB / FLUSHALL sends every tracking client an `invalidate` with a null key list.
 * Messages to a client about its own write follow the reply to that write (Redis 7 does so).
 */
import type { ClientState } from "../commands/client-state.ts";
import { limits } from "../limits.ts";
import { push, type Reply } from "../protocol/reply.ts";

export interface TrackingOptions {
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  /** Client id receiving the messages; 0 = the client itself. */
  redirect: number;
  prefixes: Uint8Array[];
}

interface ClientTracking extends TrackingOptions {
  /** CLIENT CACHING YES|NO for the next command: true, false, or null when not given. */
  caching: boolean | null;
  /**
   * Set when an invalidation found the redirect target gone (Redis's
   * CLIENT_TRACKING_BROKEN_REDIR): TRACKINGINFO's broken_redirect, CLIENT LIST's R.
   */
  brokenRedirect: boolean;
}

interface BroadcastPrefix {
  readonly bytes: Uint8Array;
  readonly clients: Set<ClientState>;
  readonly pending: Map<string, { key: Uint8Array; writer: ClientState | null }>;
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1");
/** Byte order of latin1 names, the order Redis's radix trees list prefixes and keys in. */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const CHANNEL = new TextEncoder().encode("__redis__:invalidate");
const INVALIDATE = "invalidate";

export class TrackingTable {
  private readonly clientsState = new Map<ClientState, ClientTracking>();
  /** Default mode: key (latin1) → ids of the clients that read it. */
  private readonly keys = new Map<string, Set<number>>();
  /**
   * BCAST mode: prefix (latin1) → its bytes, the clients registered for it, and the keys
   * written under it this turn (key latin1 → bytes and the last writer, for NOLOOP).
   */
  private readonly prefixes = new Map<string, BroadcastPrefix>();
  private broadcastScheduled = false;

  constructor(
    private readonly clients: ReadonlyMap<number, ClientState>,
    /** Whether a RESP2 client subscribes to `__redis__:invalidate` (pub/sub hub). */
    private readonly subscribedToInvalidate: (client: ClientState) => boolean,
    /** Called when the number of tracking clients goes from 0 to 1 or back. */
    private readonly changed: () => void,
  ) {}

  get count(): number {
    return this.clientsState.size;
  }

  get keyCount(): number {
    return this.keys.size;
  }

  /** Key-client pairs remembered (INFO's tracking_total_items). */
  get itemCount(): number {
    let n = 0;
    for (const ids of this.keys.values()) n += ids.size;
    return n;
  }

  get prefixCount(): number {
    return this.prefixes.size;
  }

  state(client: ClientState): Readonly<ClientTracking> | undefined {
    return this.clientsState.get(this.connection(client));
  }

  enable(client: ClientState, options: TrackingOptions): void {
    const old = this.clientsState.get(client);
    if (old) this.unregisterPrefixes(client, old);
    const merged: ClientTracking = {
      ...options,
      prefixes: old ? [...old.prefixes, ...options.prefixes] : options.prefixes,
      caching: null,
      brokenRedirect: false,
    };
    this.clientsState.set(client, merged);
    if (merged.bcast) {
      const list = merged.prefixes.length > 0 ? merged.prefixes : [new Uint8Array(0)];
      for (const bytes of list) {
        const name = latin1(bytes);
        let entry = this.prefixes.get(name);
        if (!entry) {
          entry = { bytes, clients: new Set(), pending: new Map() };
          this.prefixes.set(name, entry);
        }
        entry.clients.add(client);
      }
    }
    if (!old) this.changed();
  }

  disable(client: ClientState): void {
    const old = this.clientsState.get(client);
    if (!old) return;
    this.unregisterPrefixes(client, old);
    this.clientsState.delete(client);
    this.changed();
  }

  setCaching(client: ClientState, yes: boolean): void {
    const s = this.clientsState.get(this.connection(client));
    if (!s) return;
    s.caching = yes;
  }

  /** After every command of a tracking client: a read may be remembered, CACHING expires. */
  afterCommand(client: ClientState, isCaching: boolean, readKeys: Uint8Array[] | null): void {
    const s = this.clientsState.get(this.connection(client));
    if (!s || isCaching) return;
    if (readKeys !== null && !s.bcast) {
      const remember = s.optin ? s.caching === true : s.optout ? s.caching !== false : true;
      if (remember) {
        for (const key of readKeys) {
          const name = latin1(key);
          let ids = this.keys.get(name);
          if (!ids) {
            ids = new Set();
            this.keys.set(name, ids);
            // Bounded as Redis's tracking-table-max-keys: past it, the oldest key is
            // invalidated for its clients and forgotten, so memory stays bounded.
            if (this.keys.size > limits.trackingKeysMax) this.evictOldest();
          }
          ids.add(client.id);
        }
      }
    }
    // CACHING applies to the one command after it (a MULTI block or a script counts as one in
    // Redis): the commands a script runs (a child view of the client) leave it for the script.
    if (s.caching !== null && !client.tx && client === this.connection(client)) s.caching = null;
  }

  /** A key was modified (by `writer`, or by expiry when null). */
  invalidate(key: Uint8Array, writer: ClientState | null): void {
    const name = latin1(key);
    const ids = this.keys.get(name);
    if (ids) {
      this.keys.delete(name);
      for (const id of ids) {
        const client = this.clients.get(id);
        if (!client) continue;
        const s = this.clientsState.get(client);
        if (!s || s.bcast || (s.noloop && client.id === writer?.id)) continue;
        this.send(client, s, [key]);
      }
    }
    if (this.prefixes.size === 0) return;
    let matched = false;
    for (const [prefix, entry] of this.prefixes) {
      if (!name.startsWith(prefix)) continue;
      // The last writer is kept, as Redis's raxInsert overwrites it: NOLOOP skips its own.
      entry.pending.set(name, { key, writer });
      matched = true;
    }
    if (matched && !this.broadcastScheduled) {
      this.broadcastScheduled = true;
      setImmediate(() => this.broadcast());
    }
  }

  /**
   * End of the turn: each prefix with keys written sends every client registered for it one
   * invalidate listing them (a NOLOOP client's list leaves out the keys it wrote last). Also
   * called before the next command runs (pubsub/index.ts), as Redis flushes in beforeSleep
   * before it reads more input: a client's next reply never overtakes the message.
   */
  broadcast(): void {
    if (!this.broadcastScheduled) return;
    this.broadcastScheduled = false;
    for (const prefix of [...this.prefixes.keys()].sort(byName)) {
      const entry = this.prefixes.get(prefix)!;
      if (entry.pending.size === 0) continue;
      const written = [...entry.pending.entries()].sort((a, b) => byName(a[0], b[0]));
      entry.pending.clear();
      const all = written.map(([, w]) => w.key);
      for (const client of entry.clients) {
        const s = this.clientsState.get(client);
        if (!s) continue;
        const keys = s.noloop
          ? written.filter(([, w]) => w.writer?.id !== client.id).map(([, w]) => w.key)
          : all;
        if (keys.length > 0) this.send(client, s, keys);
      }
    }
  }

  /**
   * The connection itself for a client view: the commands a script runs see a child of the
   * caller's ClientState (scripting/calls.ts), and their reads and writes count as the
   * caller's, as Redis tracks for server.current_client.
   */
  private connection(client: ClientState): ClientState {
    return this.clients.get(client.id) ?? client;
  }

  private evictOldest(): void {
    const oldest = this.keys.keys().next().value as string;
    this.invalidate(Buffer.from(oldest, "latin1"), null);
  }

  /** FLUSHDB / FLUSHALL: every tracking client drops its whole cache. */
  flush(): void {
    this.keys.clear();
    for (const [client, s] of this.clientsState) this.send(client, s, null);
  }

  removeClient(client: ClientState): void {
    this.disable(client);
  }

  private send(client: ClientState, s: ClientTracking, keys: Uint8Array[] | null): void {
    let target = client;
    if (s.redirect !== 0) {
      const found = this.clients.get(s.redirect);
      if (!found) {
        s.brokenRedirect = true;
        // Redis tells a RESP3 client its redirection target is gone.
        if (client.protocol === 3) client.deliver(push(["tracking-redir-broken", s.redirect]));
        return;
      }
      target = found;
    }
    let frame: Reply;
    if (target.protocol === 3) frame = push([INVALIDATE, keys]);
    else if (s.redirect !== 0 && this.subscribedToInvalidate(target))
      frame = push(["message", CHANNEL, keys]);
    else return;
    target.deliver(frame);
  }

  private unregisterPrefixes(client: ClientState, s: ClientTracking): void {
    if (!s.bcast) return;
    const list = s.prefixes.length > 0 ? s.prefixes : [new Uint8Array(0)];
    for (const bytes of list) {
      const name = latin1(bytes);
      const entry = this.prefixes.get(name);
      entry?.clients.delete(client);
      if (entry && entry.clients.size === 0) this.prefixes.delete(name);
    }
  }
}

export const INVALIDATE_CHANNEL = CHANNEL;
