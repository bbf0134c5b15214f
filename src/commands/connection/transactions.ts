/**
 * MULTI / EXEC / DISCARD / WATCH / UNWATCH with Redis's queuing, error and abort rules.
 * Queuing itself happens in server/connection.ts (a queued command is checked for existence
 * and arity, then answered +QUEUED); EXEC hands the queue to ServerContext.runTransaction,
 * which runs it with no other client's command interleaved and commits its writes together
 * on each shard they touch.
 */
import { RespError } from "../../errors.ts";
import { NULL_ARRAY, OK, type Reply } from "../../protocol/reply.ts";
import { ks } from "../db.ts";
import type { RowDefaults } from "../rows.ts";
import type { CommandSpec, Ctx } from "../spec.ts";

function multi(ctx: Ctx): Reply {
  if (ctx.client.tx) throw new RespError("ERR", "MULTI calls can not be nested");
  ctx.client.tx = { queued: [], failed: false };
  return OK;
}

function discard(ctx: Ctx): Reply {
  if (!ctx.client.tx) throw new RespError("ERR", "DISCARD without MULTI");
  ctx.client.tx = null;
  ctx.server.store.watches.unwatchAll(ctx.client.watcher);
  return OK;
}

async function exec(ctx: Ctx): Promise<Reply> {
  const tx = ctx.client.tx;
  if (!tx) throw new RespError("ERR", "EXEC without MULTI");
  ctx.client.tx = null;
  const watcher = ctx.client.watcher;
  const dirty = watcher.dirty;
  ctx.server.store.watches.unwatchAll(watcher);
  if (tx.failed)
    throw new RespError("EXECABORT", "Transaction discarded because of previous errors.");
  if (dirty) return NULL_ARRAY;
  return await ctx.server.runTransaction(ctx, tx.queued);
}

function watch(ctx: Ctx, args: Uint8Array[]): Reply {
  if (ctx.client.tx) throw new RespError("ERR", "WATCH inside MULTI is not allowed");
  const watches = ctx.server.store.watches;
  const keyspace = ks(ctx);
  // The WATCH id carries the database, as the writes that touch it do.
  for (let i = 1; i < args.length; i++)
    watches.watch(keyspace.watchId(args[i]!), ctx.client.watcher);
  return OK;
}

function unwatch(ctx: Ctx): Reply {
  ctx.server.store.watches.unwatchAll(ctx.client.watcher);
  return OK;
}

const defaults = {
  flags: ["noscript", "loading", "stale", "fast", "allow_busy"],
  group: "transactions",
} as const;
const multiRow: RowDefaults = { ...defaults, since: "1.2.0", keys: null };
const watchRow: RowDefaults = { ...defaults, since: "2.2.0", keys: null };
// EXEC is neither fast nor allowed while a script is busy, and the slow log skips it (its
// commands are logged on their own), as in Redis's table.
const execRow: RowDefaults = {
  flags: ["noscript", "loading", "stale", "skip_slowlog"],
  group: "transactions",
  since: "1.2.0",
  keys: null,
};

export const transactionCommands: CommandSpec[] = [
  {
    ...multiRow,
    name: "multi",
    arity: 1,
    summary: "Starts a transaction.",
    syntax: "",
    handler: multi,
    multi: "runs",
  },
  {
    ...execRow,
    name: "exec",
    arity: 1,
    summary: "Executes all commands in a transaction.",
    syntax: "",
    handler: exec,
    multi: "exec",
  },
  {
    ...multiRow,
    name: "discard",
    arity: 1,
    summary: "Discards a transaction.",
    syntax: "",
    handler: discard,
    multi: "runs",
  },
  {
    multi: "runs",
    ...watchRow,
    name: "watch",
    arity: -2,
    summary: "Monitors changes to keys to determine the execution of a transaction.",
    syntax: "key [key ...]",
    handler: watch,
    keys: { first: 1, last: -1, step: 1 },
  },
  {
    ...watchRow,
    name: "unwatch",
    arity: 1,
    summary: "Forgets about watched keys of a transaction.",
    syntax: "",
    handler: unwatch,
  },
];
