/**
 * Keyspace commands: DEL/UNLINK, EXISTS, the TTL family, TYPE, SCAN, KEYS, DBSIZE, FLUSHDB,
 * FLUSHALL, on keys of every type in the client's database (db.ts). An expired row is absent
 * for all of them: DEL never counts it and EXPIRE never revives it.
 */
import { errors } from "../../errors.ts";
import { OK, type Reply, simple } from "../../protocol/reply.ts";
import { type ExpiryMs, type Keyspace, keyParam, ROW_STRING } from "../../storage/api.ts";
import { equalsToken } from "../args.ts";
import { ks } from "../db.ts";
import {
  absoluteExpiry,
  conditionAllows,
  type ExpireUnit,
  parseExpireCondition,
  ttlReply,
} from "../expiry.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";
import { scanCommands } from "./scan.ts";

async function del(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const keyspace = ks(ctx);
  const keys = args.slice(1);
  const params = keys.map(keyParam);
  const counts: Promise<number>[] = [];
  for (const [shard, positions] of keyspace.groupByShard(keys)) {
    counts.push(
      keyspace.writeRows(shard, (table, now) => {
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

function exists(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const keyspace = ks(ctx);
  const now = keyspace.now();
  let n = 0;
  for (let i = 1; i < args.length; i++) {
    if (keyspace.tableFor(args[i]!).has(keyParam(args[i]!), now)) n++;
  }
  return n;
}

function expiryOf(keyspace: Keyspace, key: Uint8Array): ExpiryMs | null | undefined {
  return keyspace.tableFor(key).exactExpiry(keyParam(key), keyspace.now());
}

function ttlCommand(unit: ExpireUnit) {
  return (ctx: KeyCtx, args: Uint8Array[]): Reply => {
    const keyspace = ks(ctx);
    return ttlReply(expiryOf(keyspace, args[1]!), keyspace.now(), unit);
  };
}

function expireTimeCommand(unit: ExpireUnit) {
  return (ctx: KeyCtx, args: Uint8Array[]): Reply => {
    const at = expiryOf(ks(ctx), args[1]!);
    if (at === undefined) return -2;
    if (at === null) return -1;
    // Redis rounds to the nearest second here, with the same formula as TTL.
    if (typeof at === "bigint") return unit === "ms" ? at : (at + 500n) / 1000n;
    return unit === "ms" ? at : Math.floor((at + 500) / 1000);
  };
}

/** EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: flags first, then the time, as Redis checks them. */
function expireCommand(name: string, unit: ExpireUnit, relative: boolean) {
  return (ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> => {
    const keyspace = ks(ctx);
    const condition = parseExpireCondition(args, 3);
    const when = absoluteExpiry(args[2]!, unit, relative, keyspace.now(), name, false);
    const key = keyParam(args[1]!);
    return keyspace.write(args[1]!, (table, now) => {
      const entry = table.entry(key, now);
      if (entry === null) return 0;
      const current = entry.expiresAt === null ? null : (table.exactExpiry(key, now) ?? null);
      if (!conditionAllows(condition, current, when)) return 0;
      if (when <= now) table.remove(key, now);
      else table.setExpiry(key, when);
      return 1;
    });
  };
}

function persist(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const key = keyParam(args[1]!);
  return ks(ctx).write(args[1]!, (table, now) => {
    const entry = table.entry(key, now);
    if (entry === null || entry.expiresAt === null) return 0;
    table.setExpiry(key, null);
    return 1;
  });
}

function type(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const entry = ks(ctx).entry(args[1]!);
  if (entry === null) return simple("none");
  return simple(entry.type === ROW_STRING ? "string" : "hash");
}

function dbsize(ctx: KeyCtx): Reply {
  // Acknowledged async writes are committed first, so the count includes them.
  ctx.server.store.settle();
  const keyspace = ks(ctx);
  return keyspace.countKeys(keyspace.now());
}

function checkFlushArgs(args: Uint8Array[]): void {
  if (
    args.length > 2 ||
    (args.length === 2 && !equalsToken(args[1]!, "ASYNC") && !equalsToken(args[1]!, "SYNC"))
  ) {
    throw errors.syntax();
  }
}

/** FLUSHDB: the client's database only. */
async function flushdb(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  checkFlushArgs(args);
  await ks(ctx).clear();
  return OK;
}

/** FLUSHALL: every database. */
async function flushall(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  checkFlushArgs(args);
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
    acl: ["@keyspace", "@dangerous"],
    arity: -1,
    flags: ["write"],
    keys: null,
    group: "server",
    since: "1.0.0",
    summary: "Removes all keys from the current database.",
    syntax: "[ASYNC | SYNC]",
    handler: flushdb,
  },
  {
    name: "flushall",
    acl: ["@keyspace", "@dangerous"],
    arity: -1,
    flags: ["write"],
    keys: null,
    group: "server",
    since: "1.0.0",
    summary: "Removes all keys from all databases.",
    syntax: "[ASYNC | SYNC]",
    handler: flushall,
  },
];
