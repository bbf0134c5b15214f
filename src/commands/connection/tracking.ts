/**
 * CLIENT subcommands of the pub/sub room: TRACKING, CACHING, TRACKINGINFO, GETREDIR (client
 * side caching, src/pubsub/tracking.ts) and PAUSE / UNPAUSE (src/pubsub/pause.ts). Parsing and
 * Redis's error texts live here; the state lives in ServerContext.pubsub.
 */
import { errors, RespError, sanitizeLine } from "../../errors.ts";
import { map, OK, type Reply, set } from "../../protocol/reply.ts";
import { equalsToken, parseInt64, rawText } from "../args.ts";
import type { RowDefaults } from "../rows.ts";
import type { CommandSpec, Ctx } from "../spec.ts";

const clientSub: RowDefaults = {
  flags: ["noscript", "loading", "stale"],
  group: "connection",
  since: "6.0.0",
  keys: null,
};

const err = (message: string) => new RespError("ERR", message);
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");

/** CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN] [OPTOUT] [NOLOOP]. */
function tracking(ctx: Ctx, args: Uint8Array[]): Reply {
  const on = equalsToken(args[2]!, "ON");
  if (!on && !equalsToken(args[2]!, "OFF")) throw errors.syntax();
  const o = { bcast: false, optin: false, optout: false, noloop: false, redirect: 0 };
  const prefixes: Uint8Array[] = [];
  for (let i = 3; i < args.length; i++) {
    const a = args[i]!;
    const more = args.length - 1 - i;
    if (equalsToken(a, "REDIRECT") && more >= 1) {
      const id = parseInt64(args[++i]!);
      if (id === null) throw err("value is not an integer or out of range");
      o.redirect = Number(id);
    } else if (equalsToken(a, "BCAST")) o.bcast = true;
    else if (equalsToken(a, "OPTIN")) o.optin = true;
    else if (equalsToken(a, "OPTOUT")) o.optout = true;
    else if (equalsToken(a, "NOLOOP")) o.noloop = true;
    else if (equalsToken(a, "PREFIX") && more >= 1) prefixes.push(args[++i]!);
    else throw errors.syntax();
  }
  const table = ctx.server.pubsub!.tracking;
  if (!on) {
    table.disable(ctx.client);
    return OK;
  }
  const current = table.state(ctx.client);
  if (current && current.bcast !== o.bcast)
    throw err(
      "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
    );
  if (prefixes.length > 0 && !o.bcast) throw err("PREFIX option requires BCAST mode to be enabled");
  if (o.optin && o.optout) throw err("You can't specify both OPTIN mode and OPTOUT mode");
  if ((o.optin && current?.optout) || (o.optout && current?.optin))
    throw err(
      "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
    );
  if (o.bcast && (o.optin || o.optout)) throw err("OPTIN and OPTOUT are not compatible with BCAST");
  checkOverlap([...(current?.prefixes ?? []), ...prefixes], current?.prefixes.length ?? 0);
  if (o.redirect !== 0) {
    if (!ctx.server.clients.has(o.redirect))
      throw err("The client ID you want redirect to does not exist");
  }
  table.enable(ctx.client, { ...o, prefixes });
  return OK;
}

/**
 * Redis refuses prefixes of one client that overlap (one is a prefix of another), checking as
 * its checkPrefixCollisionsOrReply does: each new prefix in turn, first against the existing
 * ones (in their sorted order), then against the new ones after it.
 */
function checkOverlap(all: Uint8Array[], firstNew: number): void {
  const existing = all.slice(0, firstNew).map(latin1).sort();
  const provided = all.slice(firstNew).map(latin1);
  const overlap = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);
  const refuse = (a: string, kind: string, b: string) =>
    err(
      `Prefix '${sanitizeLine(a)}' overlaps with ${kind} prefix '${sanitizeLine(b)}'. Prefixes for a single client must not overlap.`,
    );
  for (let i = 0; i < provided.length; i++) {
    const a = provided[i]!;
    const hit = existing.find((b) => overlap(a, b));
    if (hit !== undefined) throw refuse(a, "an existing", hit);
    for (let j = i + 1; j < provided.length; j++)
      if (overlap(a, provided[j]!)) throw refuse(a, "another provided", provided[j]!);
  }
}

function caching(ctx: Ctx, args: Uint8Array[]): Reply {
  const table = ctx.server.pubsub!.tracking;
  const s = table.state(ctx.client);
  if (!s)
    throw err(
      "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
    );
  if (equalsToken(args[2]!, "YES")) {
    if (!s.optin)
      throw err("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
    table.setCaching(ctx.client, true);
  } else if (equalsToken(args[2]!, "NO")) {
    if (!s.optout)
      throw err("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
    table.setCaching(ctx.client, false);
  } else throw errors.syntax();
  return OK;
}

function trackingInfo(ctx: Ctx): Reply {
  const s = ctx.server.pubsub!.tracking.state(ctx.client);
  const flags: string[] = [];
  if (!s) flags.push("off");
  else {
    flags.push("on");
    if (s.bcast) flags.push("bcast");
    if (s.optin) {
      flags.push("optin");
      if (s.caching === true) flags.push("caching-yes");
    }
    if (s.optout) {
      flags.push("optout");
      if (s.caching === false) flags.push("caching-no");
    }
    if (s.noloop) flags.push("noloop");
    if (s.brokenRedirect) flags.push("broken_redirect");
  }
  return map([
    ["flags", set(flags)],
    ["redirect", s ? s.redirect : -1],
    // Redis keeps them in a radix tree: listed in byte order.
    ["prefixes", s ? [...s.prefixes].sort(Buffer.compare) : []],
  ]);
}

function getredir(ctx: Ctx): Reply {
  const s = ctx.server.pubsub!.tracking.state(ctx.client);
  return s ? s.redirect : -1;
}

/** CLIENT PAUSE timeout [WRITE|ALL]. */
function pause(ctx: Ctx, args: Uint8Array[]): Reply {
  const ms = parseInt64(args[2]!);
  if (ms === null) throw err("timeout is not an integer or out of range");
  if (ms < 0n) throw err("timeout is negative");
  let mode: "write" | "all" = "all";
  if (args.length > 4)
    throw err(
      `unknown subcommand or wrong number of arguments for '${sanitizeLine(rawText(args[1]!))}'. Try CLIENT HELP.`,
    );
  if (args.length === 4) {
    if (equalsToken(args[3]!, "WRITE")) mode = "write";
    else if (!equalsToken(args[3]!, "ALL")) throw err("CLIENT PAUSE mode must be WRITE or ALL");
  }
  const capped = ms > BigInt(2 ** 31 - 1) ? 2 ** 31 - 1 : Number(ms);
  ctx.server.pubsub!.pause.pause(capped, mode);
  return OK;
}

export const trackingClientCommands: CommandSpec[] = [
  {
    ...clientSub,
    name: "client|tracking",
    arity: -3,
    summary: "Controls server-assisted client-side caching for the connection.",
    syntax:
      "<ON | OFF> [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]",
    handler: tracking,
  },
  {
    ...clientSub,
    name: "client|caching",
    arity: 3,
    summary: "Instructs the server whether to track the keys in the next request.",
    syntax: "<YES | NO>",
    handler: caching,
  },
  {
    ...clientSub,
    name: "client|trackinginfo",
    arity: 2,
    summary: "Returns information about server-assisted client-side caching for the connection.",
    syntax: "",
    handler: trackingInfo,
  },
  {
    ...clientSub,
    name: "client|getredir",
    arity: 2,
    summary:
      "Returns the client ID to which the connection's tracking notifications are redirected.",
    syntax: "",
    handler: getredir,
  },
  {
    ...clientSub,
    name: "client|pause",
    arity: -3,
    summary: "Suspends commands processing.",
    syntax: "timeout [WRITE | ALL]",
    handler: pause,
    flags: ["admin", "noscript", "loading", "stale"],
    since: "3.0.0",
  },
  {
    ...clientSub,
    name: "client|unpause",
    arity: 2,
    summary: "Resumes processing commands from paused clients.",
    syntax: "",
    handler: (ctx) => {
      ctx.server.pubsub!.pause.unpause();
      return OK;
    },
    flags: ["admin", "noscript", "loading", "stale"],
  },
];
