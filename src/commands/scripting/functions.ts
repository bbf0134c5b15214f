/**
 * FUNCTION LOAD|LIST|DELETE|FLUSH|DUMP|RESTORE|STATS|KILL|HELP and FCALL / FCALL_RO, with
 * Redis 7's argument rules and error texts. The libraries live in the server's ScriptEngine
 * (src/scripting/functions.ts); this file only parses and shapes replies.
 */
import { RespError } from "../../errors.ts";
import { map, OK, type Reply, set, simple } from "../../protocol/reply.ts";
import type { RestorePolicy } from "../../scripting/functions.ts";
import { text, token } from "../args.ts";
import { globMatch } from "../glob.ts";
import { helpRow, type RowDefaults } from "../rows.ts";
import type { CommandSpec, Ctx, ScriptAdminCtx } from "../spec.ts";
import { engine, numkeysPositions, splitKeys } from "./script-args.ts";

const encoder = new TextEncoder();

/** Redis's reply for a FUNCTION subcommand given too many arguments. */
function unknownSubcommand(name: string): RespError {
  return new RespError(
    "ERR",
    `unknown subcommand or wrong number of arguments for '${name}'. Try FUNCTION HELP.`,
  );
}

function functionLoad(ctx: ScriptAdminCtx, args: Uint8Array[]): Reply {
  let replace = false;
  for (let i = 2; i < args.length - 1; i++) {
    if (token(args[i]!) === "REPLACE") replace = true;
    else throw new RespError("ERR", `Unknown option given: ${text(args[i]!)}`);
  }
  return engine(ctx).functions.load(args[args.length - 1]!, replace);
}

function functionList(ctx: ScriptAdminCtx, args: Uint8Array[]): Reply {
  let withCode = false;
  let pattern: Uint8Array | null = null;
  for (let i = 2; i < args.length; i++) {
    const t = token(args[i]!);
    if (!withCode && t === "WITHCODE") withCode = true;
    else if (pattern === null && t === "LIBRARYNAME") {
      if (i >= args.length - 1) throw new RespError("ERR", "library name argument was not given");
      pattern = args[++i]!;
    } else throw new RespError("ERR", `Unknown argument ${text(args[i]!)}`);
  }
  const out: Reply[] = [];
  for (const library of engine(ctx).functions.list()) {
    if (pattern && !globMatch(lowerBytes(pattern), lowerBytes(encoder.encode(library.name))))
      continue;
    const functions = [...library.functions.values()].map((fn) =>
      map([
        ["name", fn.name],
        ["description", fn.description],
        ["flags", set(fn.flags.map((f) => simple(f)))],
      ]),
    );
    const entries: [Reply, Reply][] = [
      ["library_name", library.name],
      ["engine", "LUA"],
      ["functions", functions],
    ];
    if (withCode) entries.push(["library_code", library.code]);
    out.push(map(entries));
  }
  return out;
}

function lowerBytes(b: Uint8Array): Uint8Array {
  return encoder.encode(new TextDecoder().decode(b).toLowerCase());
}

function functionFlush(ctx: ScriptAdminCtx, args: Uint8Array[]): Reply {
  if (args.length > 3) throw unknownSubcommand(text(args[1]!));
  if (args.length === 3 && token(args[2]!) !== "SYNC" && token(args[2]!) !== "ASYNC") {
    throw new RespError("ERR", "FUNCTION FLUSH only supports SYNC|ASYNC option");
  }
  engine(ctx).functions.flush();
  return OK;
}

function functionRestore(ctx: ScriptAdminCtx, args: Uint8Array[]): Reply {
  if (args.length > 4) throw unknownSubcommand(text(args[1]!));
  let policy: RestorePolicy = "APPEND";
  if (args.length === 4) {
    const t = token(args[3]!);
    if (t !== "FLUSH" && t !== "APPEND" && t !== "REPLACE") {
      throw new RespError(
        "ERR",
        "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
      );
    }
    policy = t;
  }
  engine(ctx).functions.restore(args[2]!, policy);
  return OK;
}

function functionStats(ctx: ScriptAdminCtx): Reply {
  const scripts = engine(ctx);
  const running = scripts.running;
  const functions = scripts.functions;
  return map([
    [
      "running_script",
      running
        ? map([
            ["name", running.name],
            ["command", running.command],
            ["duration_ms", Math.floor(performance.now() - running.state.startedAt)],
          ])
        : null,
    ],
    [
      "engines",
      map([
        [
          "LUA",
          map([
            ["libraries_count", functions.list().length],
            ["functions_count", functions.functionCount],
          ]),
        ],
      ]),
    ],
  ]);
}

function fcall(readOnly: boolean) {
  return (ctx: Ctx, args: Uint8Array[]): Reply | Promise<Reply> => {
    const { keys, argv } = splitKeys(args);
    return engine(ctx).fcall(ctx, text(args[1]!), keys, argv, readOnly, args);
  };
}

const HELP = [
  "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "LOAD [REPLACE] <FUNCTION CODE>",
  "    Create a new library with the given library name and code.",
  "DELETE <LIBRARY NAME>",
  "    Delete the given library.",
  "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
  "    Return general information on all the libraries:",
  "    * Library name",
  "    * The engine used to run the Library",
  "    * Library description",
  "    * Functions list",
  "    * Library code (if WITHCODE is given)",
  "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
  "STATS",
  "    Return information about the current function running:",
  "    * Function name",
  "    * Command used to run the function",
  "    * Duration in MS that the function is running",
  "    If no function is running, return nil",
  "    In addition, returns a list of available engines.",
  "KILL",
  "    Kill the current running function.",
  "FLUSH [ASYNC|SYNC]",
  "    Delete all the libraries.",
  "    When called without the optional mode argument, the behavior is determined by the",
  "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
  "    * ASYNC: Asynchronously flush the libraries.",
  "    * SYNC: Synchronously flush the libraries.",
  "DUMP",
  "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
  "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
  "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
  "    control how to handle existing libraries (default APPEND):",
  "    * FLUSH: delete all existing libraries.",
  "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
  "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
  "      libraries with the new libraries (notice that even on this option there is a chance of failure",
  "      in case of functions name collision with another library).",
  "HELP",
  "    Prints this help.",
];

const sub: RowDefaults = {
  flags: ["noscript"],
  group: "scripting",
  since: "7.0.0",
  keys: null,
};
const writeSub: RowDefaults = {
  flags: ["write", "denyoom", "noscript"],
  group: "scripting",
  since: "7.0.0",
  keys: null,
};
const fcallRow: RowDefaults = {
  flags: ["noscript", "stale", "skip_monitor", "no_mandatory_keys"],
  group: "scripting",
  since: "7.0.0",
  keys: null,
};
const fcallRoRow: RowDefaults = {
  flags: ["noscript", "stale", "skip_monitor", "no_mandatory_keys", "readonly"],
  group: "scripting",
  since: "7.0.0",
  keys: null,
};
const NUMKEYS = { numkeys: 2, find: numkeysPositions } as const;

export const functionCommands: CommandSpec[] = [
  {
    ...fcallRow,
    name: "fcall",
    arity: -3,
    summary: "Invokes a function.",
    syntax: "function numkeys [key [key ...]] [arg [arg ...]]",
    handler: fcall(false),
    movableKeys: NUMKEYS,
  },
  {
    ...fcallRoRow,
    name: "fcall_ro",
    arity: -3,
    summary: "Invokes a read-only function.",
    syntax: "function numkeys [key [key ...]] [arg [arg ...]]",
    handler: fcall(true),
    movableKeys: NUMKEYS,
  },
  {
    name: "function",
    arity: -2,
    flags: [],
    keys: null,
    group: "scripting",
    since: "7.0.0",
    summary: "A container for function commands.",
    syntax: "<subcommand> [arguments]",
    subcommands: [
      {
        ...writeSub,
        name: "function|load",
        arity: -3,
        summary: "Creates a library.",
        syntax: "[REPLACE] function-code",
        handler: functionLoad,
      },
      {
        ...sub,
        name: "function|list",
        arity: -2,
        summary: "Returns information about all libraries.",
        syntax: "[LIBRARYNAME library-name-pattern] [WITHCODE]",
        handler: functionList,
      },
      {
        ...writeSub,
        name: "function|delete",
        arity: 3,
        summary: "Deletes a library and its functions.",
        syntax: "library-name",
        handler: (ctx, args) => {
          engine(ctx).functions.delete(text(args[2]!));
          return OK;
        },
        flags: ["write", "noscript"],
      },
      {
        ...writeSub,
        name: "function|flush",
        arity: -2,
        summary: "Deletes all libraries and functions.",
        syntax: "[ASYNC | SYNC]",
        handler: functionFlush,
        flags: ["write", "noscript"],
      },
      {
        ...sub,
        name: "function|dump",
        arity: 2,
        summary: "Dumps all libraries into a serialized binary payload.",
        syntax: "",
        handler: (ctx) => engine(ctx).functions.dump(),
      },
      {
        ...writeSub,
        name: "function|restore",
        arity: -3,
        summary: "Restores all libraries from a payload.",
        syntax: "serialized-value [FLUSH | APPEND | REPLACE]",
        handler: functionRestore,
      },
      {
        ...sub,
        name: "function|stats",
        arity: 2,
        summary: "Returns information about a function during execution.",
        syntax: "",
        handler: functionStats,
        flags: ["noscript", "allow_busy"],
      },
      {
        ...sub,
        name: "function|kill",
        arity: 2,
        summary: "Terminates a function during execution.",
        syntax: "",
        handler: (ctx) => engine(ctx).kill("function"),
        flags: ["noscript", "allow_busy"],
      },
      helpRow({
        ...sub,
        name: "function|help",
        arity: 2,
        summary: "Returns helpful text about the different subcommands.",
        syntax: "",
        handler: () => HELP.map((line) => simple(line)),
      }),
    ],
  },
];
