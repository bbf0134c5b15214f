/**
 * Where function libraries outlive the process, and the FUNCTION DUMP payload. The file
 * `functions.json` in the data dir holds every library's code (base64), replaced atomically
 * (write a temporary file, fsync, rename, fsync the directory) on every change, so a crash
 * leaves the old set or the new one, never half of either. The DUMP payload is our own
 * versioned format with a CRC32: it round-trips between Blobasaur servers (Redis's RDB
 * payload is not produced). Knows nothing of Lua.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { RespError } from "../errors.ts";

const FILE = "functions.json";
const FORMAT = 1;
const DUMP_MAGIC = "BLBFN";

export function readLibraries(dataDir: string): Uint8Array[] {
  const path = join(dataDir, FILE);
  if (!existsSync(path)) return [];
  let parsed: { format: number; libraries: string[] };
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(
      `${path} is damaged (${(error as Error).message}); restore it from a backup or FUNCTION DUMP`,
    );
  }
  if (parsed.format !== FORMAT) throw new Error(`${path}: unknown format ${parsed.format}`);
  return parsed.libraries.map((b64) => new Uint8Array(Buffer.from(b64, "base64")));
}

export function writeLibraries(dataDir: string, codes: readonly Uint8Array[]): void {
  const path = join(dataDir, FILE);
  const tmp = `${path}.tmp`;
  const text = JSON.stringify({
    format: FORMAT,
    libraries: codes.map((c) => Buffer.from(c).toString("base64")),
  });
  const fd = openSync(tmp, "w");
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dataDir, "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** FUNCTION DUMP: magic, format byte, JSON body, CRC32 of everything before it (4 bytes LE). */
export function dumpPayload(codes: readonly Uint8Array[]): Uint8Array {
  const body = Buffer.from(
    JSON.stringify(codes.map((c) => Buffer.from(c).toString("base64"))),
    "utf8",
  );
  const head = Buffer.concat([Buffer.from(DUMP_MAGIC), Buffer.from([FORMAT]), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(Bun.hash.crc32(head) >>> 0);
  return new Uint8Array(Buffer.concat([head, crc]));
}

export function parsePayload(payload: Uint8Array): Uint8Array[] {
  const bad = new RespError("ERR", "DUMP payload version or checksum are wrong");
  const buf = Buffer.from(payload);
  if (buf.length < DUMP_MAGIC.length + 5) throw bad;
  if (buf.subarray(0, DUMP_MAGIC.length).toString("latin1") !== DUMP_MAGIC) throw bad;
  if (buf[DUMP_MAGIC.length] !== FORMAT) throw bad;
  const head = buf.subarray(0, buf.length - 4);
  if (Bun.hash.crc32(head) >>> 0 !== buf.readUInt32LE(buf.length - 4)) throw bad;
  try {
    const list = JSON.parse(head.subarray(DUMP_MAGIC.length + 1).toString("utf8")) as string[];
    return list.map((b64) => new Uint8Array(Buffer.from(b64, "base64")));
  } catch {
    throw bad;
  }
}
