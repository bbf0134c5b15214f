/**
 * Connection commands clients send during handshakes and health checks: PING, ECHO, SELECT,
 * QUIT, HELLO, AUTH, RESET and CLIENT. They touch only the calling client's state.
 */
import { errors, RespError } from "../errors.ts";
import { map, OK, PONG, type Reply, simple } from "../protocol/reply.ts";
import { REDIS_COMPAT_VERSION } from "../version.ts";
import { equalsToken, parseInt64, text, token } from "./args.ts";
import type { ClientState, CommandSpec, Ctx } from "./spec.ts";

function ping(_ctx: Ctx, args: Uint8Array[]): Reply {
  if (args.length > 2) throw errors.wrongArity("ping");
  return args.length === 2 ? args[1]! : PONG;
}

function select(_ctx: Ctx, args: Uint8Array[]): Reply {
  const db = parseInt64(args[1]!);
  if (db === null) throw errors.notInteger();
  if (db !== 0n) throw new RespError("ERR", "DB index is out of range");
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

function auth(_ctx: Ctx, args: Uint8Array[]): Reply {
  if (args.length > 3) throw errors.syntax();
  throw noPassword();
}

/** HELLO [protover [AUTH user pass] [SETNAME name]]: switches RESP version, returns server facts. */
function hello(ctx: Ctx, args: Uint8Array[]): Reply {
  let protocol = ctx.client.protocol;
  if (args.length >= 2) {
    const v = parseInt64(args[1]!);
    if (v === null) throw new RespError("ERR", "Protocol version is not an integer or out of range");
    if (v !== 2n && v !== 3n) throw new RespError("NOPROTO", "unsupported protocol version");
    protocol = Number(v) as 2 | 3;
  }
  let name: string | null | undefined;
  for (let i = 2; i < args.length; i++) {
    const more = args.length - 1 - i;
    if (equalsToken(args[i]!, "AUTH") && more >= 2) {
      // No passwords are configured, so any AUTH attempt fails the way Redis's does.
      if (text(args[i + 1]!) !== "default") throw new RespError("WRONGPASS", "invalid username-password pair or user is disabled.");
      i += 2;
    } else if (equalsToken(args[i]!, "SETNAME") && more >= 1) {
      name = validName(args[++i]!);
    } else {
      throw new RespError("ERR", `Syntax error in HELLO option '${text(args[i]!).replace(/[\r\n]/g, " ")}'`);
    }
  }
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
      throw new RespError("ERR", "Client names cannot contain spaces, newlines or special characters.");
    }
  }
  return arg.length === 0 ? null : text(arg);
}

function clientInfoLine(c: ClientState, now: number): string {
  const age = Math.floor((now - c.createdAt) / 1000);
  const idle = Math.floor((now - c.lastInteraction) / 1000);
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=0 name=${c.name ?? ""} age=${age} idle=${idle} flags=N db=0 ` +
    `sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 ` +
    `tot-mem=0 events=r cmd=${c.lastCommand} user=default redir=-1 resp=${c.protocol} ` +
    `lib-name=${c.libName ?? ""} lib-ver=${c.libVer ?? ""}`
  );
}

function clientList(ctx: Ctx): Reply {
  const now = Date.now();
  let out = "";
  for (const c of ctx.server.clients.values()) out += `${clientInfoLine(c, now)}\n`;
  return out;
}

function clientSetinfo(ctx: Ctx, args: Uint8Array[]): Reply {
  const attr = token(args[2]!);
  const value = args[3]!;
  for (const b of value) {
    if (b < 33 || b > 126) {
      throw new RespError("ERR", `${attr === "LIB-NAME" ? "lib-name" : "lib-ver"} cannot contain spaces, newlines or special characters.`);
    }
  }
  if (attr === "LIB-NAME") ctx.client.libName = text(value);
  else if (attr === "LIB-VER") ctx.client.libVer = text(value);
  else throw new RespError("ERR", `Unrecognized option '${text(args[2]!).replace(/[\r\n]/g, " ")}'`);
  return OK;
}

function clientKill(ctx: Ctx, args: Uint8Array[]): Reply {
  // CLIENT KILL ID <id> | ADDR <ip:port> | <ip:port> (old form).
  const match = (c: ClientState): boolean => {
    if (args.length === 3) return c.addr === text(args[2]!);
    if (args.length === 4 && equalsToken(args[2]!, "ID")) return String(c.id) === text(args[3]!);
    if (args.length === 4 && equalsToken(args[2]!, "ADDR")) return c.addr === text(args[3]!);
    throw errors.syntax();
  };
  const victims = [...ctx.server.clients.values()].filter(match);
  if (args.length === 3 && victims.length === 0) throw new RespError("ERR", "No such client");
  for (const v of victims) v.kill();
  return args.length === 3 ? OK : victims.length;
}

const clientSub = (name: string, arity: number, summary: string, syntax: string, handler: CommandSpec["handler"]): CommandSpec => ({
  name: `client|${name}`, arity, flags: ["noauth", "stale", "loading"], keys: null, group: "connection",
  since: "2.4.0", summary, syntax, handler,
});

const clientCommands: CommandSpec[] = [
  clientSub("setname", 3, "Sets the connection name.", "connection-name", (ctx, args) => {
    ctx.client.name = validName(args[2]!);
    return OK;
  }),
  clientSub("getname", 2, "Returns the name of the connection.", "", (ctx) => ctx.client.name),
  clientSub("id", 2, "Returns the unique client ID of the connection.", "", (ctx) => ctx.client.id),
  clientSub("setinfo", 4, "Sets information specific to the client or connection.",
    "LIB-NAME libname | LIB-VER libver", clientSetinfo),
  clientSub("info", 2, "Returns information about the connection.", "", (ctx) => `${clientInfoLine(ctx.client, Date.now())}\n`),
  clientSub("list", -2, "Lists open connections.", "[TYPE NORMAL] [ID client-id ...]", clientList),
  clientSub("kill", -3, "Terminates open connections.", "ID client-id | ADDR ip:port | ip:port", clientKill),
  clientSub("no-evict", 3, "Accepted for compatibility; nothing is evicted here.", "ON | OFF", () => OK),
  clientSub("no-touch", 3, "Accepted for compatibility; keys have no access time here.", "ON | OFF", () => OK),
  clientSub("help", 2, "Returns helpful text about the different subcommands.", "", () =>
    clientCommands.map((c) => simple(`${c.name.slice(7).toUpperCase()} ${c.syntax}`.trim()))),
];

const conn = (row: Omit<CommandSpec, "group" | "keys"> & { keys?: null }): CommandSpec => ({
  ...row, keys: null, group: "connection",
});

export const connectionCommands: CommandSpec[] = [
  conn({ name: "ping", arity: -1, flags: ["fast", "stale"], since: "1.0.0", summary: "Returns the server's liveliness response.",
    syntax: "[message]", handler: ping }),
  conn({ name: "echo", arity: 2, flags: ["fast"], since: "1.0.0", summary: "Returns the given string.", syntax: "message",
    handler: (_ctx, args) => args[1]! }),
  conn({ name: "select", arity: 2, flags: ["fast", "loading", "stale"], since: "1.0.0",
    summary: "Changes the selected database (only database 0 exists).", syntax: "index", handler: select }),
  conn({ name: "quit", arity: -1, flags: ["noauth", "fast", "loading", "stale"], since: "1.0.0",
    summary: "Closes the connection.", syntax: "", handler: quit }),
  conn({ name: "auth", arity: -2, flags: ["noauth", "fast", "loading", "stale"], since: "1.0.0",
    summary: "Authenticates the connection (no passwords are configured).", syntax: "[username] password", handler: auth }),
  conn({ name: "hello", arity: -1, flags: ["noauth", "fast", "loading", "stale"], since: "6.0.0",
    summary: "Handshakes with the server, optionally switching to RESP3.",
    syntax: "[protover [AUTH username password] [SETNAME clientname]]", handler: hello }),
  conn({ name: "reset", arity: 1, flags: ["noauth", "fast", "loading", "stale"], since: "6.2.0",
    summary: "Resets the connection.", syntax: "", handler: (ctx) => {
      ctx.client.name = null;
      ctx.client.protocol = 2;
      return simple("RESET");
    } }),
  { name: "client", arity: -2, flags: [], keys: null, group: "connection", since: "2.4.0",
    summary: "A container for client connection commands.", syntax: "<subcommand> [arguments]", subcommands: clientCommands },
];
