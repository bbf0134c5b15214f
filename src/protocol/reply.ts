/**
 * The reply values handlers return. Dispatch hands them to protocol/writer.ts, which renders
 * RESP2 or RESP3. Plain JS values cover the common cases so the hot path allocates nothing:
 *   number/bigint -> integer, Uint8Array/string -> bulk string, null -> null bulk,
 *   Reply[] -> array, RespError -> error line. Everything else is a small tagged object.
 */
import type { RespError } from "../errors.ts";

export interface SimpleString {
  readonly kind: "simple";
  readonly text: string;
}
/** RESP3 map (rendered as a flat array under RESP2). */
export interface MapReply {
  readonly kind: "map";
  readonly entries: readonly (readonly [Reply, Reply])[];
}
/** RESP3 set (rendered as an array under RESP2). */
export interface SetReply {
  readonly kind: "set";
  readonly items: readonly Reply[];
}
/** RESP3 double (rendered as a bulk string under RESP2). */
export interface DoubleReply {
  readonly kind: "double";
  readonly value: number;
}
/** A null array (`*-1` in RESP2, `_` in RESP3). */
export interface NullArray {
  readonly kind: "nullarray";
}
/** RESP3 verbatim text (rendered as a bulk string under RESP2), used by INFO and CLIENT LIST. */
export interface VerbatimReply {
  readonly kind: "verbatim";
  readonly text: string;
}
/** Several replies for one request (e.g. SUBSCRIBE-style); rendered back to back. */
export interface MultiReply {
  readonly kind: "multi";
  readonly replies: readonly Reply[];
}
/** No reply at all (CLIENT REPLY OFF/SKIP). */
export interface NoReply {
  readonly kind: "none";
}

export type Reply =
  | number
  | bigint
  | string
  | Uint8Array
  | null
  | RespError
  | SimpleString
  | MapReply
  | SetReply
  | DoubleReply
  | NullArray
  | VerbatimReply
  | MultiReply
  | NoReply
  | readonly Reply[];

export const OK: SimpleString = Object.freeze({ kind: "simple", text: "OK" });
export const PONG: SimpleString = Object.freeze({ kind: "simple", text: "PONG" });
export const QUEUED: SimpleString = Object.freeze({ kind: "simple", text: "QUEUED" });
export const NULL_ARRAY: NullArray = Object.freeze({ kind: "nullarray" });
export const NO_REPLY: NoReply = Object.freeze({ kind: "none" });

export function simple(text: string): SimpleString {
  return { kind: "simple", text };
}
export function map(entries: (readonly [Reply, Reply])[]): MapReply {
  return { kind: "map", entries };
}
export function set(items: Reply[]): SetReply {
  return { kind: "set", items };
}
export function double(value: number): DoubleReply {
  return { kind: "double", value };
}
export function verbatim(text: string): VerbatimReply {
  return { kind: "verbatim", text };
}
