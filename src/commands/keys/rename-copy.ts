/**
 * RENAME, RENAMENX and COPY for keys of every type (MOVE is databases.ts). Each decides and
 * writes inside one multi-shard operation (Keyspace.writeMany): the existence checks run in
 * the same transactions as the writes, after every write queued before them on either shard,
 * so they are race-free, and all shards commit in one synchronous pass, so no client sees a
 * half-done rename. TTLs follow Redis: RENAME moves the source's, COPY copies it.
 */
import { errors, RespError } from "../../errors.ts";
import { OK, type Reply } from "../../protocol/reply.ts";
import { copyKey, keyParam, moveKey } from "../../storage/api.ts";
import { equalsToken } from "../args.ts";
import { ks } from "../db.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";
import { databaseCommands, dbIndex, sameObjectError } from "./databases.ts";

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * RENAME and RENAMENX, for keys of any type (storage's key-moves.ts moves a large hash in place when
 * both names live on one shard). The shards commit one after the other, so a crash between
 * the two commits applies only one side: with the destination committed first the value
 * survives under both names, with the source first it is lost. The destination's shard is
 * listed first for that reason; writeMany commits in the order given.
 */
function renameCommand(nx: boolean) {
  return (ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> => {
    const keys = ks(ctx);
    const src = args[1]!;
    const dst = args[2]!;
    const same = sameBytes(src, dst);
    const srcShard = keys.shardOf(src);
    const dstShard = keys.shardOf(dst);
    const srcKey = keyParam(src);
    const dstKey = keyParam(dst);
    return keys.writeMany([dstShard, srcShard], (tables, now): Reply => {
      const from = tables[srcShard]!;
      const to = tables[dstShard]!;
      const entry = from.entry(srcKey, now);
      if (entry === null) throw new RespError("ERR", "no such key");
      if (same) return nx ? 0 : OK;
      if (nx && to.has(dstKey, now)) return 0;
      moveKey(from, srcKey, entry, to, dstKey, now);
      keys.encodingMarks.copyTo(src, keys.encodingMarks, dst, true);
      return nx ? 1 : OK;
    });
  };
}

/** COPY source destination [DB destination-db] [REPLACE], for keys of any type. */
function copy(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> | Reply {
  let replace = false;
  let db = ctx.client.db;
  for (let i = 3; i < args.length; i++) {
    const a = args[i]!;
    if (equalsToken(a, "REPLACE")) replace = true;
    else if (equalsToken(a, "DB") && i + 1 < args.length) db = dbIndex(ctx, args[++i]!);
    else throw errors.syntax();
  }
  if (ctx.server.config.cluster.enabled && (db !== 0 || ctx.client.db !== 0))
    throw new RespError("ERR", "Copying to another database is not allowed in cluster mode");
  const src = args[1]!;
  const dst = args[2]!;
  if (db === ctx.client.db && sameBytes(src, dst)) throw sameObjectError();
  const keys = ks(ctx);
  const target = ctx.server.store.keyspace(db);
  const srcShard = keys.shardOf(src);
  const dstShard = keys.shardOf(dst);
  const srcKey = keyParam(src);
  const dstKey = keyParam(dst);
  return keys.writeMany([dstShard, srcShard], (tables, now) => {
    const from = tables[srcShard]!;
    const entry = from.entry(srcKey, now);
    if (entry === null) return 0;
    const to = target.rowsOf(dstShard);
    if (!replace && to.has(dstKey, now)) return 0;
    copyKey(from, srcKey, entry, to, dstKey, now);
    keys.encodingMarks.copyTo(src, target.encodingMarks, dst, false);
    return 1;
  });
}

const K12 = { first: 1, last: 2, step: 1 } as const;

export const renameCopyCommands: CommandSpec[] = [
  ...databaseCommands,
  {
    name: "rename",
    arity: 3,
    flags: ["write"],
    keys: K12,
    group: "generic",
    since: "1.0.0",
    summary:
      "Renames a key and overwrites the destination, keeping the source's TTL (atomic across shards).",
    syntax: "key newkey",
    handler: renameCommand(false),
  },
  {
    name: "renamenx",
    arity: 3,
    flags: ["write", "fast"],
    keys: K12,
    group: "generic",
    since: "1.0.0",
    summary:
      "Renames a key only when the target key name doesn't exist, keeping the source's TTL (atomic across shards).",
    syntax: "key newkey",
    handler: renameCommand(true),
  },
  {
    name: "copy",
    arity: -3,
    flags: ["write", "denyoom"],
    keys: K12,
    group: "generic",
    since: "6.2.0",
    summary: "Copies the value of a key and its TTL to a new key, in this or another database.",
    syntax: "source destination [DB destination-db] [REPLACE]",
    handler: copy,
  },
];
