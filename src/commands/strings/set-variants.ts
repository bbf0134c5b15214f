/**
 * The SET variants Redis keeps beside SET, on the client's database (db.ts): SETNX, SETEX,
 * PSETEX, GETSET, GETDEL, GETEX and MSETNX. Each handler parses every argument first, then
 * runs inside the shard writer's closure, so read-then-write is atomic. SETNX and MSETNX only
 * test existence; SETEX, PSETEX and GETSET replace a key of any type and its TTL; GETSET,
 * GETDEL and GETEX read the old value as a string (WRONGTYPE for a hash, from RowTable.live).
 */

import { errors } from "../../errors.ts";
import { OK, type Reply } from "../../protocol/reply.ts";
import { keyParam } from "../../storage/api.ts";
import { equalsToken } from "../args.ts";
import { ks } from "../db.ts";
import { absoluteExpiry, type ExpireUnit, type ExpiryOption, expiryOption } from "../expiry.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";

function setnx(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const key = keyParam(args[1]!);
  const value = args[2]!;
  return ks(ctx).write(args[1]!, (table, now) => {
    if (table.has(key, now)) return 0;
    table.put(key, value, now, null);
    ks(ctx).encodingMarks.clear(args[1]!);
    return 1;
  });
}

/** SETEX key seconds value / PSETEX key milliseconds value. */
function setexCommand(name: string, unit: ExpireUnit) {
  return (ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> => {
    const store = ks(ctx);
    const expiresAt = absoluteExpiry(args[2]!, unit, true, store.now(), name, true);
    const key = keyParam(args[1]!);
    const value = args[3]!;
    return store.write(args[1]!, (table, now) => {
      table.put(key, value, now, expiresAt);
      store.encodingMarks.clear(args[1]!);
      return OK;
    });
  };
}

function getset(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const key = keyParam(args[1]!);
  const value = args[2]!;
  return ks(ctx).write(args[1]!, (table, now) => {
    const old = table.live(key, now);
    table.put(key, value, now, null);
    ks(ctx).encodingMarks.clear(args[1]!);
    return old?.value ?? null;
  });
}

function getdel(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const key = keyParam(args[1]!);
  return ks(ctx).write(args[1]!, (table, now) => {
    const old = table.live(key, now);
    if (old === null) return null;
    table.remove(key, now);
    return old.value;
  });
}

type GetexAction =
  | { kind: "none" }
  | { kind: "persist" }
  | { kind: "expire"; raw: Uint8Array; unit: ExpireUnit; relative: boolean };

/**
 * GETEX's options as Redis's parseExtendedStringArgumentsOrReply reads them: one of EX, PX,
 * EXAT, PXAT (the same one may repeat, the last value wins) or PERSIST; anything else, a
 * missing value or two different kinds is a syntax error. The time itself is checked only
 * once the key is found, as Redis does (GETEX missing EX 0 is a nil, not an error).
 */
function parseGetex(args: Uint8Array[]): GetexAction {
  let kind: ExpiryOption | null = null;
  let raw: Uint8Array | null = null;
  let persist = false;
  for (let i = 2; i < args.length; i++) {
    const a = args[i]!;
    const hasNext = i + 1 < args.length;
    if (equalsToken(a, "PERSIST") && kind === null) {
      persist = true;
      continue;
    }
    const k = expiryOption(a);
    if (!k || !hasNext || persist || (kind !== null && kind !== k)) throw errors.syntax();
    kind = k;
    raw = args[++i]!;
  }
  if (kind !== null && raw !== null) {
    return { kind: "expire", raw, unit: kind.unit, relative: kind.relative };
  }
  return persist ? { kind: "persist" } : { kind: "none" };
}

function getex(ctx: KeyCtx, args: Uint8Array[]): Reply | Promise<Reply> {
  const store = ks(ctx);
  const action = parseGetex(args);
  if (action.kind === "none") return store.get(args[1]!)?.value ?? null;
  const key = keyParam(args[1]!);
  return store.write(args[1]!, (table, now) => {
    const entry = table.live(key, now);
    if (entry === null) return null;
    if (action.kind === "persist") {
      if (entry.expiresAt !== null) table.setExpiry(key, null);
      return entry.value;
    }
    const at = absoluteExpiry(action.raw, action.unit, action.relative, now, "getex", true);
    if (at <= now) table.remove(key, now);
    else table.setExpiry(key, at);
    return entry.value;
  });
}

/**
 * MSETNX: sets every key only when none of them exists. The check and the writes run in one
 * multi-shard operation (Keyspace.writeMany), inside every involved shard's transaction, so no
 * write can slip in between them; readers never see some keys set and others not.
 */
function msetnx(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  if (args.length % 2 === 0) throw errors.wrongArity("msetnx");
  const store = ks(ctx);
  const keys: Uint8Array[] = [];
  for (let i = 1; i < args.length; i += 2) keys.push(args[i]!);
  const params = keys.map(keyParam);
  const shards = keys.map((k) => store.shardOf(k));
  return store.writeMany(shards, (tables, now) => {
    for (let i = 0; i < params.length; i++) if (tables[shards[i]!]!.has(params[i]!, now)) return 0;
    for (let i = 0; i < params.length; i++) {
      tables[shards[i]!]!.put(params[i]!, args[2 * i + 2]!, now, null);
      store.encodingMarks.clear(keys[i]!);
    }
    return 1;
  });
}

const K1 = { first: 1, last: 1, step: 1 } as const;

export const setVariantCommands: CommandSpec[] = [
  {
    name: "setnx",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: K1,
    group: "string",
    since: "1.0.0",
    summary: "Set the string value of a key only when the key doesn't exist.",
    syntax: "key value",
    handler: setnx,
  },
  {
    name: "setex",
    arity: 4,
    flags: ["write", "denyoom"],
    keys: K1,
    group: "string",
    since: "2.0.0",
    summary:
      "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
    syntax: "key seconds value",
    handler: setexCommand("setex", "s"),
  },
  {
    name: "psetex",
    arity: 4,
    flags: ["write", "denyoom"],
    keys: K1,
    group: "string",
    since: "2.6.0",
    summary:
      "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
    syntax: "key milliseconds value",
    handler: setexCommand("psetex", "ms"),
  },
  {
    name: "getset",
    arity: 3,
    flags: ["write", "denyoom", "fast"],
    keys: K1,
    group: "string",
    since: "1.0.0",
    summary:
      "Returns the previous string value of a key after setting it to a new value (and dropping its TTL).",
    syntax: "key value",
    handler: getset,
  },
  {
    name: "getdel",
    arity: 2,
    flags: ["write", "fast"],
    keys: K1,
    group: "string",
    since: "6.2.0",
    summary: "Returns the string value of a key after deleting the key.",
    syntax: "key",
    handler: getdel,
  },
  {
    name: "getex",
    arity: -2,
    flags: ["write", "fast"],
    keys: K1,
    group: "string",
    since: "6.2.0",
    summary: "Returns the string value of a key after setting its expiration time.",
    syntax:
      "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]",
    handler: getex,
  },
  {
    name: "msetnx",
    arity: -3,
    flags: ["write", "denyoom"],
    keys: { first: 1, last: -1, step: 2 },
    group: "string",
    since: "1.0.1",
    summary:
      "Atomically modifies the string values of one or more keys only when all keys don't exist (atomic across shards).",
    syntax: "key value [key value ...]",
    handler: msetnx,
  },
];
