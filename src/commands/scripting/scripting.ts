/**
 * EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP. Handlers parse
 * (numkeys with Redis's checks and texts) and hand over to the server's ScriptEngine
 * (src/scripting), which runs the script atomically on a Lua VM. Also gathers the FUNCTION
 * rows (functions.ts), so the table's input list names scripting once.
 */
import { RespError } from "../../errors.ts";
import { OK, type Reply, simple } from "../../protocol/reply.ts";
import { text, token } from "../args.ts";
import { helpRow, type RowDefaults } from "../rows.ts";
import type { CommandSpec, Ctx, ScriptAdminCtx } from "../spec.ts";
import { functionCommands } from "./functions.ts";
import { engine, numkeysPositions, splitKeys } from "./script-args.ts";

function evalCommand(readOnly: boolean) {
  return (ctx: Ctx, args: Uint8Array[]): Reply | Promise<Reply> => {
    const { keys, argv } = splitKeys(args);
    return engine(ctx).eval(ctx, args[1]!, keys, argv, readOnly, args);
  };
}

function evalshaCommand(readOnly: boolean) {
  return (ctx: Ctx, args: Uint8Array[]): Reply | Promise<Reply> => {
    const { keys, argv } = splitKeys(args);
    const sha = args[1]!.length === 40 ? text(args[1]!) : "";
    return engine(ctx).evalsha(ctx, sha, keys, argv, readOnly, args);
  };
}

function scriptExists(ctx: ScriptAdminCtx, args: Uint8Array[]): Reply {
  const scripts = engine(ctx);
  return args.slice(2).map((sha) => (sha.length === 40 && scripts.exists(text(sha)) ? 1 : 0));
}

function scriptFlush(ctx: ScriptAdminCtx, args: Uint8Array[]): Reply {
  if (
    args.length > 3 ||
    (args.length === 3 && token(args[2]!) !== "SYNC" && token(args[2]!) !== "ASYNC")
  ) {
    throw new RespError("ERR", "SCRIPT FLUSH only support SYNC|ASYNC option");
  }
  engine(ctx).flush();
  return OK;
}

const HELP = [
  "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "DEBUG (YES|SYNC|NO)",
  "    Set the debug mode for subsequent scripts executed.",
  "EXISTS <sha1> [<sha1> ...]",
  "    Return information about the existence of the scripts in the script cache.",
  "FLUSH [ASYNC|SYNC]",
  "    Flush the Lua scripts cache. Very dangerous on replicas.",
  "    When called without the optional mode argument, the behavior is determined by the",
  "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
  "    * ASYNC: Asynchronously flush the scripts cache.",
  "    * SYNC: Synchronously flush the scripts cache.",
  "KILL",
  "    Kill the currently executing Lua script.",
  "LOAD <script>",
  "    Load a script into the scripts cache without executing it.",
  "HELP",
  "    Prints this help.",
];

// EVAL and FCALL rows carry Redis's no_mandatory_keys and skip_monitor (metadata for
// COMMAND INFO: MONITOR shows a script's command before the commands it runs either way).
const evalRow: RowDefaults = {
  flags: ["noscript", "stale", "skip_monitor", "no_mandatory_keys"],
  group: "scripting",
  since: "2.6.0",
  keys: null,
};
const evalRoRow: RowDefaults = {
  flags: ["noscript", "stale", "skip_monitor", "no_mandatory_keys", "readonly"],
  group: "scripting",
  since: "7.0.0",
  keys: null,
};
const scriptSub: RowDefaults = {
  flags: ["noscript", "stale"],
  group: "scripting",
  since: "2.6.0",
  keys: null,
};

/** EVAL-family rows take their keys from numkeys (args[2]). */
const NUMKEYS = { numkeys: 2, find: numkeysPositions } as const;

export const scriptingCommands: CommandSpec[] = [
  {
    ...evalRow,
    name: "eval",
    arity: -3,
    summary: "Executes a server-side Lua script.",
    syntax: "script numkeys [key [key ...]] [arg [arg ...]]",
    handler: evalCommand(false),
    movableKeys: NUMKEYS,
  },
  {
    ...evalRow,
    name: "evalsha",
    arity: -3,
    summary: "Executes a server-side Lua script by SHA1 digest.",
    syntax: "sha1 numkeys [key [key ...]] [arg [arg ...]]",
    handler: evalshaCommand(false),
    movableKeys: NUMKEYS,
  },
  {
    ...evalRoRow,
    name: "eval_ro",
    arity: -3,
    summary: "Executes a read-only server-side Lua script.",
    syntax: "script numkeys [key [key ...]] [arg [arg ...]]",
    handler: evalCommand(true),
    movableKeys: NUMKEYS,
  },
  {
    ...evalRoRow,
    name: "evalsha_ro",
    arity: -3,
    summary: "Executes a read-only server-side Lua script by SHA1 digest.",
    syntax: "sha1 numkeys [key [key ...]] [arg [arg ...]]",
    handler: evalshaCommand(true),
    movableKeys: NUMKEYS,
  },
  {
    name: "script",
    arity: -2,
    flags: [],
    keys: null,
    group: "scripting",
    since: "2.6.0",
    summary: "A container for Lua scripts management commands.",
    syntax: "<subcommand> [arguments]",
    subcommands: [
      {
        ...scriptSub,
        name: "script|load",
        arity: 3,
        summary: "Loads a server-side Lua script to the script cache.",
        syntax: "script",
        handler: (ctx, args) => engine(ctx).load(args[2]!),
      },
      {
        ...scriptSub,
        name: "script|exists",
        arity: -3,
        summary: "Determines whether server-side Lua scripts exist in the script cache.",
        syntax: "sha1 [sha1 ...]",
        handler: scriptExists,
        flags: ["noscript"],
      },
      {
        ...scriptSub,
        name: "script|flush",
        arity: -2,
        summary: "Removes all server-side Lua scripts from the script cache.",
        syntax: "[ASYNC | SYNC]",
        handler: scriptFlush,
        flags: ["noscript"],
      },
      {
        ...scriptSub,
        name: "script|kill",
        arity: 2,
        summary: "Terminates a server-side Lua script during execution.",
        syntax: "",
        handler: (ctx) => engine(ctx).kill("script"),
        flags: ["noscript", "allow_busy"],
      },
      helpRow({
        ...scriptSub,
        name: "script|help",
        arity: 2,
        summary: "Returns helpful text about the different subcommands.",
        syntax: "",
        handler: () => HELP.map((line) => simple(line)),
      }),
    ],
  },
  ...functionCommands,
];
