/**
 * Key rows whose string lives in a large-value file (row type ROW_STRING_FILE, large/): the
 * entry KeyTable returns for them, and the whole-file read and write that commands unable to
 * stream fall back to. Every failure becomes a StorageError naming the shard and the key.
 */
import { StorageError } from "../../errors.ts";
import type { ValueCache } from "../engine/cache.ts";
import type { KeyParam } from "../engine/keys.ts";
import { ROW_STRING } from "../engine/sql.ts";
import type { LargeFiles } from "../large/files.ts";
import { decodeRef, type LargeRef } from "../large/format.ts";
import type { KeyEntry } from "./rows.ts";

/** Largest file value read whole into memory (a Uint8Array's practical bound in Bun). */
const LARGE_MATERIALIZE_BYTES_MAX = 2 ** 32 - 1;

/** What fileEntry needs of the table: its shard, its cache, and the whole-file read. */
interface FileRowHost {
  readonly shardIndex: number;
  readonly cache: ValueCache;
  idOf(key: KeyParam): string;
  readFile(key: KeyParam, ref: LargeRef): Uint8Array;
}

/**
 * A string kept in a file: reported as a string, with its reference in `large`. Its `value`
 * reads the whole file the first time it is used, so commands that cannot stream still work.
 */
export function fileEntry(
  table: FileRowHost,
  key: KeyParam,
  stored: Uint8Array,
  expiresAt: number | null,
): KeyEntry {
  let ref: LargeRef;
  try {
    ref = decodeRef(stored);
  } catch (error) {
    throw storageError(error, "", key, table.shardIndex, "read");
  }
  let bytes: Uint8Array | null = null;
  return {
    type: ROW_STRING,
    expiresAt,
    large: ref,
    get value(): Uint8Array {
      if (bytes === null) {
        bytes = table.readFile(key, ref);
        // Read whole once: kept in the value cache like any string (it bounds entry sizes),
        // so a hot large value is served from memory as an inline one would be.
        table.cache.set(table.idOf(key), { value: bytes, expiresAt, type: ROW_STRING, large: ref });
      }
      return bytes;
    },
  };
}

/**
 * Runs `fn` on the data dir's large-value files for `key`: any failure (no large/ directory,
 * I/O, a corrupt file) becomes a StorageError naming the shard, the key and what was being
 * done, so commands answer `ERR storage error` and the log says where.
 */
export function fileOp<T>(
  large: LargeFiles | null,
  shardIndex: number,
  key: KeyParam,
  doing: `${"reading" | "writing" | "linking" | "changing"} a large value`,
  fn: (large: LargeFiles) => T,
): T {
  try {
    if (large === null) throw new Error("large values are not enabled");
    return fn(large);
  } catch (error) {
    const op = doing.startsWith("reading") ? "read" : "write";
    throw storageError(error, ` ${doing}`, key, shardIndex, op);
  }
}

/** The whole value of a file (commands that cannot stream), within Uint8Array's bound. */
export function readWhole(large: LargeFiles, ref: LargeRef): Uint8Array {
  if (ref.size > LARGE_MATERIALIZE_BYTES_MAX)
    throw new Error(`a ${ref.size}-byte value cannot be read whole`);
  return large.readAll(ref);
}

function storageError(
  error: unknown,
  doing: string,
  key: KeyParam,
  shardIndex: number,
  op: "read" | "write",
): StorageError {
  return new StorageError(
    `${(error as Error).message}${doing} at key ${printableKey(key)}`,
    shardIndex,
    op,
    { cause: error },
  );
}

/** A key for log lines: at most 64 characters, control bytes escaped. */
export function printableKey(key: KeyParam): string {
  const text = typeof key === "string" ? key : Buffer.from(key).toString("latin1");
  const short = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return JSON.stringify(short);
}
