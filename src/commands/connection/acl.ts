/**
 * ACL and its subcommands (WHOAMI, LIST, USERS, GETUSER, SETUSER, DELUSER, CAT, LOG, SAVE,
 * LOAD, DRYRUN, GENPASS, HELP), in Redis's words. The users and rules live in src/security;
 * this file parses arguments and renders replies only.
 */
import { randomBytes } from "node:crypto";
import { errors, RespError, sanitizeLine } from "../../errors.ts";
import { double, map, OK, type Reply, simple } from "../../protocol/reply.ts";
import { ACL_CATEGORIES, rowsIn } from "../../security/categories.ts";
import { permission } from "../../security/guard.ts";
import type { Security } from "../../security/security.ts";
import { AclRuleError } from "../../security/user.ts";
import { parseInt64, text } from "../args.ts";
import { helpRow, type RowDefaults } from "../rows.ts";
import type { CommandSpec, Ctx } from "../spec.ts";

function security(ctx: Ctx): Security {
  const s = ctx.server.security;
  if (!s) throw new RespError("ERR", "ACL is not available on this server");
  return s;
}

function whoami(ctx: Ctx): Reply {
  return ctx.client.user?.name ?? "default";
}

function list(ctx: Ctx): Reply {
  return security(ctx).acl.list();
}

function users(ctx: Ctx): Reply {
  return [...security(ctx).acl.users.keys()].sort();
}

function getuser(ctx: Ctx, args: Uint8Array[]): Reply {
  const u = security(ctx).acl.users.get(text(args[2]!));
  if (!u) return null;
  return map([
    ["flags", u.flags()],
    ["passwords", [...u.passwords]],
    ["commands", u.commandText()],
    ["keys", u.keysText()],
    ["channels", u.channels.map((c) => `&${c}`).join(" ")],
    ["selectors", []],
  ]);
}

function setuser(ctx: Ctx, args: Uint8Array[]): Reply {
  const rules = args.slice(3).map(text);
  try {
    security(ctx).acl.setUser(text(args[2]!), rules);
  } catch (e) {
    if (!(e instanceof AclRuleError)) throw e;
    throw new RespError(
      "ERR",
      `Error in ACL SETUSER modifier '${sanitizeLine(e.op)}': ${e.reason}`,
    );
  }
  return OK;
}

function deluser(ctx: Ctx, args: Uint8Array[]): Reply {
  const names = args.slice(2).map(text);
  if (names.includes("default")) throw new RespError("ERR", "The 'default' user cannot be removed");
  return security(ctx).acl.deleteUsers(names);
}

function cat(ctx: Ctx, args: Uint8Array[]): Reply {
  if (args.length === 2) return [...ACL_CATEGORIES];
  const name = text(args[2]!).toLowerCase();
  if (!ACL_CATEGORIES.includes(name))
    throw new RespError("ERR", `Unknown category '${sanitizeLine(name)}'`);
  return rowsIn(ctx.server.table.all, name).map((r) => r.name);
}

function log(ctx: Ctx, args: Uint8Array[]): Reply {
  const acl = security(ctx).acl;
  let count: number | undefined;
  if (args.length === 3) {
    if (text(args[2]!).toLowerCase() === "reset") {
      acl.log.reset();
      return OK;
    }
    const n = parseInt64(args[2]!);
    if (n === null || n < 0n) throw new RespError("ERR", "value is out of range, must be positive");
    count = Number(n);
  } else if (args.length > 3) throw errors.syntax();
  const now = Date.now();
  return acl.log.list(count).map((e) =>
    map([
      ["count", e.count],
      ["reason", e.reason],
      ["context", e.context],
      ["object", e.object],
      ["username", e.username],
      ["age-seconds", double((now - e.createdMs) / 1000)],
      ["client-info", e.clientInfo],
      ["entry-id", e.entryId],
      ["timestamp-created", e.createdMs],
      ["timestamp-last-updated", e.updatedMs],
    ]),
  );
}

function save(ctx: Ctx): Reply {
  try {
    security(ctx).acl.saveFile();
  } catch (e) {
    throw new RespError("ERR", sanitizeLine((e as Error).message));
  }
  return OK;
}

function load(ctx: Ctx): Reply {
  try {
    security(ctx).acl.loadFile();
  } catch (e) {
    throw new RespError("ERR", sanitizeLine((e as Error).message));
  }
  return OK;
}

/** ACL DRYRUN user command [arg ...]: would this user be allowed to run it? (Redis 7 texts.) */
function dryrun(ctx: Ctx, args: Uint8Array[]): Reply {
  const name = text(args[2]!);
  const u = security(ctx).acl.users.get(name);
  if (!u) throw new RespError("ERR", `User '${sanitizeLine(name)}' not found`);
  const table = ctx.server.table;
  const cmdArgs = args.slice(3);
  let spec = table.get(text(cmdArgs[0]!).toLowerCase());
  if (!spec) throw new RespError("ERR", `Command '${sanitizeLine(text(cmdArgs[0]!))}' not found`);
  if (spec.subcommands && cmdArgs.length > 1)
    spec = table.sub(spec, text(cmdArgs[1]!).toLowerCase()) ?? spec;
  const arity = spec.arity;
  if (arity > 0 ? cmdArgs.length !== arity : cmdArgs.length < -arity)
    throw errors.wrongArity(spec.name);
  const denial = permission(u, spec, cmdArgs);
  if (denial === null) return OK;
  if (denial.reason === "command")
    return `User ${u.name} has no permissions to run the '${spec.name}' command`;
  return `User ${u.name} has no permissions to access the '${denial.object}' ${denial.reason}`;
}

function genpass(_ctx: Ctx, args: Uint8Array[]): Reply {
  let bits = 256;
  if (args.length === 3) {
    const n = parseInt64(args[2]!);
    if (n === null || n <= 0n || n > 4096n)
      throw new RespError(
        "ERR",
        "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
      );
    bits = Number(n);
  }
  return randomBytes(Math.ceil(bits / 8))
    .toString("hex")
    .slice(0, Math.ceil(bits / 4));
}

const HELP = [
  "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CAT [<category>]",
  "    List all commands that belong to <category>, or all command categories",
  "    when no category is specified.",
  "DELUSER <username> [<username> ...]",
  "    Delete a list of users.",
  "DRYRUN <username> <command> [<arg> ...]",
  "    Returns whether the user can execute the given command without executing the command.",
  "GETUSER <username>",
  "    Get the user's details.",
  "GENPASS [<bits>]",
  "    Generate a secure 256-bit user password. The optional `bits` argument can",
  "    be used to specify a different size.",
  "LIST",
  "    Show users details in config file format.",
  "LOAD",
  "    Reload users from the ACL file.",
  "LOG [<count> | RESET]",
  "    Show the ACL log entries.",
  "SAVE",
  "    Save the current config to the ACL file.",
  "SETUSER <username> <attribute> [<attribute> ...]",
  "    Create or modify a user with the specified attributes.",
  "USERS",
  "    List all the registered usernames.",
  "WHOAMI",
  "    Return the current connection username.",
  "HELP",
  "    Prints this help.",
];

const adminSub: RowDefaults = {
  flags: ["admin", "noscript", "loading", "stale"],
  group: "server",
  since: "6.0.0",
  keys: null,
};
const plainSub: RowDefaults = {
  flags: ["noscript", "loading", "stale"],
  group: "server",
  since: "6.0.0",
  keys: null,
};

const aclSubcommands: CommandSpec[] = [
  {
    ...plainSub,
    name: "acl|whoami",
    arity: 2,
    summary: "Returns the authenticated username of the current connection.",
    syntax: "",
    handler: whoami,
  },
  {
    ...adminSub,
    name: "acl|list",
    arity: 2,
    summary: "Dumps the effective rules in ACL file format.",
    syntax: "",
    handler: list,
  },
  {
    ...adminSub,
    name: "acl|users",
    arity: 2,
    summary: "Lists all ACL users.",
    syntax: "",
    handler: users,
  },
  {
    ...adminSub,
    name: "acl|getuser",
    arity: 3,
    summary: "Lists the ACL rules of a user.",
    syntax: "username",
    handler: getuser,
  },
  {
    ...adminSub,
    name: "acl|setuser",
    arity: -3,
    summary: "Creates and modifies an ACL user and its rules.",
    syntax: "username [rule [rule ...]]",
    handler: setuser,
  },
  {
    ...adminSub,
    name: "acl|deluser",
    arity: -3,
    summary: "Deletes ACL users, and terminates their connections.",
    syntax: "username [username ...]",
    handler: deluser,
  },
  {
    ...plainSub,
    name: "acl|cat",
    arity: -2,
    summary: "Lists the ACL categories, or the commands inside a category.",
    syntax: "[category]",
    handler: cat,
  },
  {
    ...adminSub,
    name: "acl|log",
    arity: -2,
    summary: "Lists recent security events generated due to ACL rules.",
    syntax: "[count | RESET]",
    handler: log,
  },
  {
    ...adminSub,
    name: "acl|save",
    arity: 2,
    summary: "Saves the effective ACL rules in the configured ACL file.",
    syntax: "",
    handler: save,
  },
  {
    ...adminSub,
    name: "acl|load",
    arity: 2,
    summary: "Reloads the rules from the configured ACL file.",
    syntax: "",
    handler: load,
  },
  {
    ...adminSub,
    name: "acl|dryrun",
    arity: -4,
    summary: "Simulates the execution of a command by a user, without executing the command.",
    syntax: "username command [arg [arg ...]]",
    handler: dryrun,
    since: "7.0.0",
  },
  {
    ...plainSub,
    name: "acl|genpass",
    arity: -2,
    summary: "Generates a pseudorandom, secure password that can be used to identify ACL users.",
    syntax: "[bits]",
    handler: genpass,
  },
  helpRow({
    ...plainSub,
    name: "acl|help",
    arity: 2,
    summary: "Returns helpful text about the different subcommands.",
    syntax: "",
    handler: () => HELP.map((line) => simple(line)),
  }),
];

export const aclCommands: CommandSpec[] = [
  {
    name: "acl",
    arity: -2,
    flags: [],
    keys: null,
    group: "server",
    since: "6.0.0",
    summary: "A container for Access List Control commands.",
    syntax: "<subcommand> [arguments]",
    subcommands: aclSubcommands,
  },
];
