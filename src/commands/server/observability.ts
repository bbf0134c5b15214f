/**
 * SLOWLOG (its ring is server/slowlog.ts) and the MONITOR command (its feed is server/monitor.ts).
 * Dispatch times every command anyway (for INFO commandstats); when a command took at least
 * `thresholdUsec` it hands the entry to SlowLog.record(), which copies the arguments (they are
 * views of the receive buffer) into a bounded ring. With no slow commands the cost is one
 * comparison per command.
 *
 * Defaults follow Redis (slowlog-log-slower-than 10000 µs, slowlog-max-len 128); both can be
 * changed at run time with CONFIG SET (config-params.ts), as in Redis, and are not persisted. Entry format and
 * argument truncation (32 arguments, 128 bytes each) follow Redis too.
 */
import { errors, RespError } from "../../errors.ts";
import { NO_REPLY, OK, type Reply, simple } from "../../protocol/reply.ts";
import { parseInt64 } from "../args.ts";
import type { RowDefaults } from "../rows.ts";
import type { CommandSpec, Ctx } from "../spec.ts";

function slowlogGet(ctx: Ctx, args: Uint8Array[]): Reply {
  let count = 10;
  if (args.length === 3) {
    const n = parseInt64(args[2]!);
    if (n === null || n < -1n) {
      throw new RespError("ERR", "count should be greater than or equal to -1");
    }
    count = n === -1n ? -1 : Number(n > 1_000_000n ? 1_000_000n : n);
  }
  return ctx.server.stats.slowlog
    .newest(count)
    .map((e) => [e.id, e.time, e.durationUsec, [...e.args], e.addr, e.name]);
}

const slowlogSub: RowDefaults = {
  flags: ["admin", "loading", "stale"],
  group: "server",
  since: "2.2.12",
  keys: null,
};

const slowlogSubs: CommandSpec[] = [
  {
    ...slowlogSub,
    name: "slowlog|get",
    arity: -2,
    summary: "Returns the slow log's entries, newest first.",
    syntax: "[count]",
    handler: (ctx, args) => {
      if (args.length > 3) throw errors.wrongArity("slowlog|get");
      return slowlogGet(ctx, args);
    },
  },
  {
    ...slowlogSub,
    name: "slowlog|len",
    arity: 2,
    summary: "Returns the number of entries in the slow log.",
    syntax: "",
    handler: (ctx) => {
      return ctx.server.stats.slowlog.length;
    },
  },
  {
    ...slowlogSub,
    name: "slowlog|reset",
    arity: 2,
    summary: "Clears all entries from the slow log.",
    syntax: "",
    handler: (ctx) => {
      ctx.server.stats.slowlog.reset();
      return OK;
    },
  },
  // HELP is the one SLOWLOG subcommand Redis does not flag admin.
  {
    ...slowlogSub,
    name: "slowlog|help",
    arity: 2,
    summary: "Returns helpful text about the different subcommands.",
    syntax: "",
    handler: () =>
      [
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
      ].map((line) => simple(line)),
    flags: ["loading", "stale"],
  },
];

/** Turns this connection into a MONITOR stream; RESET or closing the connection ends it. */
function monitor(ctx: Ctx): Reply {
  if (ctx.inExec) throw new RespError("ERR", "MONITOR isn't allowed for DENY BLOCKING client");
  // A repeated MONITOR gets no reply at all in Redis; clients reading the stream expect that.
  if (ctx.client.monitoring) return NO_REPLY;
  ctx.client.monitoring = true;
  ctx.server.monitors.add(ctx.client);
  return OK;
}

export const observabilityCommands: CommandSpec[] = [
  {
    name: "monitor",
    arity: 1,
    flags: ["admin", "noscript", "loading", "stale"],
    keys: null,
    group: "server",
    since: "1.0.0",
    summary: "Streams every command the server runs, as it runs.",
    syntax: "",
    handler: monitor,
  },
  {
    name: "slowlog",
    arity: -2,
    flags: [],
    keys: null,
    group: "server",
    since: "2.2.12",
    summary: "A container for slow log commands.",
    syntax: "<subcommand> [arguments]",
    subcommands: slowlogSubs,
  },
];
