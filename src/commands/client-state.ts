/**
 * One connection's state as every room sees it, and how a new one starts. `Q` is what its MULTI queue holds: spec.ts
 * binds it to QueuedCommand (rows with their handlers) for commands and the server; the rooms
 * below the commands (pub/sub, security, MONITOR) never read the queue, so they use the
 * default and import nothing that leads back here.
 */
import type { Reply } from "../protocol/reply.ts";
import type { ProtocolVersion } from "../protocol/writer.ts";
import type { AclUser } from "../security/user.ts";
import type { Watcher } from "../storage/api.ts";

export interface ClientState<Q = unknown> {
  readonly id: number;
  readonly addr: string;
  readonly laddr: string;
  readonly createdAt: number;
  name: string | null;
  libName: string | null;
  libVer: string | null;
  protocol: ProtocolVersion;
  /** The selected Redis database (SELECT); every key command acts on it. */
  db: number;
  lastInteraction: number;
  lastCommand: string;
  /** CLIENT REPLY: "off" drops every reply, "skip" drops the next one (server/connection.ts). */
  replyMode: "on" | "off" | "skip";
  /** Set by QUIT: send the pending replies, then close. */
  closeAfterReply: boolean;
  /** The MULTI queue, or null outside a transaction. */
  tx: { queued: Q[]; failed: boolean } | null;
  /** The keys this client WATCHes and whether one was written since. */
  readonly watcher: Watcher;
  /** Asks the connection to close at once (CLIENT KILL). */
  kill(): void;
  /** Set by MONITOR (server/monitor.ts): this client receives the command stream. */
  monitoring: boolean;
  /**
   * Sends an out-of-band reply (a MONITOR line) after every reply already owed. `now`: ahead
   * of the reply of the command this client is running (pub/sub messages, as Redis).
   */
  deliver(reply: Reply, now?: boolean): void;
  /** Channels + patterns + shard channels subscribed (src/pubsub/hub.ts keeps it); 0 or absent = none. */
  subscriptions?: number;
  /** The same per kind, for CLIENT LIST's sub=, psub= and ssub=. */
  subCounts?: { channels: number; patterns: number; shard: number };
  /** Reply bytes rendered or queued but not yet taken by the socket. */
  outputBytes(): number;
  /** The ACL user this client runs as (src/security); set when the connection opens. */
  user?: AclUser;
  /** False until AUTH when the default user needs a password (NOAUTH). */
  authenticated?: boolean;
}

/** A new connection's state: database 0, RESP2, no name, no transaction, nothing watched. */
export function newClientState<Q>(
  id: number,
  addr: string,
  laddr: string,
  hooks: Pick<ClientState<Q>, "kill" | "deliver" | "outputBytes">,
): ClientState<Q> {
  const now = Date.now();
  return {
    id,
    addr,
    laddr,
    createdAt: now,
    name: null,
    libName: null,
    libVer: null,
    protocol: 2,
    db: 0,
    lastInteraction: now,
    lastCommand: "NULL",
    replyMode: "on",
    closeAfterReply: false,
    tx: null,
    watcher: { dirty: false, keys: new Set() },
    monitoring: false,
    ...hooks,
  };
}
