/**
 * Hash field expiry: HSETEX and HGETEX (Redis 8.0), HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT,
 * HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME and HPERSIST (Redis 7.4), with Redis's argument
 * order, error texts and per-field reply codes. An expired field is absent for all of them:
 * HEXPIRE never revives it (-2) and HSETEX on it creates a fresh field. Reads inside write
 * commands happen in their queued operations (see the ordering rules in hash.ts); a hash
 * whose last field expires or is deleted stops existing (HashWriter.save).
 */
import { errors, RespError, sanitizeLine } from "../../errors.ts";
import type { Reply } from "../../protocol/reply.ts";
import { equalsToken, parseInt64, text } from "../args.ts";
import { ks } from "../db.ts";
import { conditionAllows, type ExpireCondition, type ExpireUnit, expiryOption } from "../expiry.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";
import { type TakeFile, withStreamedValues } from "../streamed-values.ts";
import { stringReply } from "../strings/string-large.ts";
import { editHash, fieldsAt, readHash } from "./hash.ts";

/** Redis's largest field expiry, HFE_MAX_ABS_TIME_MSEC = (2^48 - 1) >> 2 ms (year 4199). */
const FIELD_EXPIRY_MAX_MS = 70_368_744_177_663;
const POSITIVE_COUNT = "Number of fields must be a positive integer";

/**
 * A field expiry argument as Redis's hash commands read it: an integer >= 0 in `unit`, added
 * to `base` (now for EX/PX/HEXPIRE, 0 for the *AT forms), at most FIELD_EXPIRY_MAX_MS.
 */
function fieldExpiry(raw: Uint8Array, unit: ExpireUnit, base: number, command: string): number {
  const value = parseInt64(raw);
  if (value === null) throw errors.notInteger();
  if (value < 0n) throw new RespError("ERR", "invalid expire time, must be >= 0");
  let ms = value;
  if (unit === "s") {
    if (value > BigInt(Math.floor(FIELD_EXPIRY_MAX_MS / 1000))) throw errors.invalidExpire(command);
    ms = value * 1000n;
  }
  if (ms > BigInt(FIELD_EXPIRY_MAX_MS - base)) throw errors.invalidExpire(command);
  return Number(ms) + base;
}

interface HsetexOptions {
  condition: "FNX" | "FXX" | null;
  /** Absolute expiry in ms, null when no EX/PX/EXAT/PXAT was given. */
  expiresAt: number | null;
  keepTtl: boolean;
  /** Index of the first field argument. */
  first: number;
}

/** HSETEX's options, parsed in any order up to FIELDS, refused as Redis 8.0 refuses them. */
function parseHsetex(args: Uint8Array[], now: number): HsetexOptions {
  const opts: HsetexOptions = { condition: null, expiresAt: null, keepTtl: false, first: -1 };
  const onlyOneExpiry = () =>
    new RespError("ERR", "Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified");
  for (let i = 2; i < args.length; i++) {
    const a = args[i]!;
    const kind = expiryOption(a);
    if (equalsToken(a, "FIELDS")) {
      if (i >= args.length - 3) throw errors.wrongArity("hsetex");
      const n = parseInt64(args[i + 1]!);
      if (n === null || n < 1n || n > 2147483647n) {
        throw new RespError("ERR", "invalid number of fields");
      }
      const remaining = args.length - i - 2;
      if (remaining % 2 !== 0 || BigInt(remaining / 2) !== n) throw errors.wrongArity("hsetex");
      opts.first = i + 2;
      return opts;
    } else if (kind) {
      if (opts.expiresAt !== null || opts.keepTtl) throw onlyOneExpiry();
      if (i >= args.length - 1) throw new RespError("ERR", "missing expire time");
      opts.expiresAt = fieldExpiry(args[++i]!, kind.unit, kind.relative ? now : 0, "hsetex");
    } else if (equalsToken(a, "KEEPTTL")) {
      if (opts.expiresAt !== null || opts.keepTtl) throw onlyOneExpiry();
      opts.keepTtl = true;
    } else if (equalsToken(a, "FNX") || equalsToken(a, "FXX")) {
      if (opts.condition !== null) {
        throw new RespError("ERR", "Only one of FXX or FNX arguments can be specified");
      }
      opts.condition = equalsToken(a, "FNX") ? "FNX" : "FXX";
    } else {
      throw new RespError("ERR", `unknown argument: ${sanitizeLine(text(a))}`);
    }
  }
  // Unreachable with arity -6 (the last argument is always taken as an option and refused).
  throw errors.syntax();
}

/**
 * HSETEX key [FNX|FXX] [EX|PX|EXAT|PXAT t|KEEPTTL] FIELDS n field value …: 1 when the fields
 * were set, 0 when FNX/FXX refused them all. Without an expiry option the fields lose their
 * TTL (Redis 8); KEEPTTL keeps a live field's TTL; a time already past deletes the fields.
 * Arguments are checked before the key's type, as in Redis 8.
 */
function hsetex(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const opts = parseHsetex(args, ks(ctx).now());
  return withStreamedValues(ctx, args, opts.first, (take) => hsetexWrite(ctx, args, opts, take));
}

function hsetexWrite(
  ctx: KeyCtx,
  args: Uint8Array[],
  opts: HsetexOptions,
  take: TakeFile,
): Promise<Reply> {
  return editHash(ctx, args[1]!, (hash, now) => {
    if (opts.condition !== null) {
      // FNX/FXX: every field is checked before any is written (all or nothing).
      const wantLive = opts.condition === "FXX";
      for (let i = opts.first; i < args.length; i += 2) {
        if ((hash.get(args[i]!, now) !== null) !== wantLive) return 0;
      }
    }
    const at = opts.expiresAt;
    for (let i = opts.first; i < args.length; i += 2) {
      const field = args[i]!;
      if (at !== null && at <= now) {
        hash.delete(field, now);
        continue;
      }
      const keep = opts.keepTtl ? (hash.get(field, now)?.expiresAt ?? null) : null;
      const ref = take(i + 1);
      if (ref) hash.setFile(field, ref, at ?? keep, now);
      else hash.set(field, args[i + 1]!, at ?? keep, now);
    }
    return 1;
  });
}

/** HGETEX key [EX|PX|EXAT|PXAT t|PERSIST] FIELDS n field … (Redis 8.0): values, then TTL change. */
function hgetex(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  // Redis 8 checks the key's type before the arguments.
  readHash(ctx, args[1]!);
  const kind = expiryOption(args[2]!);
  const persist = !kind && equalsToken(args[2]!, "PERSIST");
  let when: number | null = null;
  let at = 2;
  if (kind) {
    when = fieldExpiry(args[3]!, kind.unit, kind.relative ? ks(ctx).now() : 0, "hgetex");
    at = 4;
  } else if (persist) at = 3;
  const fields = fieldsAt(args, at, POSITIVE_COUNT);
  return editHash(ctx, args[1]!, (hash, now) =>
    fields.map((field) => {
      const entry = hash.get(field, now);
      if (entry === null) return null;
      // Opened before a delete can drop the file's name (a field kept in a file streams).
      const value = stringReply(ctx, entry);
      if (persist && entry.expiresAt !== null) hash.setExpiry(field, null, now);
      else if (when !== null && when <= now) hash.delete(field, now);
      else if (when !== null) hash.setExpiry(field, when, now);
      return value;
    }),
  );
}

/**
 * HEXPIRE family: per field -2 (no such field), 0 (NX/XX/GT/LT not met), 1 (expiry set) or
 * 2 (deleted: the time is now or past). The condition is checked before the deletion, as in
 * Redis 7.4; a field without TTL counts as never expiring for GT and LT.
 */
function hexpireCommand(name: string, unit: ExpireUnit, relative: boolean) {
  return (ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> => {
    // Redis checks the key's type before the arguments.
    readHash(ctx, args[1]!);
    const when = fieldExpiry(args[2]!, unit, relative ? ks(ctx).now() : 0, name);
    const condition = (["NX", "XX", "GT", "LT"] as const).find((c) => equalsToken(args[3]!, c));
    const fields = fieldsAt(
      args,
      condition ? 4 : 3,
      "Parameter `numFields` should be greater than 0",
    );
    const cond: ExpireCondition = condition ?? null;
    return editHash(ctx, args[1]!, (hash, now) =>
      fields.map((field) => {
        const entry = hash.get(field, now);
        if (entry === null) return -2;
        if (!conditionAllows(cond, entry.expiresAt, when)) return 0;
        if (when <= now) {
          hash.delete(field, now);
          return 2;
        }
        hash.setExpiry(field, when, now);
        return 1;
      }),
    );
  };
}

/**
 * HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME: per field -2 (no such field), -1 (no TTL) or the
 * time; seconds round up, as Redis 7.4 computes them ((ms + 999) / 1000).
 */
function httlCommand(unit: ExpireUnit, absolute: boolean) {
  return (ctx: KeyCtx, args: Uint8Array[]): Reply => {
    const hash = readHash(ctx, args[1]!);
    const fields = fieldsAt(args, 2, POSITIVE_COUNT);
    const now = ks(ctx).now();
    const base = absolute ? 0 : now;
    return fields.map((field) => {
      const entry = hash?.get(field, now) ?? null;
      if (entry === null) return -2;
      if (entry.expiresAt === null) return -1;
      const ms = entry.expiresAt - base;
      return unit === "ms" ? ms : Math.floor((ms + 999) / 1000);
    });
  };
}

/** HPERSIST: per field -2 (no such field), -1 (no TTL) or 1 (TTL removed). */
function hpersist(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  readHash(ctx, args[1]!);
  const fields = fieldsAt(args, 2, POSITIVE_COUNT);
  return editHash(ctx, args[1]!, (hash, now) =>
    fields.map((field) => {
      const entry = hash.get(field, now);
      if (entry === null) return -2;
      if (entry.expiresAt === null) return -1;
      hash.setExpiry(field, null, now);
      return 1;
    }),
  );
}

const K1 = { first: 1, last: 1, step: 1 } as const;
const FIELDS = "FIELDS numfields field [field ...]";
const expireRow = (
  name: string,
  unit: ExpireUnit,
  relative: boolean,
  arg: string,
  what: string,
): CommandSpec => ({
  name,
  arity: -6,
  flags: ["write", "fast"],
  keys: K1,
  group: "hash",
  since: "7.4.0",
  summary: `Set expiry for hash field using ${what}.`,
  syntax: `key ${arg} [NX | XX | GT | LT] ${FIELDS}`,
  handler: hexpireCommand(name, unit, relative),
});
const ttlRow = (name: string, unit: ExpireUnit, absolute: boolean, what: string): CommandSpec => ({
  name,
  arity: -5,
  flags: ["readonly", "fast"],
  keys: K1,
  group: "hash",
  since: "7.4.0",
  summary: what,
  syntax: `key ${FIELDS}`,
  handler: httlCommand(unit, absolute),
});

export const hashTtlCommands: CommandSpec[] = [
  {
    name: "hsetex",
    arity: -6,
    flags: ["write", "denyoom", "fast"],
    // Values past the large-value threshold arrive as files (streamed-values.ts).
    largeArgs: true,
    keys: K1,
    group: "hash",
    since: "8.0.0",
    summary:
      "Set the value of one or more fields of a given hash key, and optionally set their expiration time.",
    syntax:
      "key [FNX | FXX] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL] FIELDS numfields field value [field value ...]",
    handler: hsetex,
  },
  {
    name: "hgetex",
    arity: -5,
    flags: ["write", "fast"],
    keys: K1,
    group: "hash",
    since: "8.0.0",
    summary:
      "Get the value of one or more fields of a given hash key, and optionally set their expiration time or time-to-live (TTL).",
    syntax: `key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST] ${FIELDS}`,
    handler: hgetex,
  },
  expireRow("hexpire", "s", true, "seconds", "relative time to expire in seconds"),
  expireRow("hpexpire", "ms", true, "milliseconds", "relative time to expire in milliseconds"),
  expireRow("hexpireat", "s", false, "unix-time-seconds", "an absolute Unix timestamp in seconds"),
  expireRow(
    "hpexpireat",
    "ms",
    false,
    "unix-time-milliseconds",
    "an absolute Unix timestamp in milliseconds",
  ),
  ttlRow("httl", "s", false, "Returns the TTL in seconds of a hash field."),
  ttlRow("hpttl", "ms", false, "Returns the TTL in milliseconds of a hash field."),
  ttlRow(
    "hexpiretime",
    "s",
    true,
    "Returns the expiration time of a hash field as a Unix timestamp, in seconds.",
  ),
  ttlRow(
    "hpexpiretime",
    "ms",
    true,
    "Returns the expiration time of a hash field as a Unix timestamp, in msec.",
  ),
  {
    name: "hpersist",
    arity: -5,
    flags: ["write", "fast"],
    keys: K1,
    group: "hash",
    since: "7.4.0",
    summary: "Removes the expiration time for each specified field.",
    syntax: `key ${FIELDS}`,
    handler: hpersist,
  },
];
