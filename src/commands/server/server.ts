/**
 * Server commands: INFO, COMMAND and its subcommands, TIME and SHUTDOWN; CONFIG (config.ts)
 * and MEMORY (memory.ts) rows are gathered here. COMMAND replies are generated from the table rows (docs.ts).
 */
import { errors, RespError } from "../../errors.ts";
import { map, NO_REPLY, type Reply, simple, verbatim } from "../../protocol/reply.ts";
import { text } from "../args.ts";
import { configCommands } from "../config/commands.ts";
import { globMatch } from "../glob.ts";
import { helpRow, type RowDefaults } from "../rows.ts";
import type { CommandSpec, Ctx } from "../spec.ts";
import { keyPositionsOf } from "../table.ts";
import { commandDocs, commandInfo } from "./docs.ts";
import { renderInfo } from "./info.ts";
import { memoryCommands } from "./memory.ts";

function info(ctx: Ctx, args: Uint8Array[]): Reply {
  return verbatim(renderInfo(ctx.server, args.slice(1).map(text)));
}

function time(): Reply {
  const us = BigInt(Date.now()) * 1000n + BigInt(Math.floor((performance.now() % 1) * 1000));
  return [String(us / 1_000_000n), String(us % 1_000_000n)];
}

function named(ctx: Ctx, args: Uint8Array[]): CommandSpec[] {
  const table = ctx.server.table;
  return args.slice(2).map((a) => {
    const name = text(a).toLowerCase();
    const [parent, sub] = name.split("|");
    const spec = table.get(parent ?? "");
    return (sub && spec ? table.sub(spec, sub) : spec) as CommandSpec;
  });
}

const commandSub: RowDefaults = {
  flags: ["loading", "stale"],
  group: "server",
  since: "2.8.13",
  keys: null,
};

/** Redis's COMMAND HELP, line for line, less GETKEYSANDFLAGS (not served here). */
const COMMAND_HELP = [
  "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "(no subcommand)",
  "    Return details about all Redis commands.",
  "COUNT",
  "    Return the total number of commands in this Redis server.",
  "LIST",
  "    Return a list of all commands in this Redis server.",
  "INFO [<command-name> ...]",
  "    Return details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "DOCS [<command-name> ...]",
  "    Return documentation details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "GETKEYS <full-command>",
  "    Return the keys from a full Redis command.",
  "HELP",
  "    Prints this help.",
];

const commandSubs: CommandSpec[] = [
  {
    ...commandSub,
    name: "command|count",
    arity: 2,
    summary: "Returns a count of commands.",
    syntax: "",
    handler: (ctx) => ctx.server.table.all.length,
  },
  {
    ...commandSub,
    name: "command|info",
    arity: -2,
    summary: "Returns information about one, multiple or all commands.",
    syntax: "[command-name [command-name ...]]",
    handler: (ctx, args) =>
      (args.length === 2 ? ctx.server.table.all : named(ctx, args)).map((s) =>
        s ? commandInfo(s) : null,
      ),
  },
  {
    ...commandSub,
    name: "command|docs",
    arity: -2,
    summary: "Returns documentary information about one, multiple or all commands.",
    syntax: "[command-name [command-name ...]]",
    handler: (ctx, args) => {
      const specs = args.length === 2 ? ctx.server.table.all : named(ctx, args).filter(Boolean);
      return map(specs.map((s) => [s.name, commandDocs(s)] as const));
    },
  },
  {
    ...commandSub,
    name: "command|list",
    arity: -2,
    summary: "Returns a list of command names.",
    syntax: "[FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]",
    handler: (ctx, args) => {
      let names = ctx.server.table.all.map((s) => s.name);
      if (args.length === 5 && text(args[3]!).toUpperCase() === "PATTERN") {
        const p = args[4]!;
        names = names.filter((n) => globMatch(p, new TextEncoder().encode(n)));
      } else if (args.length !== 2) throw errors.syntax();
      return names;
    },
  },
  {
    ...commandSub,
    name: "command|getkeys",
    arity: -3,
    summary: "Extracts the key names from an arbitrary command.",
    syntax: "command [arg [arg ...]]",
    handler: (ctx, args) => {
      const spec = ctx.server.table.get(text(args[2]!).toLowerCase());
      if (!spec) throw new RespError("ERR", "Invalid command specified");
      if (!spec.keys && !spec.movableKeys)
        throw new RespError("ERR", "The command has no key arguments");
      const argv = args.slice(2);
      // EVAL and FCALL may have no keys (Redis's no-mandatory-keys): then an empty list.
      return keyPositionsOf(spec, argv).map((i) => argv[i]!);
    },
  },
  helpRow({
    ...commandSub,
    name: "command|help",
    arity: 2,
    summary: "Returns helpful text about the different subcommands.",
    syntax: "",
    handler: () => COMMAND_HELP.map((line) => simple(line)),
  }),
];

/**
 * SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT] with Redis's checks. Every write is in
 * SQLite already, so SAVE and NOSAVE shut down alike, except while a script is busy: then
 * only NOSAVE is let through, and it stops the script first (Redis's rule).
 */
function shutdown(ctx: Ctx, args: Uint8Array[]): Reply {
  const seen = new Set<string>();
  for (const arg of args.slice(1)) {
    const t = text(arg).toLowerCase();
    if (!["nosave", "save", "now", "force", "abort"].includes(t)) throw errors.syntax();
    seen.add(t);
  }
  if ((seen.has("abort") && seen.size > 1) || (seen.has("nosave") && seen.has("save")))
    throw errors.syntax();
  // No shutdown ever waits here (there are no replicas to wait for), so none can be aborted.
  if (seen.has("abort")) throw new RespError("ERR", "No shutdown in progress.");
  const refused = ctx.server.scripting?.shutdownCheck(seen.has("nosave")) ?? null;
  if (refused) return refused;
  // Like Redis: a successful SHUTDOWN sends no reply; the connection just closes.
  ctx.client.closeAfterReply = true;
  ctx.server.shutdown();
  return NO_REPLY;
}

export const serverCommands: CommandSpec[] = [
  ...configCommands,
  ...memoryCommands,
  {
    name: "info",
    acl: ["@dangerous"],
    arity: -1,
    flags: ["loading", "stale"],
    keys: null,
    group: "server",
    since: "1.0.0",
    summary: "Returns information and statistics about the server.",
    syntax: "[section [section ...]]",
    handler: info,
  },
  {
    name: "time",
    arity: 1,
    flags: ["loading", "stale", "fast"],
    keys: null,
    group: "server",
    since: "2.6.0",
    summary: "Returns the server time.",
    syntax: "",
    handler: time,
  },
  {
    name: "command",
    arity: -1,
    flags: ["loading", "stale"],
    keys: null,
    group: "server",
    since: "2.8.13",
    summary: "Returns detailed information about all commands.",
    syntax: "[subcommand [arguments]]",
    handler: (ctx) => ctx.server.table.all.map(commandInfo),
    subcommands: commandSubs,
  },
  {
    name: "shutdown",
    arity: -1,
    flags: ["admin", "noscript", "loading", "stale", "no_multi", "allow_busy"],
    keys: null,
    group: "server",
    since: "1.0.0",
    summary: "Stops the server after committing every queued write.",
    syntax: "[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]",
    handler: shutdown,
  },
];
