/**
 * Connection commands clients send during handshakes and health checks: PING, ECHO, SELECT,
 * QUIT, HELLO, AUTH, RESET and CLIENT. They touch only the calling client's state.
 */
import { errors, RespError, sanitizeLine } from "../../errors.ts";
import { map, NO_REPLY, OK, PONG, type Reply, simple, verbatim } from "../../protocol/reply.ts";
import { REDIS_COMPAT_VERSION } from "../../version.ts";
import { equalsToken, parseInt64, rawText, text, token } from "../args.ts";
import type { ClientState as AnyClient } from "../client-state.ts";
import { dbIndex, int32 } from "../keys/databases.ts";
import { rowMaker } from "../rows.ts";
import type { ClientState, CommandSpec, Ctx } from "../spec.ts";
import { trackingClientCommands } from "./tracking.ts";

function ping(ctx: Ctx, args: Uint8Array[]): Reply {
  if (args.length > 2) throw errors.wrongArity("ping");
  // A RESP2 subscriber gets PING's answer in the shape of a message (Redis's rule).
  if (ctx.client.subscriptions && ctx.client.protocol === 2)
    return ["pong", args.length === 2 ? args[1]! : ""];
  return args.length === 2 ? args[1]! : PONG;
}

/** SELECT index: Redis's checks and texts (databases.ts); cluster mode has database 0 only. */
function select(ctx: Ctx, args: Uint8Array[]): Reply {
  if (ctx.server.config.cluster.enabled && int32(args[1]!) !== 0)
    throw new RespError("ERR", "SELECT is not allowed in cluster mode");
  ctx.client.db = dbIndex(ctx, args[1]!);
  return OK;
}

function quit(ctx: Ctx): Reply {
  ctx.client.closeAfterReply = true;
  return OK;
}

function noPassword(): RespError {
  return new RespError(
    "ERR",
    "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
  );
}

/** AUTH [username] password, against the ACL (src/security); one argument = the default user. */
function auth(ctx: Ctx, args: Uint8Array[]): Reply {
  if (args.length > 3) throw errors.syntax();
  const security = ctx.server.security;
  if (args.length === 2 && (!security || security.acl.defaultUser.nopass)) throw noPassword();
  const user = args.length === 2 ? "default" : text(args[1]!);
  if (!security) {
    if (user === "default") return OK;
    throw new RespError("WRONGPASS", "invalid username-password pair or user is disabled.");
  }
  security.authenticate(ctx.client, user, args[args.length - 1]!);
  return OK;
}

/** HELLO [protover [AUTH user pass] [SETNAME name]]: switches RESP version, returns server facts. */
function hello(ctx: Ctx, args: Uint8Array[]): Reply {
  let protocol = ctx.client.protocol;
  if (args.length >= 2) {
    const v = parseInt64(args[1]!);
    if (v === null)
      throw new RespError("ERR", "Protocol version is not an integer or out of range");
    if (v !== 2n && v !== 3n) throw new RespError("NOPROTO", "unsupported protocol version");
    protocol = Number(v) as 2 | 3;
  }
  let name: string | null | undefined;
  for (let i = 2; i < args.length; i++) {
    const more = args.length - 1 - i;
    if (equalsToken(args[i]!, "AUTH") && more >= 2) {
      const security = ctx.server.security;
      if (security) security.authenticate(ctx.client, text(args[i + 1]!), args[i + 2]!);
      else if (text(args[i + 1]!) !== "default")
        throw new RespError("WRONGPASS", "invalid username-password pair or user is disabled.");
      i += 2;
    } else if (equalsToken(args[i]!, "SETNAME") && more >= 1) {
      name = validName(args[++i]!);
    } else {
      throw new RespError("ERR", `Syntax error in HELLO option '${rawText(args[i]!)}'`);
    }
  }
  if (ctx.client.authenticated === false)
    throw new RespError(
      "NOAUTH",
      "HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
    );
  if (name !== undefined) ctx.client.name = name;
  ctx.client.protocol = protocol;
  return map([
    ["server", "redis"],
    ["version", REDIS_COMPAT_VERSION],
    ["proto", protocol],
    ["id", ctx.client.id],
    ["mode", ctx.server.config.cluster.enabled ? "cluster" : "standalone"],
    ["role", "master"],
    ["modules", []],
  ]);
}

/** Client names may not contain spaces or control characters (Redis's rule). */
function validName(arg: Uint8Array): string | null {
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

/** One CLIENT LIST line; takes any client view (security calls it for ACL LOG entries). */
export function clientInfoLine(c: AnyClient, now: number): string {
  const age = Math.floor((now - c.createdAt) / 1000);
  const idle = Math.floor((now - c.lastInteraction) / 1000);
  const flags = `${c.monitoring ? "O" : ""}${clientType(c) === "pubsub" ? "P" : ""}` || "N";
  const subs = c.subCounts;
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=0 name=${c.name ?? ""} age=${age} idle=${idle} flags=${flags} db=${c.db} ` +
    `sub=${subs?.channels ?? 0} psub=${subs?.patterns ?? 0} ssub=${subs?.shard ?? 0} multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 ` +
    `tot-mem=0 events=r cmd=${c.lastCommand} user=${c.user?.name ?? "default"} redir=-1 resp=${c.protocol} ` +
    `lib-name=${c.libName ?? ""} lib-ver=${c.libVer ?? ""}`
  );
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
  let out = "";
  for (const c of ctx.server.clients.values()) {
    if (type !== null && type !== clientType(c)) continue;
    if (ids === null || ids.has(String(c.id))) out += `${clientInfoLine(c, now)}\n`;
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
    else if (filter === "USER") tests.push((c) => value === (c.user?.name ?? "default"));
    else if (filter === "TYPE") {
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

const clientSub = rowMaker({
  container: "client",
  flags: ["stale", "loading"],
  group: "connection",
  since: "2.4.0",
});

const admin = (row: CommandSpec): CommandSpec => ({ ...row, flags: ["admin", ...row.flags] });

const clientCommands: CommandSpec[] = [
  clientSub("setname", 3, "Sets the connection name.", "connection-name", (ctx, args) => {
    ctx.client.name = validName(args[2]!);
    return OK;
  }),
  clientSub("getname", 2, "Returns the name of the connection.", "", (ctx) => ctx.client.name),
  clientSub("id", 2, "Returns the unique client ID of the connection.", "", (ctx) => ctx.client.id),
  clientSub(
    "setinfo",
    4,
    "Sets information specific to the client or connection.",
    "LIB-NAME libname | LIB-VER libver",
    clientSetinfo,
  ),
  clientSub("info", 2, "Returns information about the connection.", "", (ctx) =>
    verbatim(`${clientInfoLine(ctx.client, Date.now())}\n`),
  ),
  // LIST and KILL are admin commands in Redis (so MONITOR does not show them).
  admin(
    clientSub(
      "list",
      -2,
      "Lists open connections.",
      "[TYPE type] [ID client-id [client-id ...]]",
      clientList,
    ),
  ),
  admin(
    clientSub(
      "kill",
      -3,
      "Terminates open connections.",
      "ip:port | [ID client-id] [TYPE type] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME yes-or-no] [MAXAGE maxage]",
      clientKill,
    ),
  ),
  clientSub(
    "reply",
    3,
    "Instructs the server whether to reply to commands.",
    "ON | OFF | SKIP",
    clientReply,
  ),
  clientSub(
    "no-evict",
    3,
    "Accepted for compatibility; nothing is evicted here.",
    "ON | OFF",
    onOff,
  ),
  clientSub(
    "no-touch",
    3,
    "Accepted for compatibility; keys have no access time here.",
    "ON | OFF",
    onOff,
  ),
  ...trackingClientCommands,
  clientSub("help", 2, "Returns helpful text about the different subcommands.", "", () =>
    clientCommands.map((c) => simple(`${c.name.slice(7).toUpperCase()} ${c.syntax}`.trim())),
  ),
];

const conn = (row: Omit<CommandSpec, "group" | "keys"> & { keys?: null }): CommandSpec => ({
  ...row,
  keys: null,
  group: "connection",
});

export const connectionCommands: CommandSpec[] = [
  conn({
    name: "ping",
    arity: -1,
    flags: ["fast"],
    whileSubscribed: true,
    since: "1.0.0",
    summary: "Returns the server's liveliness response.",
    syntax: "[message]",
    handler: ping,
  }),
  conn({
    name: "echo",
    arity: 2,
    flags: ["fast"],
    since: "1.0.0",
    summary: "Returns the given string.",
    syntax: "message",
    handler: (_ctx, args) => args[1]!,
  }),
  conn({
    name: "select",
    arity: 2,
    flags: ["fast", "loading", "stale"],
    since: "1.0.0",
    summary: "Changes the selected database.",
    syntax: "index",
    handler: select,
  }),
  conn({
    name: "quit",
    arity: -1,
    flags: ["no_auth", "fast", "loading", "stale", "noscript", "allow_busy"],
    multi: "runs",
    whileSubscribed: true,
    since: "1.0.0",
    summary: "Closes the connection.",
    syntax: "",
    handler: quit,
  }),
  conn({
    name: "auth",
    arity: -2,
    flags: ["no_auth", "fast", "loading", "stale", "noscript", "allow_busy"],
    since: "1.0.0",
    summary: "Authenticates the connection.",
    syntax: "[username] password",
    handler: auth,
  }),
  conn({
    name: "hello",
    arity: -1,
    flags: ["no_auth", "fast", "loading", "stale", "noscript", "allow_busy"],
    since: "6.0.0",
    summary: "Handshakes with the server, optionally switching to RESP3.",
    syntax: "[protover [AUTH username password] [SETNAME clientname]]",
    handler: hello,
  }),
  conn({
    name: "reset",
    arity: 1,
    flags: ["no_auth", "fast", "loading", "stale", "noscript", "allow_busy"],
    multi: "runs",
    whileSubscribed: true,
    since: "6.2.0",
    summary: "Resets the connection.",
    syntax: "",
    handler: (ctx) => {
      ctx.client.name = null;
      ctx.client.protocol = 2;
      ctx.client.db = 0;
      ctx.client.tx = null;
      ctx.server.store.watches.unwatchAll(ctx.client.watcher);
      ctx.client.replyMode = "on";
      ctx.client.monitoring = false;
      ctx.server.monitors.remove(ctx.client);
      ctx.server.pubsub?.removeClient(ctx.client);
      // Back to the default user, authenticated only if it needs no password (as Redis).
      ctx.server.security?.welcome(ctx.client);
      return simple("RESET");
    },
  }),
  {
    name: "client",
    arity: -2,
    flags: [],
    keys: null,
    group: "connection",
    since: "2.4.0",
    summary: "A container for client connection commands.",
    syntax: "<subcommand> [arguments]",
    subcommands: clientCommands,
  },
];
