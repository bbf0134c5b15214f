/**
 * What a key is and how it is kept: TOUCH, OBJECT (ENCODING, FREQ, IDLETIME, REFCOUNT, HELP),
 * and the durability waits WAIT and WAITAOF, for keys of every type.
 */
import { errors, RespError } from "../../errors.ts";
import { type Reply, simple } from "../../protocol/reply.ts";
import { keyParam, ROW_HASH_INLINE, ROW_HASH_TABLE, ROW_STRING } from "../../storage/api.ts";
import { parseInt64 } from "../args.ts";
import { ks } from "../db.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";

/** TOUCH: counts the keys that exist (a repeated key counts each time). Nothing else to do: no access times are kept. */
function touch(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const keys = ks(ctx);
  const now = keys.now();
  let n = 0;
  for (let i = 1; i < args.length; i++)
    if (keys.tableFor(args[i]!).has(keyParam(args[i]!), now)) n++;
  return n;
}

/** Redis keeps integers 0..9999 as shared objects; OBJECT REFCOUNT reports those as INT_MAX. */
const SHARED_INTEGERS = 10000n;
/** Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT. */
const EMBSTR_BYTES_MAX = 44;

function integerValue(value: Uint8Array): bigint | null {
  return value.length <= 20 ? parseInt64(value) : null;
}

function objectEncoding(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const keys = ks(ctx);
  const entry = keys.entry(args[2]!);
  if (entry === null) return null;
  if (entry.type === ROW_HASH_INLINE) return "listpack";
  if (entry.type === ROW_HASH_TABLE) return "hashtable";
  // APPEND, SETRANGE and INCRBYFLOAT leave encodings the bytes alone do not tell.
  const forced = keys.encodingMarks.of(args[2]!, entry.value);
  if (forced !== null) return forced;
  if (integerValue(entry.value) !== null) return "int";
  return entry.value.length <= EMBSTR_BYTES_MAX ? "embstr" : "raw";
}

function objectRefcount(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const keys = ks(ctx);
  const entry = keys.entry(args[2]!);
  if (entry === null) return null;
  if (entry.type !== ROW_STRING) return 1;
  // Only an int-encoded value can be a shared integer (not APPEND's or INCRBYFLOAT's "5").
  if (keys.encodingMarks.of(args[2]!, entry.value) !== null) return 1;
  const n = integerValue(entry.value);
  return n !== null && n >= 0n && n < SHARED_INTEGERS ? 2147483647 : 1;
}

function objectIdletime(ctx: KeyCtx, args: Uint8Array[]): Reply {
  return ks(ctx).entry(args[2]!) === null ? null : 0;
}

function objectFreq(ctx: KeyCtx, args: Uint8Array[]): Reply {
  if (ks(ctx).entry(args[2]!) === null) return null;
  throw new RespError(
    "ERR",
    "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
  );
}

const objectHelp = [
  "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "ENCODING <key>",
  "    Return the kind of internal representation used in order to store the value",
  "    associated with a <key>.",
  "FREQ <key>",
  "    Return the access frequency index of the <key>. The returned integer is",
  "    proportional to the logarithm of the recent access frequency of the key.",
  "IDLETIME <key>",
  "    Return the idle time of the <key>, that is the approximated number of",
  "    seconds elapsed since the last access to the key.",
  "REFCOUNT <key>",
  "    Return the number of references of the value associated with the specified",
  "    <key>.",
  "HELP",
  "    Prints this help.",
];

/** WAIT numreplicas timeout: there are no replicas, so 0 at once (Redis would block until the timeout when asked for more). */
function wait(_ctx: unknown, args: Uint8Array[]): Reply {
  if (parseInt64(args[1]!) === null) throw errors.notInteger();
  parseTimeout(args[2]!);
  return 0;
}

/** Redis's getTimeoutFromObjectOrReply for millisecond timeouts. */
function parseTimeout(arg: Uint8Array): void {
  const t = parseInt64(arg);
  if (t === null) throw new RespError("ERR", "timeout is not an integer or out of range");
  if (t < 0n) throw new RespError("ERR", "timeout is negative");
}

/**
 * WAITAOF numlocal numreplicas timeout. Our "AOF" is the shards' SQLite WAL: with
 * `sqlite.synchronous = FULL` every acknowledged write was fsynced at COMMIT, so the local
 * count is 1 once every write queued before this command has committed (with async_write,
 * after waiting for them). Under NORMAL or OFF a commit is not fsynced, so — like Redis with
 * appendonly off — the local count is 0 and asking for numlocal 1 is an error. There are no
 * replicas: their count is 0 at once.
 */
async function waitaof(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const numlocal = parseInt64(args[1]!);
  if (numlocal === null) throw errors.notInteger();
  if (numlocal < 0n || numlocal > 1n)
    throw new RespError("ERR", "value is out of range, value must between 0 and 1");
  const replicas = parseInt64(args[2]!);
  if (replicas === null || replicas < 0n)
    throw new RespError("ERR", "value is out of range, must be positive");
  parseTimeout(args[3]!);
  const store = ctx.server.store;
  const durable = ctx.server.config.sqlite.synchronous === "FULL";
  if (!durable) {
    if (numlocal === 1n) {
      throw new RespError(
        "ERR",
        "WAITAOF cannot be used when numlocal is set but sqlite.synchronous is not FULL (commits are not fsynced).",
      );
    }
    return [0, 0];
  }
  // An empty operation on every shard resolves after everything queued before it committed.
  if (store.asyncWrite)
    await Promise.all(store.shards.map((_shard, i) => store.writeShard(i, () => undefined)));
  return [1, 0];
}

const OBJECT_KEY = { first: 2, last: 2, step: 1 } as const;

const objectSub = (
  name: string,
  summary: string,
  handler: CommandSpec["handler"],
): CommandSpec => ({
  name: `object|${name}`,
  arity: 3,
  flags: ["readonly"],
  keys: OBJECT_KEY,
  quietLookup: true,
  group: "generic",
  since: "2.2.3",
  summary,
  syntax: "key",
  handler,
});

const objectCommands: CommandSpec[] = [
  objectSub(
    "encoding",
    "Returns the internal encoding Redis would report: for a string int for a 64-bit integer, embstr up to 44 bytes, else raw, and raw after APPEND or SETRANGE, embstr after INCRBYFLOAT, as in Redis; for a hash listpack or hashtable.",
    objectEncoding,
  ),
  objectSub(
    "freq",
    "Returns the logarithmic access frequency counter; always an error here, as under Redis's default noeviction policy (no LFU policy, access frequency not tracked).",
    objectFreq,
  ),
  objectSub(
    "idletime",
    "Returns the time since the last access to a key; always 0 here, because access times are not tracked.",
    objectIdletime,
  ),
  objectSub(
    "refcount",
    "Returns the reference count Redis would report: 2147483647 for the shared integers 0..9999, else 1.",
    objectRefcount,
  ),
  {
    name: "object|help",
    arity: 2,
    flags: ["loading", "stale"],
    keys: null,
    group: "generic",
    since: "6.2.0",
    summary: "Returns helpful text about the different subcommands.",
    syntax: "",
    handler: () => objectHelp.map((line) => simple(line)),
  },
];

export const objectKeyCommands: CommandSpec[] = [
  {
    name: "touch",
    arity: -2,
    flags: ["readonly", "fast"],
    keys: { first: 1, last: -1, step: 1 },
    group: "generic",
    since: "3.2.1",
    summary:
      "Returns the number of existing keys out of those specified (no access times are kept).",
    syntax: "key [key ...]",
    handler: touch,
  },
  {
    name: "object",
    arity: -2,
    flags: [],
    keys: null,
    group: "generic",
    since: "2.2.3",
    summary: "A container for object introspection commands.",
    syntax: "<subcommand> [arguments]",
    subcommands: objectCommands,
  },
  {
    name: "wait",
    arity: 3,
    flags: ["noscript"],
    keys: null,
    group: "generic",
    since: "3.0.0",
    summary:
      "Waits for replicas to acknowledge writes; there are no replicas, so it answers 0 at once.",
    syntax: "numreplicas timeout",
    handler: wait,
  },
  {
    name: "waitaof",
    arity: 4,
    flags: [],
    keys: null,
    group: "generic",
    since: "7.2.0",
    summary:
      "Waits for writes to be fsynced locally: [1, 0] with sqlite.synchronous = FULL, [0, 0] otherwise (no replicas).",
    syntax: "numlocal numreplicas timeout",
    handler: waitaof,
  },
];
