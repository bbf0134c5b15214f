/**
 * The one registry of CONFIG parameters: every name CONFIG GET shows and CONFIG SET accepts,
 * under Redis's names, with how to read, check and apply it. config.ts (the commands) walks
 * this list; nobody keeps a second one.
 *
 * A parameter with `prepare` can change at run time: prepare checks the value and returns the
 * function that applies it, so CONFIG SET can check every pair before applying any (Redis 7's
 * all-or-nothing). prepare throws ConfigReject with Redis's reason text. A parameter without
 * prepare is fixed: setting it to its current value is accepted (tools do that), any other
 * value is refused as Redis refuses an immutable one.
 *
 * To add a parameter (other features: requirepass, notify-keyspace-events, …) add a row to
 * `configParams` below, or spread your own exported ConfigParam[] into it. `tomlKey` names the
 * config-file key CONFIG REWRITE writes the value back to.
 *
 * Redis's encoding and tuning knobs we have no machinery for are `knob` rows: accepted,
 * validated like Redis, reported back, with no effect (listed in docs/compatibility.md). Their
 * values live per server (ServerContext.configValues), so servers sharing a process never
 * share them.
 */

import type { ServerContext } from "../spec.ts";
import { clusterConfigParams } from "./cluster-params.ts";
import { type ConfigParam, ConfigReject, paramValues } from "./param.ts";
import { pubsubConfigParams } from "./pubsub-params.ts";
import { securityConfigParams } from "./security-params.ts";

export { type ConfigParam, ConfigReject, paramValues };

const LLONG_MAX = 9223372036854775807n;
const LONG_MAX = LLONG_MAX;
const INT_MAX = 2147483647n;
/** Current value of a registry parameter stored here (timeout, maxclients, knobs). */
export function configValue(s: ServerContext, name: string): string | undefined {
  const p = configParams.find((x) => x.name === name);
  return p?.get(s);
}

/** Redis's string2ll for CONFIG: strict decimal, optional '-'. */
function parseInteger(value: string): bigint | null {
  if (!/^-?(0|[1-9][0-9]*)$/.test(value) || value === "-0") return null;
  const n = BigInt(value);
  return n > LLONG_MAX || n < -LLONG_MAX - 1n ? null : n;
}

/** Redis's memtoull: a number with an optional b/k/kb/m/mb/g/gb unit (case-insensitive). */
function parseMemory(value: string): bigint | null {
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(value);
  if (!m) return null;
  const unit = (m[2] ?? "b").toLowerCase();
  const mul: Record<string, bigint> = {
    b: 1n,
    k: 1000n,
    kb: 1024n,
    m: 1000n ** 2n,
    mb: 1024n ** 2n,
    g: 1000n ** 3n,
    gb: 1024n ** 3n,
  };
  // Too big is reported by the range check, as Redis's memtoull + bounds do.
  return BigInt(m[1]!) * mul[unit]!;
}

function checkRange(n: bigint | null, min: bigint, max: bigint): bigint {
  if (n === null) throw new ConfigReject("argument couldn't be parsed into an integer");
  if (n < min || n > max)
    throw new ConfigReject(`argument must be between ${min} and ${max} inclusive`);
  return n;
}

type Store = (s: ServerContext, v: string) => void;
const keep =
  (name: string): Store =>
  (s, v) =>
    paramValues(s).set(name, v);
const stored = (name: string, dflt: string) => (s: ServerContext) =>
  paramValues(s).get(name) ?? dflt;

/** An integer parameter kept in the value store (or applied by `apply`). */
function int(
  name: string,
  dflt: bigint,
  min: bigint,
  max: bigint,
  extra: Partial<ConfigParam> & { apply?: (s: ServerContext, n: bigint) => void } = {},
): ConfigParam {
  const { apply, ...rest } = extra;
  return {
    name,
    get: stored(name, String(dflt)),
    prepare: (s, v) => {
      const n = checkRange(parseInteger(v), min, max);
      return () => (apply ? apply(s, n) : keep(name)(s, String(n)));
    },
    ...rest,
  };
}

function memory(name: string, dflt: bigint, min: bigint, max: bigint, aliases?: string[]) {
  return {
    name,
    aliases,
    noEffect: true,
    get: stored(name, String(dflt)),
    prepare: (s: ServerContext, v: string) => {
      const n = parseMemory(v);
      if (n === null) throw new ConfigReject("argument must be a memory value");
      checkRange(n, min, max);
      return () => keep(name)(s, String(n));
    },
  } satisfies ConfigParam;
}

function bool(name: string, dflt: boolean, aliases?: string[]): ConfigParam {
  return {
    name,
    aliases,
    noEffect: true,
    get: stored(name, dflt ? "yes" : "no"),
    prepare: (s, v) => {
      const x = v.toLowerCase();
      if (x !== "yes" && x !== "no") throw new ConfigReject("argument must be 'yes' or 'no'");
      return () => keep(name)(s, x);
    },
  };
}

function oneOf(name: string, dflt: string, allowed: string[]): ConfigParam {
  return {
    name,
    noEffect: true,
    get: stored(name, dflt),
    prepare: (s, v) => {
      const x = v.toLowerCase();
      if (!allowed.includes(x))
        throw new ConfigReject(`argument(s) must be one of the following: ${allowed.join(", ")}`);
      return () => keep(name)(s, x);
    },
  };
}

const knob = (name: string, dflt: bigint, min: bigint, max: bigint, aliases?: string[]) =>
  int(name, dflt, min, max, { noEffect: true, aliases });

/** Redis prints the percentiles with %f trimmed of trailing zeros ("0 50 99.9"). */
const percentiles: ConfigParam = {
  name: "latency-tracking-info-percentiles",
  noEffect: true,
  get: stored("latency-tracking-info-percentiles", "50 99 99.9"),
  prepare: (s, v) => {
    const parts = v.split(" ").filter((p) => p !== "");
    const nums = parts.map((p) => (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(p) ? +p : NaN));
    if (nums.some((n) => Number.isNaN(n)))
      throw new ConfigReject("Invalid latency-tracking-info-percentiles parameters");
    if (nums.some((n) => n < 0 || n > 100))
      throw new ConfigReject(
        "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
      );
    return () => keep(percentiles.name)(s, nums.map((n) => String(+n.toFixed(6))).join(" "));
  },
};

/** A value fixed at startup, read from the running server. */
const fixed = (name: string, get: (s: ServerContext) => string): ConfigParam => ({ name, get });

/** The hash encoding limits: entries is an integer, value a memory value ("1kb"), as in Redis. */
const hashLimit = (name: string, field: "maxEntries" | "maxValueBytes", alias: string) => {
  const row = int(name, 0n, 0n, LLONG_MAX, {
    aliases: [alias],
    get: (s) => String(s.store.hashLimits[field]),
    // Mutated in place: every key table holds this very object.
    apply: (s, n) => {
      s.store.hashLimits[field] =
        n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
    },
  });
  if (field === "maxEntries") return row;
  return {
    ...row,
    prepare: (s: ServerContext, v: string) => {
      const n = parseMemory(v);
      if (n === null) throw new ConfigReject("argument must be a memory value");
      return row.prepare!(s, String(checkRange(n, 0n, LLONG_MAX)));
    },
  };
};

/** Every parameter, in the order CONFIG GET * lists them. */
export const configParams: readonly ConfigParam[] = [
  // Live: they change what the server does at once.
  int("slowlog-log-slower-than", 10000n, -1n, LLONG_MAX, {
    get: (s) => String(s.stats.slowlog.thresholdUsec),
    apply: (s, n) => {
      s.stats.slowlog.thresholdUsec = Number(n);
    },
  }),
  int("slowlog-max-len", 128n, 0n, LONG_MAX, {
    get: (s) => String(s.stats.slowlog.maxLen),
    apply: (s, n) => {
      s.stats.slowlog.maxLen = Number(n > 1_000_000_000n ? 1_000_000_000n : n);
      s.stats.slowlog.trim();
    },
  }),
  hashLimit("hash-max-listpack-entries", "maxEntries", "hash-max-ziplist-entries"),
  hashLimit("hash-max-listpack-value", "maxValueBytes", "hash-max-ziplist-value"),
  // Passwords, protected mode, client limits, TLS (src/security): live in the connection layer.
  ...securityConfigParams,
  ...pubsubConfigParams,
  // cluster-node-timeout and cluster-require-full-coverage (the cluster room).
  ...clusterConfigParams,
  // Fixed at startup: they come from the config file.
  fixed("port", (s) => String(s.port())),
  fixed("bind", (s) => s.config.addr.host),
  fixed("dir", (s) => s.config.dataDir),
  fixed("databases", (s) => String(s.store.databases)),
  fixed("cluster-enabled", (s) => (s.config.cluster.enabled ? "yes" : "no")),
  fixed("appendonly", () => "no"),
  fixed("appendfsync", (s) => (s.config.sqlite.synchronous === "FULL" ? "always" : "everysec")),
  fixed("save", () => ""),
  fixed("maxmemory", () => "0"),
  fixed("daemonize", () => "no"),
  fixed("io-threads", () => "1"),
  // Knobs: accepted, checked and reported like Redis, with no effect here.
  // Redis accepts 0..INT_MAX and clamps what it uses (and shows) to 1..500.
  int("hz", 10n, 0n, INT_MAX, {
    noEffect: true,
    apply: (s, n) => keep("hz")(s, String(n < 1n ? 1n : n > 500n ? 500n : n)),
  }),
  bool("dynamic-hz", true),
  bool("activerehashing", true),
  bool("activedefrag", false),
  knob("list-max-listpack-size", -2n, -INT_MAX - 1n, INT_MAX, ["list-max-ziplist-size"]),
  knob("list-compress-depth", 0n, 0n, INT_MAX),
  knob("set-max-intset-entries", 512n, 0n, LLONG_MAX),
  knob("set-max-listpack-entries", 128n, 0n, LLONG_MAX),
  memory("set-max-listpack-value", 64n, 0n, LLONG_MAX),
  knob("zset-max-listpack-entries", 128n, 0n, LLONG_MAX, ["zset-max-ziplist-entries"]),
  memory("zset-max-listpack-value", 64n, 0n, LLONG_MAX, ["zset-max-ziplist-value"]),
  knob("stream-node-max-entries", 100n, 0n, LLONG_MAX),
  memory("stream-node-max-bytes", 4096n, 0n, LLONG_MAX),
  memory("hll-sparse-max-bytes", 3000n, 0n, LLONG_MAX),
  bool("lazyfree-lazy-eviction", false),
  bool("lazyfree-lazy-expire", false),
  bool("lazyfree-lazy-server-del", false),
  bool("lazyfree-lazy-user-del", false),
  bool("lazyfree-lazy-user-flush", false),
  knob("active-expire-effort", 1n, 1n, 10n),
  knob("tcp-keepalive", 300n, 0n, INT_MAX),
  oneOf("maxmemory-policy", "noeviction", [
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
  ]),
  knob("maxmemory-samples", 5n, 1n, INT_MAX),
  knob("lfu-log-factor", 10n, 0n, INT_MAX),
  knob("lfu-decay-time", 1n, 0n, INT_MAX),
  int("busy-reply-threshold", 5000n, 0n, LONG_MAX, {
    aliases: ["lua-time-limit"],
    tomlKey: "busy_reply_threshold_ms",
    tomlType: "integer",
    // The running engine's threshold (src/scripting); contexts without one keep the value.
    get: (s) =>
      String(s.scripting?.busyThresholdMs ?? paramValues(s).get("busy-reply-threshold") ?? 5000),
    apply: (s, n) => {
      const ms = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
      if (s.scripting) s.scripting.busyThresholdMs = ms;
      else paramValues(s).set("busy-reply-threshold", String(ms));
    },
  }),
  bool("latency-tracking", true),
  percentiles,
  knob("latency-monitor-threshold", 0n, 0n, LLONG_MAX),
  oneOf("loglevel", "notice", ["debug", "verbose", "notice", "warning", "nothing"]),
  bool("stop-writes-on-bgsave-error", true),
  bool("rdbcompression", true),
  bool("rdbchecksum", true),
  bool("replica-read-only", true, ["slave-read-only"]),
  bool("replica-serve-stale-data", true, ["slave-serve-stale-data"]),
  bool("replica-lazy-flush", false, ["slave-lazy-flush"]),
  bool("no-appendfsync-on-rewrite", false),
  knob("min-replicas-to-write", 0n, 0n, INT_MAX, ["min-slaves-to-write"]),
  knob("min-replicas-max-lag", 10n, 0n, INT_MAX, ["min-slaves-max-lag"]),
  knob("repl-backlog-ttl", 3600n, 0n, LONG_MAX),
  knob("repl-timeout", 60n, 1n, INT_MAX),
  knob("tracking-table-max-keys", 1000000n, 0n, LONG_MAX),
  // The ACL LOG's bound; like Redis, a lower bound trims the log at its next entry.
  int("acllog-max-len", 128n, 0n, LONG_MAX, {
    apply: (s, n) => {
      keep("acllog-max-len")(s, String(n));
      if (s.security) s.security.acl.log.maxLen = Number(n);
    },
  }),
  knob("shutdown-timeout", 10n, 0n, INT_MAX),
  bool("sanitize-dump-payload", false),
  bool("cluster-allow-reads-when-down", false),
];

/** The parameter named `name` (or one of its aliases), lower case. */
export function findParam(name: string): ConfigParam | undefined {
  return configParams.find((p) => p.name === name || p.aliases?.includes(name));
}
