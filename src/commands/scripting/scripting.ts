/**
 * EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP. Handlers parse
 * (numkeys with Redis's checks and texts) and hand over to the server's ScriptEngine
 * (src/scripting), which runs the script atomically on a Lua VM. Also gathers the FUNCTION
 * rows (functions.ts), so the table's input list names scripting once.
 */
import { RespError } from "../../errors.ts";
import { OK, type Reply, simple } from "../../protocol/reply.ts";
import { text, token } from "../args.ts";
import { helpRow, rowMaker } from "../rows.ts";
import type { CommandSpec, Ctx } from "../spec.ts";
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

function scriptExists(ctx: Ctx, args: Uint8Array[]): Reply {
  const scripts = engine(ctx);
  return args.slice(2).map((sha) => (sha.length === 40 && scripts.exists(text(sha)) ? 1 : 0));
}

function scriptFlush(ctx: Ctx, args: Uint8Array[]): Reply {
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
const evalRow = rowMaker({
  flags: ["noscript", "stale", "skip_monitor", "no_mandatory_keys"],
  group: "scripting",
  since: "2.6.0",
});
const evalRoRow = rowMaker({
  flags: ["noscript", "stale", "skip_monitor", "no_mandatory_keys", "readonly"],
  group: "scripting",
  since: "7.0.0",
});
const scriptSub = rowMaker({
  container: "script",
  flags: ["noscript", "stale"],
  group: "scripting",
  since: "2.6.0",
});

/** EVAL-family rows take their keys from numkeys (args[2]). */
const NUMKEYS = { numkeys: 2, find: numkeysPositions } as const;

export const scriptingCommands: CommandSpec[] = [
  {
    ...evalRow(
      "eval",
      -3,
      "Executes a server-side Lua script.",
      "script numkeys [key [key ...]] [arg [arg ...]]",
      evalCommand(false),
    ),
    movableKeys: NUMKEYS,
  },
  {
    ...evalRow(
      "evalsha",
      -3,
      "Executes a server-side Lua script by SHA1 digest.",
      "sha1 numkeys [key [key ...]] [arg [arg ...]]",
      evalshaCommand(false),
    ),
    movableKeys: NUMKEYS,
  },
  {
    ...evalRoRow(
      "eval_ro",
      -3,
      "Executes a read-only server-side Lua script.",
      "script numkeys [key [key ...]] [arg [arg ...]]",
      evalCommand(true),
    ),
    movableKeys: NUMKEYS,
  },
  {
    ...evalRoRow(
      "evalsha_ro",
      -3,
      "Executes a read-only server-side Lua script by SHA1 digest.",
      "sha1 numkeys [key [key ...]] [arg [arg ...]]",
      evalshaCommand(true),
    ),
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
      scriptSub(
        "load",
        3,
        "Loads a server-side Lua script to the script cache.",
        "script",
        (ctx, args) => engine(ctx).load(args[2]!),
      ),
      {
        ...scriptSub(
          "exists",
          -3,
          "Determines whether server-side Lua scripts exist in the script cache.",
          "sha1 [sha1 ...]",
          scriptExists,
        ),
        flags: ["noscript"],
      },
      {
        ...scriptSub(
          "flush",
          -2,
          "Removes all server-side Lua scripts from the script cache.",
          "[ASYNC | SYNC]",
          scriptFlush,
        ),
        flags: ["noscript"],
      },
      {
        ...scriptSub(
          "kill",
          2,
          "Terminates a server-side Lua script during execution.",
          "",
          (ctx) => engine(ctx).kill("script"),
        ),
        flags: ["noscript", "allow_busy"],
      },
      helpRow(
        scriptSub("help", 2, "Returns helpful text about the different subcommands.", "", () =>
          HELP.map((line) => simple(line)),
        ),
      ),
    ],
  },
  ...functionCommands,
];
