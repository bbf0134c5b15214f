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
/** RESP3 boolean (`#t`/`#f`; `:1`/`:0` under RESP2, as Redis downgrades it). */
export interface BooleanReply {
  readonly kind: "boolean";
  readonly value: boolean;
}
/** RESP3 big number (`(digits`; a bulk string under RESP2). */
export interface BigNumberReply {
  readonly kind: "bignumber";
  /** The digits, CR and LF already removed. */
  readonly text: string;
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
/** RESP3 out-of-band push (`>`; an array under RESP2): pub/sub messages, invalidations. */
export interface PushReply {
  readonly kind: "push";
  readonly items: readonly Reply[];
}
/**
 * A bulk string too large to hold in memory (a large value's file, storage/large/file.ts): the
 * writer renders its header, and the connection pulls the body piece by piece as the socket
 * drains, so a slow reader never makes the server hold the value.
 */
export interface StreamReply {
  readonly kind: "stream";
  readonly size: number;
  /** The next piece (valid until the following call), or null at the end. Throws on I/O error. */
  next(): Uint8Array | null;
  /** The whole value, for places that cannot stream (scripts). Closes the source. */
  readAll(): Uint8Array;
  /** Releases the source; called at the end, or when the client goes away. Safe to repeat. */
  close(): void;
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
  | BooleanReply
  | BigNumberReply
  | NullArray
  | VerbatimReply
  | MultiReply
  | PushReply
  | NoReply
  | StreamReply
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
export function push(items: Reply[]): PushReply {
  return { kind: "push", items };
}
export function double(value: number): DoubleReply {
  return { kind: "double", value };
}
export function verbatim(text: string): VerbatimReply {
  return { kind: "verbatim", text };
}
