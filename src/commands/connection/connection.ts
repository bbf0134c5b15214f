/**
 * Connection commands clients send during handshakes and health checks: PING, ECHO, SELECT,
 * QUIT, HELLO, AUTH, RESET, and the CLIENT container (its subcommands are client.ts). They
 * touch only the calling client's state.
 */
import { errors, RespError } from "../../errors.ts";
import { map, OK, PONG, type Reply, simple } from "../../protocol/reply.ts";
import { REDIS_COMPAT_VERSION } from "../../version.ts";
import { equalsToken, parseInt64, rawText, text } from "../args.ts";
import { dbIndex, int32 } from "../keys/databases.ts";
import type { CommandSpec, Ctx } from "../spec.ts";
import { clientCommands, validName } from "./client.ts";

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

/** What the connection group's rows share: no keys. */
const CONN_ROW = { keys: null, group: "connection" } as const;

export const connectionCommands: CommandSpec[] = [
  {
    ...CONN_ROW,
    name: "ping",
    arity: -1,
    flags: ["fast"],
    whileSubscribed: true,
    since: "1.0.0",
    summary: "Returns the server's liveliness response.",
    syntax: "[message]",
    handler: ping,
  },
  {
    ...CONN_ROW,
    name: "echo",
    arity: 2,
    flags: ["fast", "loading", "stale"],
    since: "1.0.0",
    summary: "Returns the given string.",
    syntax: "message",
    handler: (_ctx, args) => args[1]!,
  },
  {
    ...CONN_ROW,
    name: "select",
    arity: 2,
    flags: ["fast", "loading", "stale"],
    since: "1.0.0",
    summary: "Changes the selected database.",
    syntax: "index",
    handler: select,
  },
  {
    ...CONN_ROW,
    name: "quit",
    arity: -1,
    flags: ["no_auth", "fast", "loading", "stale", "noscript", "allow_busy"],
    multi: "runs",
    whileSubscribed: true,
    since: "1.0.0",
    summary: "Closes the connection.",
    syntax: "",
    handler: quit,
  },
  {
    ...CONN_ROW,
    name: "auth",
    arity: -2,
    flags: ["no_auth", "fast", "loading", "stale", "noscript", "allow_busy"],
    since: "1.0.0",
    summary: "Authenticates the connection.",
    syntax: "[username] password",
    handler: auth,
  },
  {
    ...CONN_ROW,
    name: "hello",
    arity: -1,
    flags: ["no_auth", "fast", "loading", "stale", "noscript", "allow_busy"],
    since: "6.0.0",
    summary: "Handshakes with the server, optionally switching to RESP3.",
    syntax: "[protover [AUTH username password] [SETNAME clientname]]",
    handler: hello,
  },
  {
    ...CONN_ROW,
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
  },
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
