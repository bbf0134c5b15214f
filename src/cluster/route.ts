/**
 * The routing decision for one command, Redis's getNodeByQuery: from the keys at the row's
 * key positions (dispatch collects them, EXEC's from every queued command) to "run it here"
 * (null) or the error to send — CROSSSLOT, CLUSTERDOWN, MOVED, ASK or TRYAGAIN, in Redis's
 * exact words. Keyless commands always run here. Storage is asked only whether a key exists,
 * and only while its slot is being migrated or imported.
 */
import { RespError } from "../errors.ts";
import { keySlot } from "./slots.ts";
import type { ClusterNode, Topology } from "./topology.ts";

export const clusterErrors = {
  crossSlot: () => new RespError("CROSSSLOT", "Keys in request don't hash to the same slot"),
  down: () => new RespError("CLUSTERDOWN", "The cluster is down"),
  unbound: () => new RespError("CLUSTERDOWN", "Hash slot not served"),
  moved: (slot: number, n: ClusterNode) => new RespError("MOVED", `${slot} ${n.ip}:${n.port}`),
  ask: (slot: number, n: ClusterNode) => new RespError("ASK", `${slot} ${n.ip}:${n.port}`),
  tryAgain: () => new RespError("TRYAGAIN", "Multiple keys request during rehashing of slot"),
  disabled: () => new RespError("ERR", "This instance has cluster support disabled"),
} as const;

export interface RouteQuery {
  /** The keys of the command (for EXEC: of every queued command), in order. */
  readonly keys: readonly Uint8Array[];
  /** The client sent ASKING (or the command is RESTORE-ASKING). */
  readonly asking: boolean;
  /** Whether a key exists here (asked only for slots being migrated or imported). */
  exists(key: Uint8Array): boolean;
}

export function route(topo: Topology, q: RouteQuery): RespError | null {
  const keys = q.keys;
  if (keys.length === 0) return null;
  const me = topo.myself;
  let slot = -1;
  let owner: ClusterNode | null = null;
  let first: Uint8Array | null = null;
  let multipleKeys = false;
  let migrating = false;
  let importing = false;
  let missing = 0;
  let existing = 0;
  for (const key of keys) {
    const s = keySlot(key);
    if (first === null) {
      first = key;
      slot = s;
      owner = topo.owner[s]!;
      if (owner === null) return clusterErrors.unbound();
      if (owner === me && topo.migrating.has(s)) migrating = true;
      else if (topo.importing.has(s)) importing = true;
    } else if (s !== slot) {
      return clusterErrors.crossSlot();
    } else if (!multipleKeys && !bytesEqual(key, first)) {
      multipleKeys = true;
    }
    if (migrating || importing) {
      if (q.exists(key)) existing++;
      else missing++;
    }
  }
  if (topo.state !== "ok") return clusterErrors.down();
  if (migrating && missing > 0) {
    if (existing > 0) return clusterErrors.tryAgain();
    const target = topo.nodes.get(topo.migrating.get(slot)!);
    if (target) return clusterErrors.ask(slot, target);
  }
  if (importing && q.asking) {
    if (multipleKeys && missing > 0) return clusterErrors.tryAgain();
    return null;
  }
  if (owner !== me) return clusterErrors.moved(slot, owner!);
  return null;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
