/**
 * Hash slots: 16384 of them; a key's slot is CRC16 (XMODEM) of the key, or of its first
 * non-empty `{hash tag}`, modulo 16384 — Redis's rule, computed by the cluster-key-slot
 * package over the raw key bytes. Also the slot-range helpers every reply and the nodes file
 * share. Pure functions, no state.
 */
import calculateSlot from "cluster-key-slot";

export const SLOT_COUNT = 16384;

/** The hash slot of a key's bytes. */
export function keySlot(key: Uint8Array): number {
  return calculateSlot(key);
}

/** A slot number from client text, or null when it is not an integer in 0..16383. */
export function parseSlot(text: string): number | null {
  if (!/^-?[0-9]{1,10}$/.test(text)) return null;
  const n = Number(text);
  return n >= 0 && n < SLOT_COUNT ? n : null;
}

export type SlotRange = readonly [start: number, end: number];

/** The inclusive ranges of slots for which `has(slot)` holds, ascending. */
export function rangesOf(has: (slot: number) => boolean): SlotRange[] {
  const out: SlotRange[] = [];
  let start = -1;
  for (let s = 0; s <= SLOT_COUNT; s++) {
    const on = s < SLOT_COUNT && has(s);
    if (on && start < 0) start = s;
    else if (!on && start >= 0) {
      out.push([start, s - 1]);
      start = -1;
    }
  }
  return out;
}

/** `0-5460 5462` style, as CLUSTER NODES prints ranges. */
export function rangeText([start, end]: SlotRange): string {
  return start === end ? String(start) : `${start}-${end}`;
}
