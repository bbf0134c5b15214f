/**
 * Keyspace commands: DEL/UNLINK, EXISTS, the TTL family, TYPE, SCAN, KEYS, DBSIZE, FLUSHDB,
 * FLUSHALL. An expired row is absent for all of them: DEL never counts it and EXPIRE never
 * revives it.
 */
import { errors } from "../errors.ts";
import { OK, type Reply, simple } from "../protocol/reply.ts";
import { keyParam } from "../storage/keys.ts";
import type { ExpiryMs } from "../storage/shard.ts";
import type { Store } from "../storage/store.ts";
import { equalsToken } from "./args.ts";
import {
  absoluteExpiry,
  conditionAllows,
  type ExpireUnit,
  parseExpireCondition,
  ttlReply,
} from "./expiry.ts";
import { scanCommands } from "./scan.ts";
import type { CommandSpec, Ctx } from "./spec.ts";

async function del(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const store = ctx.server.store;
  const keys = args.slice(1);
  const params = keys.map(keyParam);
  const counts: Promise<number>[] = [];
  for (const [shard, positions] of store.groupByShard(keys)) {
    counts.push(
      store.writeRows(shard, (table, now) => {
        let n = 0;
        for (const p of positions) if (table.remove(params[p]!, now)) n++;
        return n;
      }),
    );
  }
  let total = 0;
  for (const n of await Promise.all(counts)) total += n;
  return total;
}

function exists(ctx: Ctx, args: Uint8Array[]): Reply {
  const store = ctx.server.store;
  const now = store.now();
  let n = 0;
  for (let i = 1; i < args.length; i++) {
    if (store.tableFor(args[i]!).has(keyParam(args[i]!), now)) n++;
  }
  return n;
}

function expiryOf(store: Store, key: Uint8Array): ExpiryMs | null | undefined {
  return store.tableFor(key).exactExpiry(keyParam(key), store.now());
}

function ttlCommand(unit: ExpireUnit) {
  return (ctx: Ctx, args: Uint8Array[]): Reply => {
    const store = ctx.server.store;
    return ttlReply(expiryOf(store, args[1]!), store.now(), unit);
  };
}

function expireTimeCommand(unit: ExpireUnit) {
  return (ctx: Ctx, args: Uint8Array[]): Reply => {
    const at = expiryOf(ctx.server.store, args[1]!);
    if (at === undefined) return -2;
    if (at === null) return -1;
    // Redis rounds to the nearest second here, with the same formula as TTL.
    if (typeof at === "bigint") return unit === "ms" ? at : (at + 500n) / 1000n;
    return unit === "ms" ? at : Math.floor((at + 500) / 1000);
  };
}

/** EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: flags first, then the time, as Redis checks them. */
function expireCommand(name: string, unit: ExpireUnit, relative: boolean) {
  return (ctx: Ctx, args: Uint8Array[]): Promise<Reply> => {
    const store = ctx.server.store;
    const condition = parseExpireCondition(args, 3);
    const when = absoluteExpiry(args[2]!, unit, relative, store.now(), name, false);
    const key = keyParam(args[1]!);
    return store.write(args[1]!, (table, now) => {
      const entry = table.live(key, now);
      if (entry === null) return 0;
      if (!conditionAllows(condition, entry.expiresAt, when)) return 0;
      if (when <= now) table.remove(key, now);
      else table.setExpiry(key, when);
      return 1;
    });
  };
}

function persist(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  const key = keyParam(args[1]!);
  return ctx.server.store.write(args[1]!, (table, now) => {
    const entry = table.live(key, now);
    if (entry === null || entry.expiresAt === null) return 0;
    table.setExpiry(key, null);
    return 1;
  });
}

function type(ctx: Ctx, args: Uint8Array[]): Reply {
  return simple(ctx.server.store.get(args[1]!) ? "string" : "none");
}

function dbsize(ctx: Ctx): Reply {
  const store = ctx.server.store;
  store.settle();
  const now = store.now();
  let n = 0;
  for (const shard of store.shards) n += shard.blobs.countLiveStmt.get(now)!.n;
  return n;
}

async function flush(ctx: Ctx, args: Uint8Array[]): Promise<Reply> {
  if (
    args.length > 2 ||
    (args.length === 2 && !equalsToken(args[1]!, "ASYNC") && !equalsToken(args[1]!, "SYNC"))
  ) {
    throw errors.syntax();
  }
  await ctx.server.store.clear();
  return OK;
}

const K1 = { first: 1, last: 1, step: 1 } as const;
const KALL = { first: 1, last: -1, step: 1 } as const;
const ttlFlags = ["readonly", "fast"] as const;
const expireRow = (
  name: string,
  unit: ExpireUnit,
  relative: boolean,
  since: string,
  what: string,
  arg: string,
): CommandSpec => ({
  name,
  arity: -3,
  flags: ["write", "fast"],
  keys: K1,
  group: "generic",
  since,
  summary: what,
  syntax: `key ${arg} [NX | XX | GT | LT]`,
  handler: expireCommand(name, unit, relative),
});

export const genericCommands: CommandSpec[] = [
  ...scanCommands,
  {
    name: "del",
    arity: -2,
    flags: ["write"],
    keys: KALL,
    group: "generic",
    since: "1.0.0",
    summary: "Deletes one or more keys.",
    syntax: "key [key ...]",
    handler: del,
  },
  {
    name: "unlink",
    arity: -2,
    flags: ["write", "fast"],
    keys: KALL,
    group: "generic",
    since: "4.0.0",
    summary: "Deletes one or more keys (the same as DEL here: deletion never blocks).",
    syntax: "key [key ...]",
    handler: del,
  },
  {
    name: "exists",
    arity: -2,
    flags: ["readonly", "fast"],
    keys: KALL,
    group: "generic",
    since: "1.0.0",
    summary: "Determines whether one or more keys exist.",
    syntax: "key [key ...]",
    handler: exists,
  },
  {
    name: "ttl",
    arity: 2,
    flags: ttlFlags,
    keys: K1,
    group: "generic",
    since: "1.0.0",
    summary: "Returns the expiration time in seconds of a key.",
    syntax: "key",
    handler: ttlCommand("s"),
  },
  {
    name: "pttl",
    arity: 2,
    flags: ttlFlags,
    keys: K1,
    group: "generic",
    since: "2.6.0",
    summary: "Returns the expiration time in milliseconds of a key.",
    syntax: "key",
    handler: ttlCommand("ms"),
  },
  {
    name: "expiretime",
    arity: 2,
    flags: ttlFlags,
    keys: K1,
    group: "generic",
    since: "7.0.0",
    summary: "Returns the expiration time of a key as a Unix timestamp.",
    syntax: "key",
    handler: expireTimeCommand("s"),
  },
  {
    name: "pexpiretime",
    arity: 2,
    flags: ttlFlags,
    keys: K1,
    group: "generic",
    since: "7.0.0",
    summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.",
    syntax: "key",
    handler: expireTimeCommand("ms"),
  },
  expireRow(
    "expire",
    "s",
    true,
    "1.0.0",
    "Sets the expiration time of a key in seconds.",
    "seconds",
  ),
  expireRow(
    "pexpire",
    "ms",
    true,
    "2.6.0",
    "Sets the expiration time of a key in milliseconds.",
    "milliseconds",
  ),
  expireRow(
    "expireat",
    "s",
    false,
    "1.2.0",
    "Sets the expiration time of a key to a Unix timestamp.",
    "unix-time-seconds",
  ),
  expireRow(
    "pexpireat",
    "ms",
    false,
    "2.6.0",
    "Sets the expiration time of a key to a Unix milliseconds timestamp.",
    "unix-time-milliseconds",
  ),
  {
    name: "persist",
    arity: 2,
    flags: ["write", "fast"],
    keys: K1,
    group: "generic",
    since: "2.2.0",
    summary: "Removes the expiration time of a key.",
    syntax: "key",
    handler: persist,
  },
  {
    name: "type",
    arity: 2,
    flags: ["readonly", "fast"],
    keys: K1,
    group: "generic",
    since: "1.0.0",
    summary: "Determines the type of value stored at a key.",
    syntax: "key",
    handler: type,
  },
  {
    name: "dbsize",
    arity: 1,
    flags: ["readonly", "fast"],
    keys: null,
    group: "server",
    since: "1.0.0",
    summary: "Returns the number of keys in the database.",
    syntax: "",
    handler: dbsize,
  },
  {
    name: "flushdb",
    arity: -1,
    flags: ["write"],
    keys: null,
    group: "server",
    since: "1.0.0",
    summary: "Removes all keys from the current database.",
    syntax: "[ASYNC | SYNC]",
    handler: flush,
  },
  {
    name: "flushall",
    arity: -1,
    flags: ["write"],
    keys: null,
    group: "server",
    since: "1.0.0",
    summary: "Removes all keys from all databases.",
    syntax: "[ASYNC | SYNC]",
    handler: flush,
  },
];
