/**
 * A key's Redis Cluster hash slot, as storage binds it in the `slot` column: CRC16 of the key
 * (or of its first non-empty {hash tag}) modulo 16384, by the cluster-key-slot package, the
 * same function cluster routing uses. A TEXT key is valid UTF-8 (keys.ts), so the package's
 * UTF-8 encoding of the string gives the key's own bytes.
 */
import calculateSlot from "cluster-key-slot";
import type { KeyParam } from "./keys.ts";

export function slotOfKey(key: KeyParam): number {
  return calculateSlot(key);
}
