/**
 * Server commands: INFO, COMMAND and its subcommands, TIME, CONFIG (a read-only view) and
 * SHUTDOWN. COMMAND replies are generated from the table rows (docs.ts).
 */
import { errors, RespError, sanitizeLine } from "../errors.ts";
import { map, NO_REPLY, OK, type Reply, verbatim } from "../protocol/reply.ts";
import { parseInt64, text } from "./args.ts";
import { commandDocs, commandInfo } from "./docs.ts";
import { globMatch } from "./glob.ts";
import { renderInfo } from "./info.ts";
import { SlowLog, setSlowlogParameter } from "./observability.ts";
import { rowMaker } from "./rows.ts";
import type { CommandSpec, Ctx, ServerContext } from "./spec.ts";

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

/** The values tools ask CONFIG GET for, plus our own keys under their config-file names. */
function configView(s: ServerContext): [string, string][] {
  const c = s.config;
  return [
    ["save", ""],
    ["appendonly", "no"],
    ["appendfsync", c.sqlite.synchronous === "FULL" ? "always" : "everysec"],
    ["databases", String(s.store.databases)],
    ...hashLimitNames.map(([name, field]): [string, string] => [
      name,
      String(s.store.hashLimits[field]),
    ]),
    ["maxmemory", "0"],
    ["maxmemory-policy", "noeviction"],
    ["maxclients", "10000"],
    ["timeout", "0"],
    ["tcp-keepalive", "0"],
    ["hz", "10"],
    ["notify-keyspace-events", ""],
    ["slowlog-log-slower-than", String(s.stats.slowlog.thresholdUsec)],
    ["slowlog-max-len", String(s.stats.slowlog.maxLen)],
    ["port", String(s.port())],
    ["bind", c.addr.host],
    ["proto-max-bulk-len", String(512 * 1024 * 1024)],
    ["cluster-enabled", c.cluster.enabled ? "yes" : "no"],
    ["dir", c.dataDir],
    ["data_dir", c.dataDir],
    ["num_shards", String(c.numShards)],
    ["async_write", String(c.asyncWrite)],
    ["batch_size", String(c.batchSize)],
    ["batch_timeout_ms", String(c.batchTimeoutMs)],
  ];
}

/**
 * When a small hash converts to the large encoding: Redis's names (the ziplist ones are its
 * old aliases) for the Store's shared hashLimits, which CONFIG SET changes in place.
 */
const hashLimitNames: readonly [string, "maxEntries" | "maxValueBytes"][] = [
  ["hash-max-listpack-entries", "maxEntries"],
  ["hash-max-listpack-value", "maxValueBytes"],
  ["hash-max-ziplist-entries", "maxEntries"],
  ["hash-max-ziplist-value", "maxValueBytes"],
];

/** A hash limit value as Redis's CONFIG SET parses it (0..LLONG_MAX). */
function hashLimitValue(name: string, raw: Uint8Array): number {
  const n = parseInt64(raw);
  const failed = (why: string) =>
    new RespError(
      "ERR",
      `CONFIG SET failed (possibly related to argument '${sanitizeLine(name)}') - ${why}`,
    );
  if (n === null) throw failed("argument couldn't be parsed into an integer");
  if (n < 0n) throw failed("argument must be between 0 and 9223372036854775807 inclusive");
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/**
 * CONFIG SET: the slow-log parameters and the hash encoding limits change at run time (as in
 * Redis, not persisted); setting any other known parameter to its current value is accepted
 * (tools do that), anything else is refused with an error that says where the setting lives.
 * All pairs are checked before any is applied.
 */
function configSet(ctx: Ctx, args: Uint8Array[]): Reply {
  if (args.length % 2 !== 0) throw errors.wrongArity("config|set");
  const view = new Map(configView(ctx.server));
  const slowlog: [string, Uint8Array][] = [];
  const hashLimits: ["maxEntries" | "maxValueBytes", number][] = [];
  for (let i = 2; i < args.length; i += 2) {
    const name = text(args[i]!).toLowerCase();
    const value = text(args[i + 1]!);
    if (name === "slowlog-log-slower-than" || name === "slowlog-max-len") {
      slowlog.push([name, args[i + 1]!]);
      continue;
    }
    const limit = hashLimitNames.find(([n]) => n === name);
    if (limit) {
      hashLimits.push([limit[1], hashLimitValue(name, args[i + 1]!)]);
      continue;
    }
    const current = view.get(name);
    if (current === undefined) {
      throw new RespError(
        "ERR",
        `Unknown option or number of arguments for CONFIG SET - '${sanitizeLine(name)}'`,
      );
    }
    if (current !== value) {
      throw new RespError(
        "ERR",
        `CONFIG SET '${sanitizeLine(name)}' is not supported at run time; set it in the config file and restart the server`,
      );
    }
  }
  // Parse every slow-log value before applying any of them.
  const probe = new SlowLog();
  for (const [name, value] of slowlog) setSlowlogParameter(probe, name, value);
  for (const [name, value] of slowlog) setSlowlogParameter(ctx.server.stats.slowlog, name, value);
  // Mutated in place: every key table holds this very object.
  for (const [field, value] of hashLimits) ctx.server.store.hashLimits[field] = value;
  return OK;
}

function configGet(ctx: Ctx, args: Uint8Array[]): Reply {
  const view = configView(ctx.server);
  const out: [Reply, Reply][] = [];
  const seen = new Set<string>();
  for (const pattern of args.slice(2)) {
    const p = new TextEncoder().encode(text(pattern).toLowerCase());
    for (const [k, v] of view) {
      if (!seen.has(k) && globMatch(p, new TextEncoder().encode(k))) {
        seen.add(k);
        out.push([k, v]);
      }
    }
  }
  return map(out);
}

const commandSub = rowMaker({
  container: "command",
  flags: ["loading", "stale"],
  group: "server",
  since: "2.8.13",
});

const commandSubs: CommandSpec[] = [
  commandSub("count", 2, "Returns a count of commands.", "", (ctx) => ctx.server.table.all.length),
  commandSub(
    "info",
    -2,
    "Returns information about one, multiple or all commands.",
    "[command-name [command-name ...]]",
    (ctx, args) =>
      (args.length === 2 ? ctx.server.table.all : named(ctx, args)).map((s) =>
        s ? commandInfo(s) : null,
      ),
  ),
  commandSub(
    "docs",
    -2,
    "Returns documentary information about one, multiple or all commands.",
    "[command-name [command-name ...]]",
    (ctx, args) => {
      const specs = args.length === 2 ? ctx.server.table.all : named(ctx, args).filter(Boolean);
      return map(specs.map((s) => [s.name, commandDocs(s)] as const));
    },
  ),
  commandSub(
    "list",
    -2,
    "Returns a list of command names.",
    "[FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]",
    (ctx, args) => {
      let names = ctx.server.table.all.map((s) => s.name);
      if (args.length === 5 && text(args[3]!).toUpperCase() === "PATTERN") {
        const p = args[4]!;
        names = names.filter((n) => globMatch(p, new TextEncoder().encode(n)));
      } else if (args.length !== 2) throw errors.syntax();
      return names;
    },
  ),
  commandSub(
    "getkeys",
    -3,
    "Extracts the key names from an arbitrary command.",
    "command [arg [arg ...]]",
    (ctx, args) => {
      const spec = ctx.server.table.get(text(args[2]!).toLowerCase());
      if (!spec) throw new RespError("ERR", "Invalid command specified");
      if (!spec.keys) throw new RespError("ERR", "The command has no key arguments");
      const argv = args.slice(2);
      const last = spec.keys.last < 0 ? argv.length + spec.keys.last : spec.keys.last;
      const keys: Reply[] = [];
      for (let i = spec.keys.first; i <= last && i < argv.length; i += spec.keys.step)
        keys.push(argv[i]!);
      return keys;
    },
  ),
];

export const serverCommands: CommandSpec[] = [
  {
    name: "info",
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
    flags: ["loading", "stale", "fast", "random"],
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
    name: "config",
    arity: -2,
    flags: [],
    keys: null,
    group: "server",
    since: "2.0.0",
    summary: "A container for server configuration commands.",
    syntax: "<subcommand> [arguments]",
    subcommands: [
      {
        name: "config|get",
        arity: -3,
        flags: ["admin", "loading", "stale"],
        keys: null,
        group: "server",
        since: "2.0.0",
        summary: "Returns the effective values of configuration parameters.",
        syntax: "parameter [parameter ...]",
        handler: configGet,
      },
      {
        name: "config|set",
        arity: -4,
        flags: ["admin", "loading", "stale"],
        keys: null,
        group: "server",
        since: "2.0.0",
        summary:
          "Sets slowlog-* and hash-max-listpack-* at run time; other parameters live in the config file.",
        syntax: "parameter value [parameter value ...]",
        handler: configSet,
      },
      {
        name: "config|resetstat",
        arity: 2,
        flags: ["admin", "loading", "stale"],
        keys: null,
        group: "server",
        since: "2.0.0",
        summary: "Resets the server's statistics.",
        syntax: "",
        handler: (ctx) => {
          const st = ctx.server.stats;
          st.commands.clear();
          st.errorsByCode.clear();
          st.keyspaceHits = st.keyspaceMisses = st.errorReplies = 0;
          return OK;
        },
      },
    ],
  },
  {
    name: "shutdown",
    arity: -1,
    flags: ["admin", "loading", "stale", "no_multi"],
    keys: null,
    group: "server",
    since: "1.0.0",
    summary: "Stops the server after committing every queued write.",
    syntax: "[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]",
    handler: (ctx) => {
      // Like Redis: a successful SHUTDOWN sends no reply; the connection just closes.
      ctx.client.closeAfterReply = true;
      ctx.server.shutdown();
      return NO_REPLY;
    },
  },
];
