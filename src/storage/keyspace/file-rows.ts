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

/** The whole value of a file row. */
export function readFileValue(
  large: LargeFiles | null,
  shardIndex: number,
  key: KeyParam,
  ref: LargeRef,
): Uint8Array {
  try {
    if (large === null) throw new Error("large values are not enabled");
    if (ref.size > LARGE_MATERIALIZE_BYTES_MAX)
      throw new Error(`a ${ref.size}-byte value cannot be read whole`);
    const file = large.open(ref);
    try {
      return file.readAll();
    } finally {
      file.close();
    }
  } catch (error) {
    throw storageError(error, "", key, shardIndex, "read");
  }
}

/** A hard link of a file row's file under a new name (LargeFiles.link). */
export function linkFileValue(
  large: LargeFiles | null,
  shardIndex: number,
  key: KeyParam,
  ref: LargeRef,
): LargeRef {
  try {
    if (large === null) throw new Error("large values are not enabled");
    return large.link(ref);
  } catch (error) {
    throw storageError(error, " linking a large value", key, shardIndex, "write");
  }
}

/** A file row's value with `patch` at `offset`, as a new durable file (LargeFiles.patch). */
export function patchFileValue(
  large: LargeFiles | null,
  shardIndex: number,
  key: KeyParam,
  ref: LargeRef,
  offset: number,
  patch: Uint8Array,
): LargeRef {
  try {
    if (large === null) throw new Error("large values are not enabled");
    return large.patch(ref, offset, patch);
  } catch (error) {
    throw storageError(error, " changing a large value", key, shardIndex, "write");
  }
}

/** Writes a whole value into a new durable file and returns its reference. */
export function writeFileValue(
  large: LargeFiles,
  shardIndex: number,
  key: KeyParam,
  value: Uint8Array,
): LargeRef {
  try {
    return large.writeWhole(value);
  } catch (error) {
    throw storageError(error, " writing a large value", key, shardIndex, "write");
  }
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
