/**
 * The configuration schema: the typed `Config` the server is written against, and the one table
 * (`configKeys`) that says, for every TOML key, its type, default, constraint and documentation.
 * Validation, defaults, the shipped config.toml and the docs all follow this table; nobody keeps
 * a second list of keys. This file knows nothing about files or TOML syntax (see load.ts);
 * the types are types.ts, the rules across keys cross-checks.ts.
 */
import type { Addr, CompressionAlgorithm, KeySpec, ValueKind } from "./types.ts";

/** Freezes a value and everything reachable from it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export const slotCount = 16384;
const algorithms: readonly CompressionAlgorithm[] = Object.freeze([
  "none",
  "gzip",
  "zstd",
  "lz4",
  "brotli",
]);
const safeMax = Number.MAX_SAFE_INTEGER;
/** Largest delay setTimeout and SQLite's busy handler take without overflowing. */
const int32Max = 2 ** 31 - 1;

/** Valid `level` per algorithm, inclusive; null = the algorithm takes no level. */
export const compressionLevelRange: Readonly<
  Record<CompressionAlgorithm, readonly [number, number] | null>
> = deepFreeze({
  none: null,
  gzip: [1, 9],
  zstd: [1, 22],
  lz4: [1, 16],
  brotli: [0, 11],
});

export function describeKind(kind: ValueKind): string {
  const range = (min: number, max: number) =>
    max >= safeMax ? `>= ${min}` : `from ${min} to ${max}`;
  switch (kind.type) {
    case "integer":
      return `an integer ${range(kind.min, kind.max)}`;
    case "boolean":
      return "true or false";
    case "string":
      return "a non-empty string";
    case "enum":
      return `one of ${kind.values.join(", ")}`;
    case "addr":
      return "host:port, e.g. 127.0.0.1:6379 or [::1]:6379, port 0-65535";
    case "addrList":
      return "an array of host:port strings";
    case "stringList":
      return "an array of strings";
    case "integerList":
      return `an array of integers ${range(kind.min, kind.max)}`;
    case "rangeList":
      return `an array of { start, end } tables, ${kind.min} <= start <= end <= ${kind.max}`;
  }
}

interface KeyOptions {
  doc: string;
  required?: boolean;
  optional?: boolean;
  inactive?: boolean;
  allowed?: string;
  /** Defaults to the camelCase of each segment: `sqlite.cache_size_mb` → `sqlite.cacheSizeMb`. */
  field?: string;
}

function key(tomlKey: string, kind: ValueKind, dflt: unknown, o: KeyOptions): KeySpec {
  const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return deepFreeze({
    key: tomlKey,
    field: o.field ?? tomlKey.split(".").map(camel).join("."),
    kind,
    default: dflt,
    required: o.required ?? false,
    optional: o.optional ?? false,
    active: !o.inactive,
    doc: o.doc,
    allowed: o.allowed ?? describeKind(kind),
  });
}

const int = (min: number, max = safeMax): ValueKind => ({ type: "integer", min, max });
const bool: ValueKind = Object.freeze({ type: "boolean" });
const str: ValueKind = Object.freeze({ type: "string" });
const addr: ValueKind = Object.freeze({ type: "addr", as: "object" });
const slots = Object.freeze({ min: 0, max: slotCount - 1 });
const addrAt = (host: string, port: number): Addr => ({ host, port, text: `${host}:${port}` });

/** Every key Blobasaur reads, in the order config.toml lists them. */
export const configKeys: readonly KeySpec[] = Object.freeze([
  key("data_dir", str, "./data", {
    doc: "Directory for the shard_<i>.db files; a relative path is relative to the working directory.",
    required: true,
  }),
  key("num_shards", int(1, 1024), 4, {
    doc: "Number of shards (SQLite files); changing it needs `blobasaur shard migrate`.",
    required: true,
  }),
  key("addr", addr, addrAt("127.0.0.1", 6379), { doc: "Address the Redis protocol listens on." }),
  key("async_write", bool, false, {
    doc: "Acknowledge writes before they commit (faster; a crash may lose the last writes).",
  }),
  key("batch_size", int(1), 1000, {
    doc: "Most write operations grouped into one SQLite transaction per shard.",
  }),
  key("batch_timeout_ms", int(0, int32Max), 0, {
    doc: "How long a shard writer waits for more writes before committing; 0 = commit at once.",
  }),
  key("value_cache_mb", int(0), 176, {
    doc: "Memory in MB for recently read or written values kept in front of SQLite (0 = off), one bound for all shards: a busy shard may use what idle ones leave.",
  }),
  key("databases", int(1, 1_000_000), 16, {
    doc: "Number of Redis databases (SELECT 0 to databases-1), as Redis's `databases`.",
  }),
  key("large_value_threshold_kb", int(1, 4 * 1024 * 1024), 512, {
    doc: "Values longer than this many KiB are streamed into files under <data_dir>/large/ instead of memory and SQLite.",
  }),
  key("notify_keyspace_events", str, null, {
    doc: 'Keyspace notifications, as Redis\'s notify-keyspace-events (e.g. "Ex" for expirations); leave out for none. CONFIG SET changes it at run time.',
    optional: true,
    allowed: "Redis's flag characters: K E g $ l s h z x e t m d n A",
  }),
  key("storage_compression.enabled", bool, false, {
    doc: "Compress newly written values; values already stored stay readable either way.",
  }),
  key(
    "storage_compression.algorithm",
    { type: "enum", values: algorithms, fold: "lower" },
    "zstd",
    {
      doc: "Compression algorithm for new values.",
    },
  ),
  key("storage_compression.level", int(0), null, {
    doc: "Compression level; leave out for the algorithm's default.",
    optional: true,
    allowed: "gzip 1-9, zstd 1-22, lz4 1-16, brotli 0-11; must be left out for none",
  }),
  key("storage_compression.min_size_bytes", int(0), 64, {
    doc: "Values shorter than this are stored uncompressed.",
  }),
  key("sqlite.cache_size_mb", int(0), 16, {
    doc: "SQLite page cache in MB for the whole process, split evenly across shards.",
  }),
  key("sqlite.busy_timeout_ms", int(0, int32Max), 5000, {
    doc: "How long a connection waits for a locked database before failing.",
  }),
  key(
    "sqlite.synchronous",
    { type: "enum", values: ["OFF", "NORMAL", "FULL"], fold: "upper" },
    "NORMAL",
    {
      doc: "PRAGMA synchronous: how often SQLite fsyncs (FULL safest, OFF fastest); any case.",
    },
  ),
  key("sqlite.mmap_size", int(0), 0, {
    doc: "Memory-mapped I/O in MB for the whole process, split across shards; 0 = off.",
    field: "sqlite.mmapSizeMb",
  }),
  key("sqlite.auto_upgrade_legacy_auto_vacuum", bool, true, {
    doc: "At startup, rebuild shard files made without incremental auto_vacuum (runs VACUUM); false = leave them and warn.",
  }),
  key("sqlite.auto_upgrade_legacy_auto_vacuum_concurrency", int(1), 2, {
    doc: "Validated for compatibility; the startup rebuild runs one shard at a time, so values above 1 have no effect.",
  }),
  key("sqlite.journal_size_limit_mb", int(0), 64, {
    doc: "Size in MB the WAL file is truncated back to after a checkpoint.",
  }),
  key("sqlite.prewarm", bool, true, {
    doc: "At startup, read the shard files once in the background so the OS caches them, if they fit in half the available memory; false = leave it to the first reads.",
  }),
  key("metrics.enabled", bool, false, {
    doc: "Serve Prometheus /metrics and /health over HTTP.",
  }),
  key("metrics.addr", addr, addrAt("127.0.0.1", 9090), {
    doc: "Address the metrics HTTP server listens on.",
  }),
  key("metrics.bearer_token", str, null, {
    doc: "When set, /metrics and /health require `Authorization: Bearer <token>`.",
    optional: true,
  }),
  key("metrics.basic_auth", str, null, {
    doc: 'When set ("user:password"), /metrics and /health require HTTP basic auth.',
    optional: true,
  }),
  key("metrics.tls", bool, false, {
    doc: "Serve the metrics over HTTPS with [tls] cert_file and key_file.",
  }),
  key("requirepass", str, null, {
    doc: "Password of the default user, as Redis's requirepass; clients must AUTH first.",
    optional: true,
  }),
  key("requirepass_env", str, null, {
    doc: "Name of an environment variable holding the default user's password; used when it is set and not empty.",
    optional: true,
  }),
  key("aclfile", str, null, {
    doc: "ACL file in Redis's syntax (`user <name> <rules>` lines), loaded at startup and by ACL LOAD, written by ACL SAVE.",
    optional: true,
  }),
  key("users", { type: "stringList" }, [], {
    doc: 'ACL users, one Redis `user` directive each without the word user: "alice on >secret ~cache:* +@read".',
  }),
  key("protected_mode", bool, true, {
    doc: "As Redis's protected-mode: with no password set, clients from non-loopback addresses are refused.",
  }),
  key("maxclients", int(1, 1_000_000), 10000, {
    doc: "Most clients connected at once; one more gets Redis's 'max number of clients reached'.",
  }),
  key("busy_reply_threshold_ms", int(0, int32Max), 5000, {
    doc: "Redis's busy-reply-threshold (lua-time-limit): after a script or function has run this long, other clients get BUSY and SCRIPT KILL / FUNCTION KILL may stop it; 0 = at once.",
  }),
  key("timeout", int(0, int32Max), 0, {
    doc: "Seconds a client may stay idle before it is disconnected; 0 = never.",
  }),
  key("client_query_buffer_limit", int(1024 * 1024, safeMax), 1024 * 1024 * 1024, {
    doc: "Bytes of one unfinished request a client may send before it is disconnected (Redis's client-query-buffer-limit).",
  }),
  key("client_output_buffer_limit_normal", str, "0 0 0", {
    doc: 'Redis\'s client-output-buffer-limit for normal clients: "<hard bytes> <soft bytes> <soft seconds>" (units like 64mb allowed; 0 = none).',
  }),
  key("proto_max_bulk_len", int(1024 * 1024, safeMax), 512 * 1024 * 1024, {
    doc: "Largest bulk string a client may send (Redis's proto-max-bulk-len).",
  }),
  key("client_frame_timeout_ms", int(0, int32Max), 30_000, {
    doc: "Milliseconds a client may hold a request half-sent (slowloris) before it is disconnected; 0 = never.",
  }),
  key("tls.port", int(0, 65535), null, {
    doc: "Port of the TLS listener, beside the plain one (Redis's tls-port); left out = no TLS.",
    optional: true,
  }),
  key("tls.cert_file", str, null, {
    doc: "PEM server certificate (chain); required with tls.port or metrics.tls.",
    optional: true,
  }),
  key("tls.key_file", str, null, {
    doc: "PEM private key of cert_file.",
    optional: true,
  }),
  key("tls.ca_cert_file", str, null, {
    doc: "PEM CA bundle that client certificates must chain to.",
    optional: true,
  }),
  key(
    "tls.auth_clients",
    { type: "enum", values: ["yes", "no", "optional"], fold: "lower" },
    "yes",
    {
      doc: "Client certificates: yes = required, optional = checked when sent, no = not asked for (Redis's tls-auth-clients).",
    },
  ),
  key("tls.protocols", str, "TLSv1.2 TLSv1.3", {
    doc: 'TLS versions accepted, as Redis\'s tls-protocols: "TLSv1.2 TLSv1.3" or "TLSv1.3".',
  }),
  key("cluster.enabled", bool, false, {
    doc: "Run as a Redis Cluster node (needs node_id, port and secret).",
  }),
  key("cluster.node_id", str, null, {
    doc: "This node's name in the cluster; required when enabled.",
    optional: true,
  }),
  key("cluster.seeds", { type: "addrList" }, [], {
    doc: "Cluster bus addresses (host:port) of nodes to meet at startup.",
  }),
  key("cluster.port", int(0, 65535), null, {
    doc: "TCP port of the cluster bus (Redis's cport), bound on addr's host; required when enabled.",
    optional: true,
  }),
  key("cluster.slots", { type: "integerList", ...slots }, [], {
    doc: "Hash slots this node claims on its first start (no nodes.conf yet), joined with slot_ranges.",
  }),
  key("cluster.slot_ranges", { type: "rangeList", ...slots }, [], {
    doc: "Inclusive hash slot ranges this node claims on its first start.",
  }),
  key("cluster.gossip_interval_ms", int(1, int32Max), 1000, {
    doc: "Longest time between two pings to one node (they also go every node_timeout_ms / 4).",
  }),
  key("cluster.advertise_addr", { type: "addr", as: "text" }, null, {
    doc: "Redis address other nodes and clients are told to use; default: addr.",
    optional: true,
  }),
  key("cluster.secret", str, null, {
    doc: "Shared secret every node of the cluster holds; the bus refuses nodes without it. Required when enabled.",
    optional: true,
  }),
  key("cluster.node_timeout_ms", int(100, int32Max), 15000, {
    doc: "Redis's cluster-node-timeout: a node silent this long is PFAIL, and FAIL once a majority agrees.",
  }),
  key("cluster.require_full_coverage", bool, true, {
    doc: "Redis's cluster-require-full-coverage: true = every node refuses keyed commands while any slot has no live owner.",
  }),
]);
