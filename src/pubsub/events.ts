/**
 * Which keyspace event each write command emits, declared once per command instead of being
 * hand-rolled in every handler. A rule looks at the arguments and the reply (and, for the few
 * commands whose reply does not say which keys changed, at what existed before the command)
 * and names events with Redis's names and classes. The same events drive client tracking:
 * every key that got an event is invalidated.
 *
 * `new` (class n) for keys a write creates is added around these rules (index.ts), except
 * where Redis re-adds a key in another place (COPY, MOVE, RENAME), which the rules say.
 * The events of key lookups (`expired`, `keymiss`) come from lookups.ts; a rule only says
 * how its command looks keys up where the row's flags do not (Rule.lookups, Rule.perKey).
 * Known differences from Redis, documented in docs/compatibility.md: BITFIELD emits `setbit`
 * when it has a SET/INCRBY even if an overflow FAIL left the value unchanged; GETEX PERSIST
 * emits `persist` without checking that a TTL existed.
 */
import { equalsToken, text } from "../commands/args.ts";
import type { ClientState } from "../commands/client-state.ts";
import { RespError } from "../errors.ts";
import { OK, type Reply } from "../protocol/reply.ts";
import { N } from "./notify.ts";

/**
 * What a rule sees of the command's context: the client (its database) and whether a key
 * exists in that database. Dispatch builds it only while notifications or tracking are on.
 */
export interface EventCtx {
  readonly client: ClientState;
  /** Set while EXEC or a script runs the command (one turn for BCAST tracking). */
  readonly inExec?: boolean;
  exists(key: Uint8Array): boolean;
}

export type Emit = (cls: number, event: string, key: Uint8Array, db?: number) => void;

/** How a command looks a key argument up (lookups.ts); "none": not in this database. */
export type Lookup = "read" | "write" | "none";

export interface Rule {
  /**
   * How key argument i is looked up where the row's flags do not say it (readonly: read,
   * write: write), as Redis does: "read" for a write that reads a key first (lookupKeyRead,
   * whose miss is a `keymiss`), "none" for a key looked up in another database.
   */
  lookups?(ctx: EventCtx, args: Uint8Array[]): (i: number) => Lookup;
  /**
   * Redis looks up and notifies one key at a time (DEL, UNLINK, MSET): an `expired` found
   * by a lookup goes out just before that key's events, not before the whole command's.
   */
  perKey?: true;
  /** Runs before the handler; its result reaches `after` (existence of keys, mostly). */
  before?(ctx: EventCtx, args: Uint8Array[]): unknown;
  after(ctx: EventCtx, args: Uint8Array[], reply: Reply, emit: Emit, pre: unknown): void;
}

const exists = (ctx: EventCtx, key: Uint8Array): boolean => ctx.exists(key);
const has = (args: Uint8Array[], from: number, ...names: string[]): boolean =>
  args.slice(from).some((a) => names.some((n) => equalsToken(a, n)));
const EXPIRY = ["EX", "PX", "EXAT", "PXAT"];
/** Rule.lookups: the first key is read (GETDEL, GETEX, GETSET read the old value first). */
const READ_FIRST = (): ((i: number) => Lookup) => (i) => (i === 1 ? "read" : "write");
const WRITES = (): ((i: number) => Lookup) => () => "write";

/** One event on the first key when the reply says something changed. */
function simple(cls: number, event: string, changed: (r: Reply) => boolean = () => true): Rule {
  return { after: (_c, args, reply, emit) => changed(reply) && emit(cls, event, args[1]!) };
}
const isOne = (r: Reply) => r === 1;
const notNull = (r: Reply) => r !== null;
const positive = (r: Reply) => typeof r === "number" && r > 0;

/** A field-TTL reply (one code per field): which events and whether the hash went away. */
function fieldTtl(event: string): Rule {
  return {
    after(ctx, args, reply, emit) {
      if (!Array.isArray(reply)) return;
      if (reply.includes(1)) emit(N.hash, event, args[1]!);
      if (reply.includes(2)) {
        emit(N.hash, "hdel", args[1]!);
        if (!exists(ctx, args[1]!)) emit(N.generic, "del", args[1]!);
      }
    },
  };
}

/** Did SET (with its options) write? The reply alone is ambiguous with GET. */
function setWrote(args: Uint8Array[], reply: Reply): boolean {
  if (reply === OK) return true;
  if (!has(args, 3, "GET")) return false;
  if (has(args, 3, "NX")) return reply === null;
  if (has(args, 3, "XX")) return reply !== null;
  return true;
}

const delRule: Rule = {
  perKey: true,
  before: (ctx, args) => args.slice(1).filter((k) => exists(ctx, k)),
  after(_c, _a, reply, emit, pre) {
    if (positive(reply)) for (const k of pre as Uint8Array[]) emit(N.generic, "del", k);
  },
};

const expireRule: Rule = {
  after(ctx, args, reply, emit) {
    if (reply !== 1) return;
    emit(N.generic, exists(ctx, args[1]!) ? "expire" : "del", args[1]!);
  },
};

const renameRule: Rule = {
  // Redis stops at a missing source: the destination is never looked up.
  lookups: (ctx, args) => (i) => (i === 2 && !exists(ctx, args[1]!) ? "none" : "write"),
  after(_c, args, reply, emit) {
    if (reply !== OK && reply !== 1) return;
    if (Buffer.compare(args[1]!, args[2]!) === 0) return;
    // Redis adds the destination anew (dbAdd: `new`, even over an old key) before the rest.
    emit(N.newKey, "new", args[2]!);
    emit(N.generic, "rename_from", args[1]!);
    emit(N.generic, "rename_to", args[2]!);
  },
};

/** The DB option of COPY, else the client's database. */
function copyDb(ctx: EventCtx, args: Uint8Array[]): number {
  for (let i = 3; i < args.length - 1; i++)
    if (equalsToken(args[i]!, "DB")) return Number(text(args[i + 1]!));
  return ctx.client.db;
}

/** After a hash write that may have emptied the hash: Redis adds a generic `del`. */
function hashMaybeGone(cls: number, event: string, changed: (r: Reply) => boolean): Rule {
  return {
    after(ctx, args, reply, emit) {
      if (!changed(reply)) return;
      emit(cls, event, args[1]!);
      if (!exists(ctx, args[1]!)) emit(N.generic, "del", args[1]!);
    },
  };
}

const setexRule: Rule = {
  after(_c, args, _r, emit) {
    emit(N.string, "set", args[1]!);
    emit(N.generic, "expire", args[1]!);
  },
};

export const rules: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  [
    "set",
    {
      // SET … GET reads the old value first.
      lookups: (_c, args) => (has(args, 3, "GET") ? READ_FIRST() : WRITES()),
      after(_c, args, reply, emit) {
        if (!setWrote(args, reply)) return;
        emit(N.string, "set", args[1]!);
        if (EXPIRY.some((o) => has(args, 3, o))) emit(N.generic, "expire", args[1]!);
      },
    },
  ],
  ["setnx", simple(N.string, "set", isOne)],
  ["setex", setexRule],
  ["psetex", setexRule],
  ["getset", { ...simple(N.string, "set"), lookups: READ_FIRST }],
  [
    "mset",
    {
      perKey: true,
      after(_c, args, _r, emit) {
        for (let i = 1; i < args.length; i += 2) emit(N.string, "set", args[i]!);
      },
    },
  ],
  [
    "msetnx",
    {
      after(_c, args, reply, emit) {
        if (reply === 1) for (let i = 1; i < args.length; i += 2) emit(N.string, "set", args[i]!);
      },
    },
  ],
  ["getdel", { ...simple(N.generic, "del", notNull), lookups: READ_FIRST }],
  [
    "getex",
    {
      lookups: READ_FIRST,
      after(ctx, args, reply, emit) {
        if (reply === null) return;
        if (has(args, 2, "PERSIST")) emit(N.generic, "persist", args[1]!);
        else if (EXPIRY.some((o) => has(args, 2, o)))
          emit(N.generic, exists(ctx, args[1]!) ? "expire" : "del", args[1]!);
      },
    },
  ],
  ["append", simple(N.string, "append")],
  [
    "setrange",
    { after: (_c, args, _r, emit) => args[3]!.length > 0 && emit(N.string, "setrange", args[1]!) },
  ],
  ["incr", simple(N.string, "incrby")],
  ["decr", simple(N.string, "incrby")],
  ["incrby", simple(N.string, "incrby")],
  ["decrby", simple(N.string, "incrby")],
  ["incrbyfloat", simple(N.string, "incrbyfloat")],
  ["setbit", simple(N.string, "setbit")],
  [
    "bitfield",
    {
      // Only GETs: Redis looks the key up for reading (a SET or INCRBY looks it up to write).
      lookups: (_c, args) => (has(args, 2, "SET", "INCRBY") ? WRITES() : READ_FIRST()),
      after: (_c, args, _r, emit) =>
        has(args, 2, "SET", "INCRBY") && emit(N.string, "setbit", args[1]!),
    },
  ],
  [
    "bitop",
    {
      // The sources are read, the destination written.
      lookups: () => (i) => (i >= 3 ? "read" : "write"),
      before: (ctx, args) => exists(ctx, args[2]!),
      after(_c, args, reply, emit, existed) {
        if (reply === 0) {
          if (existed) emit(N.generic, "del", args[2]!);
        } else emit(N.string, "set", args[2]!);
      },
    },
  ],
  ["del", delRule],
  ["unlink", delRule],
  ["expire", expireRule],
  ["pexpire", expireRule],
  ["expireat", expireRule],
  ["pexpireat", expireRule],
  ["persist", simple(N.generic, "persist", isOne)],
  [
    "move",
    {
      after(_ctx, args, reply, emit) {
        if (reply !== 1) return;
        const to = Number(text(args[2]!));
        // Redis adds the key to the target database (dbAdd: `new`) before it removes it here.
        emit(N.newKey, "new", args[1]!, to);
        emit(N.generic, "move_from", args[1]!);
        emit(N.generic, "move_to", args[1]!, to);
      },
    },
  ],
  ["rename", renameRule],
  ["renamenx", renameRule],
  [
    "copy",
    {
      // The source is read; the destination is looked up only if the source was found (as
      // for RENAME), in the database of the DB option (then by the handler, not here).
      lookups: (ctx, args) => (i) => {
        if (i === 1) return "read";
        return copyDb(ctx, args) === ctx.client.db && exists(ctx, args[1]!) ? "write" : "none";
      },
      after(ctx, args, reply, emit) {
        if (reply !== 1) return;
        // The copy is always added anew (REPLACE deletes the old key first), so `new` as well.
        emit(N.newKey, "new", args[2]!, copyDb(ctx, args));
        emit(N.generic, "copy_to", args[2]!, copyDb(ctx, args));
      },
    },
  ],
  ["hset", simple(N.hash, "hset")],
  ["hmset", simple(N.hash, "hset")],
  ["hsetnx", simple(N.hash, "hset", isOne)],
  ["hdel", hashMaybeGone(N.hash, "hdel", positive)],
  [
    "hgetdel",
    hashMaybeGone(N.hash, "hgetdel", (r) => Array.isArray(r) && r.some((v) => v !== null)),
  ],
  ["hincrby", simple(N.hash, "hincrby")],
  ["hincrbyfloat", simple(N.hash, "hincrbyfloat")],
  [
    "hsetex",
    {
      after(_c, args, reply, emit) {
        if (reply !== 1) return;
        emit(N.hash, "hset", args[1]!);
        if (EXPIRY.some((o) => has(args, 2, o))) emit(N.hash, "hexpire", args[1]!);
      },
    },
  ],
  [
    "hgetex",
    {
      after(ctx, args, reply, emit) {
        if (!Array.isArray(reply) || !reply.some((v) => v !== null)) return;
        if (has(args, 2, "PERSIST")) emit(N.hash, "hpersist", args[1]!);
        else if (EXPIRY.some((o) => has(args, 2, o))) {
          if (exists(ctx, args[1]!)) emit(N.hash, "hexpire", args[1]!);
          else {
            emit(N.hash, "hdel", args[1]!);
            emit(N.generic, "del", args[1]!);
          }
        }
      },
    },
  ],
  ["hexpire", fieldTtl("hexpire")],
  ["hpexpire", fieldTtl("hexpire")],
  ["hexpireat", fieldTtl("hexpire")],
  ["hpexpireat", fieldTtl("hexpire")],
  ["hpersist", fieldTtl("hpersist")],
  ["restore", simple(N.generic, "restore", (r) => !(r instanceof RespError))],
  ["restore-asking", simple(N.generic, "restore", (r) => !(r instanceof RespError))],
]);

/** Commands that empty whole databases: tracking clients drop everything, no key events. */
export const FLUSHES: ReadonlySet<string> = new Set(["flushdb", "flushall"]);
