/**
 * CLIENT and its subcommands: naming a connection (SETNAME, GETNAME, SETINFO), looking at the
 * connections (ID, INFO, LIST), KILL, REPLY, the no-op switches (NO-EVICT, NO-TOUCH) and the
 * tracking subcommands (tracking.ts). CLIENT LIST lines follow Redis's field order.
 */
import { errors, RespError, sanitizeLine } from "../../errors.ts";
import { NO_REPLY, OK, type Reply, simple, verbatim } from "../../protocol/reply.ts";
import { equalsToken, parseInt64, rawText, text, token } from "../args.ts";
import type { ClientState as AnyClient } from "../client-state.ts";
import { helpRow, type RowDefaults } from "../rows.ts";
import type { ClientState, CommandSpec, Ctx } from "../spec.ts";
import { trackingClientCommands } from "./tracking.ts";

/** Client names may not contain spaces or control characters (Redis's rule). */
export function validName(arg: Uint8Array): string | null {
  for (const b of arg) {
    if (b < 33 || b > 126) {
      throw new RespError(
        "ERR",
        "Client names cannot contain spaces, newlines or special characters.",
      );
    }
  }
  return arg.length === 0 ? null : text(arg);
}

/** Redis's client types: a client with any subscription is "pubsub", the rest "normal". */
function clientType(c: AnyClient): "pubsub" | "normal" {
  return (c.subscriptions ?? 0) > 0 ? "pubsub" : "normal";
}

/** A client's tracking as its CLIENT LIST line shows it (pub/sub room); absent when off. */
type TrackingLookup = (
  c: AnyClient,
) => { bcast: boolean; redirect: number; brokenRedirect: boolean } | undefined;

/**
 * CLIENT LIST's flags, in Redis's order: O monitor, P pub/sub, x in MULTI, t tracking,
 * R tracking redirect gone, B broadcast tracking, d a WATCHed key was written, c closing
 * after the reply; N for none.
 */
function clientFlags(c: AnyClient, tracking: ReturnType<TrackingLookup>): string {
  let flags = c.monitoring ? "O" : "";
  if (clientType(c) === "pubsub") flags += "P";
  if (c.tx !== null) flags += "x";
  if (tracking) {
    flags += "t";
    if (tracking.brokenRedirect) flags += "R";
    if (tracking.bcast) flags += "B";
  }
  if (c.watcher.dirty && c.watcher.keys.size > 0) flags += "d";
  if (c.closeAfterReply) flags += "c";
  return flags || "N";
}

/**
 * One CLIENT LIST line, in Redis 8's field order (`watch=` is new in 7.4); takes any client
 * view (security calls it for ACL LOG entries, without tracking).
 */
export function clientInfoLine(c: AnyClient, now: number, trackingOf?: TrackingLookup): string {
  const age = Math.floor((now - c.createdAt) / 1000);
  const idle = Math.floor((now - c.lastInteraction) / 1000);
  const tracking = trackingOf?.(c);
  const subs = c.subCounts;
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=0 name=${c.name ?? ""} age=${age} idle=${idle} flags=${clientFlags(c, tracking)} db=${c.db} ` +
    `sub=${subs?.channels ?? 0} psub=${subs?.patterns ?? 0} ssub=${subs?.shard ?? 0} multi=${c.tx?.queued.length ?? -1} watch=${c.watcher.keys.size} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 ` +
    `tot-mem=0 events=r cmd=${c.lastCommand} user=${c.user?.name ?? "default"} redir=${tracking?.redirect ?? -1} resp=${c.protocol} ` +
    `lib-name=${c.libName ?? ""} lib-ver=${c.libVer ?? ""}`
  );
}

/** The tracking lookup of a command's server (none in unit-test contexts without pub/sub). */
function trackingLookup(ctx: Ctx): TrackingLookup {
  const table = ctx.server.pubsub?.tracking;
  return (c) => {
    const s = table?.state(c);
    return s && { bcast: s.bcast, redirect: s.redirect, brokenRedirect: s.brokenRedirect };
  };
}

/** CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]: no masters or replicas here. */
function clientList(ctx: Ctx, args: Uint8Array[]): Reply {
  let ids: Set<string> | null = null;
  let type: string | null = null;
  for (let i = 2; i < args.length; i++) {
    if (equalsToken(args[i]!, "TYPE") && i + 1 < args.length) {
      type = text(args[++i]!).toLowerCase();
      if (!["normal", "master", "replica", "slave", "pubsub"].includes(type)) {
        throw new RespError("ERR", `Unknown client type '${type.replace(/[\r\n]/g, " ")}'`);
      }
    } else if (equalsToken(args[i]!, "ID") && i + 1 < args.length) {
      ids = new Set();
      for (i++; i < args.length; i++) {
        const id = parseInt64(args[i]!);
        if (id === null || id < 1n) throw new RespError("ERR", "Invalid client ID");
        ids.add(String(id));
      }
    } else throw errors.syntax();
  }
  const now = Date.now();
  const trackingOf = trackingLookup(ctx);
  let out = "";
  for (const c of ctx.server.clients.values()) {
    if (type !== null && type !== clientType(c)) continue;
    if (ids === null || ids.has(String(c.id))) out += `${clientInfoLine(c, now, trackingOf)}\n`;
  }
  return verbatim(out);
}

function clientSetinfo(ctx: Ctx, args: Uint8Array[]): Reply {
  const attr = token(args[2]!);
  const value = args[3]!;
  for (const b of value) {
    if (b < 33 || b > 126) {
      throw new RespError(
        "ERR",
        `${attr === "LIB-NAME" ? "lib-name" : "lib-ver"} cannot contain spaces, newlines or special characters.`,
      );
    }
  }
  if (attr === "LIB-NAME") ctx.client.libName = text(value);
  else if (attr === "LIB-VER") ctx.client.libVer = text(value);
  else throw new RespError("ERR", `Unrecognized option '${rawText(args[2]!)}'`);
  return OK;
}

/**
 * CLIENT KILL <ip:port> (old form: OK or "No such client"), or CLIENT KILL <filter> <value> ...
 * with filters ID, ADDR, LADDR, USER, TYPE, SKIPME, MAXAGE (all must match; replies the count;
 * SKIPME defaults to yes).
 */
function clientKill(ctx: Ctx, args: Uint8Array[]): Reply {
  const clients = [...ctx.server.clients.values()];
  if (args.length === 3) {
    const victims = clients.filter((c) => c.addr === text(args[2]!));
    if (victims.length === 0) throw new RespError("ERR", "No such client");
    kill(ctx, victims);
    return OK;
  }
  if (args.length % 2 !== 0) throw errors.syntax();
  const tests: ((c: ClientState) => boolean)[] = [];
  let skipMe = true;
  for (let i = 2; i < args.length; i += 2) {
    const filter = token(args[i]!);
    const value = text(args[i + 1]!);
    if (filter === "ID") {
      const id = parseInt64(args[i + 1]!);
      if (id === null || id < 1n) throw new RespError("ERR", "client-id should be greater than 0");
      tests.push((c) => BigInt(c.id) === id);
    } else if (filter === "ADDR") tests.push((c) => c.addr === value);
    else if (filter === "LADDR") tests.push((c) => c.laddr === value);
    else if (filter === "USER") {
      // Redis refuses a user the ACL does not know (without ACLs only "default" exists).
      const acl = ctx.server.security?.acl;
      if (!(acl ? acl.users.has(value) : value === "default"))
        throw new RespError("ERR", `No such user '${sanitizeLine(value)}'`);
      tests.push((c) => value === (c.user?.name ?? "default"));
    } else if (filter === "TYPE") {
      const type = value.toLowerCase();
      if (!["normal", "master", "replica", "slave", "pubsub"].includes(type)) {
        throw new RespError("ERR", `Unknown client type '${sanitizeLine(value)}'`);
      }
      tests.push((c) => type === clientType(c));
    } else if (filter === "SKIPME") {
      const v = value.toLowerCase();
      if (v !== "yes" && v !== "no") throw errors.syntax();
      skipMe = v === "yes";
    } else if (filter === "MAXAGE") {
      const age = parseInt64(args[i + 1]!);
      if (age === null) throw errors.notInteger();
      tests.push((c) => BigInt(Math.floor((Date.now() - c.createdAt) / 1000)) >= age);
    } else throw errors.syntax();
  }
  const victims = clients.filter(
    (c) => !(skipMe && c.id === ctx.client.id) && tests.every((t) => t(c)),
  );
  kill(ctx, victims);
  return victims.length;
}

function kill(ctx: Ctx, victims: ClientState[]): void {
  for (const v of victims) {
    // The caller itself is closed after this reply is sent, as Redis does.
    if (v.id === ctx.client.id) ctx.client.closeAfterReply = true;
    else v.kill();
    ctx.server.metrics?.connectionDropped();
  }
}

/** CLIENT REPLY ON|OFF|SKIP: OFF and SKIP are not answered; server/connection.ts drops replies. */
function clientReply(ctx: Ctx, args: Uint8Array[]): Reply {
  const mode = token(args[2]!);
  if (mode === "ON") {
    ctx.client.replyMode = "on";
    return OK;
  }
  if (mode === "OFF") ctx.client.replyMode = "off";
  else if (mode === "SKIP") {
    if (ctx.client.replyMode !== "off") ctx.client.replyMode = "skip";
  } else throw errors.syntax();
  return NO_REPLY;
}

/** ON | OFF switches that have no effect here but must parse like Redis's. */
function onOff(_ctx: Ctx, args: Uint8Array[]): Reply {
  const v = token(args[2]!);
  if (v !== "ON" && v !== "OFF") throw errors.syntax();
  return OK;
}

const clientSub: RowDefaults = {
  flags: ["noscript", "stale", "loading"],
  group: "connection",
  since: "2.4.0",
  keys: null,
};

const admin = (row: CommandSpec): CommandSpec => ({ ...row, flags: ["admin", ...row.flags] });

/**
 * Redis 8's CLIENT HELP, line for line, less UNBLOCK (no command blocks here), as status
 * replies; the footer is the one the other containers' HELP share.
 */
const CLIENT_HELP = [
  "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CACHING (YES|NO)",
  "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
  "GETREDIR",
  "    Return the client ID we are redirecting to when tracking is enabled.",
  "GETNAME",
  "    Return the name of the current connection.",
  "ID",
  "    Return the ID of the current connection.",
  "INFO",
  "    Return information about the current client connection.",
  "KILL <ip:port>",
  "    Kill connection made from <ip:port>.",
  "KILL <option> <value> [<option> <value> [...]]",
  "    Kill connections. Options are:",
  "    * ADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made from the specified address",
  "    * LADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made to specified local address",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Kill connections by type.",
  "    * USER <username>",
  "      Kill connections authenticated by <username>.",
  "    * SKIPME (YES|NO)",
  "      Skip killing current connection (default: yes).",
  "    * ID <client-id>",
  "      Kill connections by client id.",
  "    * MAXAGE <maxage>",
  "      Kill connections older than the specified age.",
  "LIST [options ...]",
  "    Return information about client connections. Options:",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Return clients of specified type.",
  "UNPAUSE",
  "    Stop the current client pause, resuming traffic.",
  "PAUSE <timeout> [WRITE|ALL]",
  "    Suspend all, or just write, clients for <timeout> milliseconds.",
  "REPLY (ON|OFF|SKIP)",
  "    Control the replies sent to the current connection.",
  "SETNAME <name>",
  "    Assign the name <name> to the current connection.",
  "SETINFO <option> <value>",
  "    Set client meta attr. Options are:",
  "    * LIB-NAME: the client lib name.",
  "    * LIB-VER: the client lib version.",
  "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
  "         [OPTIN] [OPTOUT] [NOLOOP]",
  "    Control server assisted client side caching.",
  "TRACKINGINFO",
  "    Report tracking status for the current connection.",
  "NO-EVICT (ON|OFF)",
  "    Protect current client connection from eviction.",
  "NO-TOUCH (ON|OFF)",
  "    Will not touch LRU/LFU stats when this mode is on.",
  "HELP",
  "    Prints this help.",
];

export const clientCommands: CommandSpec[] = [
  {
    ...clientSub,
    name: "client|setname",
    arity: 3,
    summary: "Sets the connection name.",
    syntax: "connection-name",
    handler: (ctx, args) => {
      ctx.client.name = validName(args[2]!);
      return OK;
    },
  },
  {
    ...clientSub,
    name: "client|getname",
    arity: 2,
    summary: "Returns the name of the connection.",
    syntax: "",
    handler: (ctx) => ctx.client.name,
  },
  {
    ...clientSub,
    name: "client|id",
    arity: 2,
    summary: "Returns the unique client ID of the connection.",
    syntax: "",
    handler: (ctx) => ctx.client.id,
  },
  {
    ...clientSub,
    name: "client|setinfo",
    arity: 4,
    summary: "Sets information specific to the client or connection.",
    syntax: "LIB-NAME libname | LIB-VER libver",
    handler: clientSetinfo,
  },
  {
    ...clientSub,
    name: "client|info",
    arity: 2,
    summary: "Returns information about the connection.",
    syntax: "",
    handler: (ctx) => verbatim(`${clientInfoLine(ctx.client, Date.now(), trackingLookup(ctx))}\n`),
  },
  // LIST and KILL are admin commands in Redis (so MONITOR does not show them).
  admin({
    ...clientSub,
    name: "client|list",
    arity: -2,
    summary: "Lists open connections.",
    syntax: "[TYPE type] [ID client-id [client-id ...]]",
    handler: clientList,
  }),
  admin({
    ...clientSub,
    name: "client|kill",
    arity: -3,
    summary: "Terminates open connections.",
    syntax:
      "ip:port | [ID client-id] [TYPE type] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME yes-or-no] [MAXAGE maxage]",
    handler: clientKill,
  }),
  {
    ...clientSub,
    name: "client|reply",
    arity: 3,
    summary: "Instructs the server whether to reply to commands.",
    syntax: "ON | OFF | SKIP",
    handler: clientReply,
  },
  admin({
    ...clientSub,
    name: "client|no-evict",
    arity: 3,
    summary: "Accepted for compatibility; nothing is evicted here.",
    syntax: "ON | OFF",
    handler: onOff,
  }),
  {
    ...clientSub,
    name: "client|no-touch",
    arity: 3,
    summary: "Accepted for compatibility; keys have no access time here.",
    syntax: "ON | OFF",
    handler: onOff,
  },
  ...trackingClientCommands,
  helpRow({
    ...clientSub,
    name: "client|help",
    arity: 2,
    summary: "Returns helpful text about the different subcommands.",
    syntax: "",
    handler: () => CLIENT_HELP.map((line) => simple(line)),
  }),
];
