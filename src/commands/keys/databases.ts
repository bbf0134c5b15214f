/**
 * Redis databases (SELECT n): parsing a database index the way Redis does, and MOVE. Every
 * database has its own tables in every shard file, and a key lives on the same shard in every
 * database (routing looks at the key only), so MOVE is a single-shard transaction.
 */
import { errors, RespError } from "../../errors.ts";
import { OK, type Reply } from "../../protocol/reply.ts";
import { keyParam, moveKey } from "../../storage/api.ts";
import { parseInt64 } from "../args.ts";
import { ks } from "../db.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";

const INT32_MIN = -2147483648n;
const INT32_MAX = 2147483647n;

/**
 * A database index argument, checked as Redis's getIntFromObjectOrReply then selectDb do:
 * not an integer, outside 32 bits, then outside 0..databases-1, each with Redis's text.
 */
export function dbIndex(ctx: KeyCtx, arg: Uint8Array): number {
  const n = int32(arg);
  if (n < 0 || n >= ctx.server.store.databases) {
    throw new RespError("ERR", "DB index is out of range");
  }
  return n;
}

/** Redis's getIntFromObjectOrReply with its two error texts. */
export function int32(arg: Uint8Array): number {
  const n = parseInt64(arg);
  if (n === null) throw errors.notInteger();
  if (n < INT32_MIN || n > INT32_MAX) {
    throw new RespError(
      "ERR",
      "value is out of range, value must between -2147483648 and 2147483647",
    );
  }
  return Number(n);
}

export function sameObjectError(): RespError {
  return new RespError("ERR", "source and destination objects are the same");
}

/**
 * SWAPDB index1 index2: the two databases trade contents (Store.swapDatabases); clients stay
 * on their index and see the other contents, as in Redis.
 */
async function swapdb(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  if (ctx.server.config.cluster.enabled)
    throw new RespError("ERR", "SWAPDB is not allowed in cluster mode");
  const a = intOr(args[1]!, "invalid first DB index");
  const b = intOr(args[2]!, "invalid second DB index");
  const databases = ctx.server.store.databases;
  if (a < 0 || a >= databases || b < 0 || b >= databases)
    throw new RespError("ERR", "DB index is out of range");
  await ctx.server.store.swapDatabases(a, b);
  return OK;
}

/** Redis's getIntFromObjectOrReply with a caller's message: not a 32-bit integer → `message`. */
function intOr(arg: Uint8Array, message: string): number {
  const n = parseInt64(arg);
  if (n === null || n < INT32_MIN || n > INT32_MAX) throw new RespError("ERR", message);
  return Number(n);
}

/** MOVE key db: 1 when moved; 0 when the key is missing here or already exists there. */
function move(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  if (ctx.server.config.cluster.enabled)
    throw new RespError("ERR", "MOVE is not allowed in cluster mode");
  const db = dbIndex(ctx, args[2]!);
  if (db === ctx.client.db) throw sameObjectError();
  const source = ks(ctx);
  const target = ctx.server.store.keyspace(db);
  const shard = source.shardOf(args[1]!);
  const key = keyParam(args[1]!);
  return source.writeTable(shard, (from, now) => {
    const entry = from.entry(key, now);
    if (entry === null) return 0;
    const to = target.rowsOf(shard);
    if (to.has(key, now)) return 0;
    moveKey(from, key, entry, to, key, now);
    source.encodingMarks.copyTo(args[1]!, target.encodingMarks, args[1]!, true);
    return 1;
  });
}

export const databaseCommands: CommandSpec[] = [
  {
    name: "move",
    arity: 3,
    flags: ["write", "fast"],
    keys: { first: 1, last: 1, step: 1 },
    group: "generic",
    since: "1.0.0",
    summary: "Moves a key to another database.",
    syntax: "key db",
    handler: move,
  },
  {
    name: "swapdb",
    arity: 3,
    flags: ["write", "fast"],
    keys: null,
    group: "server",
    since: "4.0.0",
    summary: "Swaps two Redis databases.",
    syntax: "index1 index2",
    handler: swapdb,
    acl: ["@keyspace", "@dangerous"],
  },
];
