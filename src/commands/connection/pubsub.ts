/**
 * Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB. They only
 * parse and reply; subscriptions and delivery live in src/pubsub/hub.ts. Subscriber mode (what
 * a RESP2 subscriber may still send) is enforced by the connection.
 *
 * SSUBSCRIBE / SUNSUBSCRIBE / SPUBLISH carry Redis's key range (the shard channels), so
 * cluster routing sends them by the channel's slot like any keyed command; they are neither
 * reads nor writes, so tracking and CLIENT PAUSE WRITE treat them by name.
 */
import { errors } from "../../errors.ts";
import { type Reply, simple } from "../../protocol/reply.ts";
import { globMatch } from "../glob.ts";
import { helpRow, type RowDefaults } from "../rows.ts";
import type { CommandSpec, Ctx } from "../spec.ts";

const pubsubRow: RowDefaults = {
  flags: ["pubsub", "noscript", "loading", "stale"],
  group: "pubsub",
  since: "2.0.0",
  keys: null,
};

const hub = (ctx: Ctx) => ctx.server.pubsub!.hub;

/** Several confirmations for one request, each its own frame, as Redis sends them. */
const replies = (list: Reply[]): Reply =>
  list.length === 1 ? list[0]! : { kind: "multi", replies: list };

function subscribeRow(
  name: string,
  kind: "channel" | "pattern" | "shard",
  since: string,
  summary: string,
  syntax: string,
  unsubscribe: boolean,
): CommandSpec {
  const row: CommandSpec = {
    ...pubsubRow,
    name,
    arity: unsubscribe ? -1 : -2,
    summary,
    syntax,
    handler: (ctx, args) => {
      const names = args.slice(1);
      if (unsubscribe) return replies(hub(ctx).unsubscribe(ctx.client, kind, names));
      return replies(hub(ctx).subscribe(ctx.client, kind, names));
    },
  };
  // Shard channels are keys to cluster routing (slot of the channel), as in Redis's table.
  const keys = kind === "shard" ? { first: 1, last: -1, step: 1 } : null;
  // ACL `&pattern` rules cover what is subscribed to, never unsubscribing (as in Redis).
  if (unsubscribe) return { ...row, since, keys, whileSubscribed: true };
  const channels = { first: 1, pattern: kind === "pattern" };
  return { ...row, since, keys, channels, whileSubscribed: true };
}

function publish(ctx: Ctx, args: Uint8Array[]): Reply {
  return hub(ctx).publish(args[1]!, args[2]!);
}

function spublish(ctx: Ctx, args: Uint8Array[]): Reply {
  return hub(ctx).spublish(args[1]!, args[2]!);
}

const pubsubSub: RowDefaults = {
  flags: ["pubsub", "loading", "stale"],
  group: "pubsub",
  since: "2.8.0",
  keys: null,
};

function channels(kind: "channel" | "shard") {
  return (ctx: Ctx, args: Uint8Array[]): Reply => {
    const names = hub(ctx).channelNames(kind);
    if (args.length === 2) return names;
    if (args.length > 3)
      throw errors.wrongArity(`pubsub|${kind === "channel" ? "channels" : "shardchannels"}`);
    return names.filter((n) => globMatch(args[2]!, n));
  };
}

function numsub(kind: "channel" | "shard") {
  return (ctx: Ctx, args: Uint8Array[]): Reply => {
    const out: Reply[] = [];
    for (const ch of args.slice(2)) out.push(ch, hub(ctx).numsub(kind, ch));
    return out;
  };
}

const pubsubCommands: CommandSpec[] = [
  {
    ...pubsubSub,
    name: "pubsub|channels",
    arity: -2,
    summary: "Returns the active channels.",
    syntax: "[pattern]",
    handler: channels("channel"),
  },
  {
    ...pubsubSub,
    name: "pubsub|numsub",
    arity: -2,
    summary: "Returns a count of subscribers to channels.",
    syntax: "[channel [channel ...]]",
    handler: numsub("channel"),
  },
  {
    ...pubsubSub,
    name: "pubsub|numpat",
    arity: 2,
    summary: "Returns a count of unique pattern subscriptions.",
    syntax: "",
    handler: (ctx) => hub(ctx).patternCount,
  },
  {
    ...pubsubSub,
    name: "pubsub|shardchannels",
    arity: -2,
    summary: "Returns the active shard channels.",
    syntax: "[pattern]",
    handler: channels("shard"),
    since: "7.0.0",
  },
  {
    ...pubsubSub,
    name: "pubsub|shardnumsub",
    arity: -2,
    summary: "Returns the count of subscribers of shard channels.",
    syntax: "[shardchannel [shardchannel ...]]",
    handler: numsub("shard"),
    since: "7.0.0",
  },
  helpRow({
    ...pubsubSub,
    name: "pubsub|help",
    arity: 2,
    summary: "Returns helpful text about the different subcommands.",
    syntax: "",
    handler: () => PUBSUB_HELP.map((line) => simple(line)),
  }),
];

/** Redis's PUBSUB HELP, line for line (status replies, as its addReplyHelp sends them). */
const PUBSUB_HELP = [
  "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CHANNELS [<pattern>]",
  "    Return the currently active channels matching a <pattern> (default: '*').",
  "NUMPAT",
  "    Return number of subscriptions to patterns.",
  "NUMSUB [<channel> ...]",
  "    Return the number of subscribers for the specified channels, excluding",
  "    pattern subscriptions(default: no channels).",
  "SHARDCHANNELS [<pattern>]",
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  "SHARDNUMSUB [<shardchannel> ...]",
  "    Return the number of subscribers for the specified shard level channel(s)",
  "HELP",
  "    Prints this help.",
];

export const pubsubCommandRows: CommandSpec[] = [
  subscribeRow(
    "subscribe",
    "channel",
    "2.0.0",
    "Listens for messages published to channels.",
    "channel [channel ...]",
    false,
  ),
  subscribeRow(
    "unsubscribe",
    "channel",
    "2.0.0",
    "Stops listening to messages posted to channels.",
    "[channel [channel ...]]",
    true,
  ),
  subscribeRow(
    "psubscribe",
    "pattern",
    "2.0.0",
    "Listens for messages published to channels that match one or more patterns.",
    "pattern [pattern ...]",
    false,
  ),
  subscribeRow(
    "punsubscribe",
    "pattern",
    "2.0.0",
    "Stops listening to messages published to channels that match one or more patterns.",
    "[pattern [pattern ...]]",
    true,
  ),
  subscribeRow(
    "ssubscribe",
    "shard",
    "7.0.0",
    "Listens for messages published to shard channels.",
    "shardchannel [shardchannel ...]",
    false,
  ),
  subscribeRow(
    "sunsubscribe",
    "shard",
    "7.0.0",
    "Stops listening to messages posted to shard channels.",
    "[shardchannel [shardchannel ...]]",
    true,
  ),
  {
    ...pubsubRow,
    name: "publish",
    arity: 3,
    summary: "Posts a message to a channel.",
    syntax: "channel message",
    handler: publish,
    flags: ["pubsub", "loading", "stale", "fast"],
    channels: { first: 1, one: true },
  },
  {
    ...pubsubRow,
    name: "spublish",
    arity: 3,
    summary: "Post a message to a shard channel",
    syntax: "shardchannel message",
    handler: spublish,
    flags: ["pubsub", "loading", "stale", "fast"],
    keys: { first: 1, last: 1, step: 1 },
    channels: { first: 1, one: true },
    since: "7.0.0",
  },
  {
    name: "pubsub",
    arity: -2,
    flags: [],
    keys: null,
    group: "pubsub",
    since: "2.8.0",
    summary: "A container for Pub/Sub commands.",
    syntax: "<subcommand> [arguments]",
    subcommands: pubsubCommands,
  },
];
