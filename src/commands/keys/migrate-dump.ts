/**
 * DUMP, RESTORE, RESTORE-ASKING and MIGRATE: moving whole keys (strings, small and large
 * hashes, with their TTL and field TTLs) between nodes in our payload format
 * (dump-payload.ts). MIGRATE removes a key from this node only after the target acknowledged
 * its RESTORE, and only if the key still holds what was sent: the check and the delete run in
 * one writer transaction, so a write that lands meanwhile is re-sent, never lost.
 */
import { errors, RespError } from "../../errors.ts";
import { OK, type Reply, simple } from "../../protocol/reply.ts";
import { type ExpiryMs, keyParam } from "../../storage/api.ts";
import { parseInt64, text, token } from "../args.ts";
import { ks } from "../db.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";
import {
  type DumpedKey,
  dumpBody,
  openPayload,
  restoreBody,
  sameDump,
  sealPayload,
} from "./dump-payload.ts";
import { pipelineToTarget } from "./migrate-client.ts";

/** Rounds of re-sending a key that keeps changing while MIGRATE moves it. */
const MIGRATE_ROUNDS_MAX = 5;

const busyKey = () => new RespError("BUSYKEY", "Target key name already exists.");

function int64(arg: Uint8Array): bigint {
  const n = parseInt64(arg);
  if (n === null) throw errors.notInteger();
  return n;
}

function dump(ctx: KeyCtx, args: Uint8Array[]): Reply {
  const space = ks(ctx);
  const key = args[1]!;
  const d = dumpBody(space.tableFor(key), keyParam(key), space.now());
  if (d === null) return null;
  return sealPayload(space.encodeValue(key, d.body));
}

function restore(ctx: KeyCtx, args: Uint8Array[]): Reply | Promise<Reply> {
  const key = args[1]!;
  const ttl = int64(args[2]!);
  let replace = false;
  let absTtl = false;
  for (let i = 4; i < args.length; i++) {
    const opt = token(args[i]!);
    if (opt === "REPLACE") replace = true;
    else if (opt === "ABSTTL") absTtl = true;
    else if (opt === "IDLETIME" && i + 1 < args.length) {
      if (int64(args[++i]!) < 0n)
        throw new RespError("ERR", "Invalid IDLETIME value, must be >= 0");
    } else if (opt === "FREQ" && i + 1 < args.length) {
      const f = int64(args[++i]!);
      if (f < 0n || f > 255n)
        throw new RespError("ERR", "Invalid FREQ value, must be >= 0 and <= 255");
    } else throw errors.syntax();
  }
  if (ttl < 0n) throw new RespError("ERR", "Invalid TTL value, must be >= 0");
  const space = ks(ctx);
  if (!replace && space.entry(key) !== null) throw busyKey();
  const body = openPayload(args[3]!);
  const now = space.now();
  let expiresAt: ExpiryMs | null = null;
  if (ttl > 0n) {
    const at = absTtl ? ttl : ttl + BigInt(now);
    expiresAt = at <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(at) : at;
  }
  const k = keyParam(key);
  return space.writeHash(key, (table, now) => {
    if (!replace && table.has(k, now)) throw busyKey();
    // An absolute TTL already in the past: the key is not created (an old one is replaced).
    if (expiresAt !== null && expiresAt <= now) {
      table.remove(k, now);
      return OK;
    }
    restoreBody(table, k, body, expiresAt, now);
    return OK;
  });
}

interface MigrateArgs {
  host: string;
  port: number;
  db: number;
  timeoutMs: number;
  copy: boolean;
  replace: boolean;
  auth: string[] | null;
  keys: Uint8Array[];
}

function parseMigrate(args: Uint8Array[]): MigrateArgs {
  const port = int64(args[2]!);
  const db = int64(args[4]!);
  const timeout = int64(args[5]!);
  const m: MigrateArgs = {
    host: text(args[1]!),
    port: Number(port),
    db: Number(db),
    timeoutMs: timeout <= 0n ? 1000 : Number(timeout > 3_600_000n ? 3_600_000n : timeout),
    copy: false,
    replace: false,
    auth: null,
    keys: [args[3]!],
  };
  for (let i = 6; i < args.length; i++) {
    const opt = token(args[i]!);
    if (opt === "COPY") m.copy = true;
    else if (opt === "REPLACE") m.replace = true;
    else if (opt === "AUTH" && i + 1 < args.length) m.auth = [text(args[++i]!)];
    else if (opt === "AUTH2" && i + 2 < args.length) m.auth = [text(args[++i]!), text(args[++i]!)];
    else if (opt === "KEYS") {
      if (args[3]!.length !== 0)
        throw new RespError(
          "ERR",
          "When using MIGRATE KEYS option, the key argument must be set to the empty string",
        );
      m.keys = args.slice(i + 1);
      break;
    } else throw errors.syntax();
  }
  return m;
}

interface Outgoing {
  key: Uint8Array;
  sent: DumpedKey;
}

async function migrate(ctx: KeyCtx, args: Uint8Array[]): Promise<Reply> {
  const m = parseMigrate(args);
  const space = ks(ctx);
  const restoreName = (ctx.server as { cluster?: unknown }).cluster ? "RESTORE-ASKING" : "RESTORE";
  let pending: Outgoing[] = [];
  const now = space.now();
  for (const key of m.keys) {
    const d = dumpBody(space.tableFor(key), keyParam(key), now);
    if (d !== null) pending.push({ key, sent: d });
  }
  if (pending.length === 0) return simple("NOKEY");
  let replace = m.replace;
  let firstError: string | null = null;
  for (let round = 0; round < MIGRATE_ROUNDS_MAX && pending.length > 0; round++) {
    const commands: (string | Uint8Array)[][] = [];
    if (m.auth) commands.push(["AUTH", ...m.auth]);
    if (m.db !== 0) commands.push(["SELECT", String(m.db)]);
    const head = commands.length;
    const at = space.now();
    for (const { key, sent } of pending) {
      const ttl = sent.expiresAt === null ? 0 : Math.max(1, Number(sent.expiresAt) - at);
      const payload = sealPayload(space.encodeValue(key, sent.body));
      const cmd: (string | Uint8Array)[] = [restoreName, key, String(ttl), payload];
      if (replace) cmd.push("REPLACE");
      commands.push(cmd);
    }
    const replies = await pipelineToTarget(m.host, m.port, commands, m.timeoutMs);
    for (let i = 0; i < head; i++) {
      const r = replies[i]!;
      if (!r.ok) throw new RespError("ERR", `Target instance replied with error: ${r.error}`);
    }
    const checks: Promise<Outgoing | null>[] = [];
    for (let i = 0; i < pending.length; i++) {
      const r = replies[head + i]!;
      const item = pending[i]!;
      if (!r.ok) {
        firstError ??= r.error;
        continue;
      }
      if (m.copy) continue;
      const k = keyParam(item.key);
      checks.push(
        space.writeHash(item.key, (table, now) => {
          const cur = dumpBody(table, k, now);
          if (sameDump(cur, item.sent)) {
            table.remove(k, now);
            return null;
          }
          // Written meanwhile: send the new value (over the copy the target now holds).
          return cur === null ? null : { key: item.key, sent: cur };
        }),
      );
    }
    const changed = (await Promise.all(checks)).filter((o): o is Outgoing => o !== null);
    pending = changed;
    replace = true;
  }
  if (firstError !== null)
    throw new RespError("ERR", `Target instance replied with error: ${firstError}`);
  if (pending.length > 0)
    throw new RespError("TRYAGAIN", "Keys kept changing during MIGRATE; try again");
  return OK;
}

const keyed = { first: 1, last: 1, step: 1 } as const;

function restoreRow(name: string, summary: string): CommandSpec {
  return {
    name,
    arity: -4,
    flags: ["write", "denyoom"],
    keys: keyed,
    group: "generic",
    since: name === "restore" ? "2.6.0" : "3.0.0",
    summary,
    syntax: "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]",
    handler: restore,
  };
}

export const migrateDumpCommands: CommandSpec[] = [
  {
    name: "dump",
    arity: 2,
    flags: ["readonly"],
    keys: keyed,
    group: "generic",
    since: "2.6.0",
    summary: "Returns a serialized representation of the value stored at a key.",
    syntax: "key",
    handler: dump,
  },
  restoreRow("restore", "Creates a key from the serialized representation of a value."),
  {
    ...restoreRow("restore-asking", "An internal command for migrating keys in a cluster."),
    flags: ["write", "denyoom", "asking"],
  },
  {
    name: "migrate",
    arity: -6,
    flags: ["write"],
    // Redis's key spec (the KEYS form is movable); cluster routing lets MIGRATE always run
    // here (src/cluster/cluster.ts), since it only ever moves this node's keys.
    keys: { first: 3, last: 3, step: 1 },
    movableKeyFlag: true,
    group: "generic",
    since: "2.6.0",
    summary: "Atomically transfers a key from one Redis instance to another.",
    syntax:
      'host port <key | ""> destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username password] [KEYS key [key ...]]',
    handler: migrate,
  },
];
