/**
 * The configuration schema: the typed `Config` the server is written against, and the one table
 * (`configKeys`) that says, for every TOML key, its type, default, constraint and documentation.
 * Validation, defaults, the shipped config.toml and the docs all follow this table; nobody keeps
 * a second list of keys. This file knows nothing about files or TOML syntax (see load.ts).
 */

/** A listening address: `host:port`, IPv6 hosts written `[::1]:6379`; `host` has no brackets. */
export interface Addr {
  host: string;
  port: number;
  /** Canonical `host:port` text, with brackets around an IPv6 host. */
  text: string;
}

export type CompressionAlgorithm = "none" | "gzip" | "zstd" | "lz4" | "brotli";
export type SqliteSynchronous = "OFF" | "NORMAL" | "FULL";

export interface Config {
  dataDir: string;
  numShards: number;
  addr: Addr;
  asyncWrite: boolean;
  batchSize: number;
  batchTimeoutMs: number;
  valueCacheMb: number;
  /** Redis databases (SELECT 0..databases-1). */
  databases: number;
  /** Bulk strings longer than this many KiB stream into files under <data_dir>/large/. */
  largeValueThresholdKb: number;
  /** Redis's notify-keyspace-events flags (src/pubsub/notify.ts); null = off. */
  notifyKeyspaceEvents: string | null;
  storageCompression: {
    enabled: boolean;
    algorithm: CompressionAlgorithm;
    /** null = the algorithm's default level (chosen by the codec). */
    level: number | null;
    minSizeBytes: number;
  };
  sqlite: {
    cacheSizeMb: number;
    busyTimeoutMs: number;
    synchronous: SqliteSynchronous;
    mmapSizeMb: number;
    autoUpgradeLegacyAutoVacuum: boolean;
    autoUpgradeLegacyAutoVacuumConcurrency: number;
    journalSizeLimitMb: number;
    prewarm: boolean;
  };
  metrics: {
    enabled: boolean;
    addr: Addr;
    /** When set, /metrics and /health need `Authorization: Bearer <token>` (security/http-auth.ts). */
    bearerToken: string | null;
    /** When set ("user:password"), they need HTTP basic auth with these credentials. */
    basicAuth: string | null;
    /** Serve the metrics over HTTPS with [tls]'s certificate and key. */
    tls: boolean;
  };
  /** Security (src/security): passwords, ACL users, protected mode, client limits, TLS. */
  requirepass: string | null;
  requirepassEnv: string | null;
  aclfile: string | null;
  users: string[];
  protectedMode: boolean;
  maxclients: number;
  timeout: number;
  clientQueryBufferLimit: number;
  clientOutputBufferLimitNormal: string;
  protoMaxBulkLen: number;
  clientFrameTimeoutMs: number;
  tls: {
    port: number | null;
    certFile: string | null;
    keyFile: string | null;
    caCertFile: string | null;
    authClients: "yes" | "no" | "optional";
    protocols: string;
  };
  cluster: {
    enabled: boolean;
    nodeId: string | null;
    seeds: string[];
    port: number | null;
    slots: number[];
    slotRanges: { start: number; end: number }[];
    gossipIntervalMs: number;
    advertiseAddr: string | null;
    /** Shared secret of the cluster bus; required when enabled. */
    secret: string | null;
    /** Redis's cluster-node-timeout (CONFIG SET changes the running value). */
    nodeTimeoutMs: number;
    /** Redis's cluster-require-full-coverage. */
    requireFullCoverage: boolean;
  };
  /** Absolute path of the file loaded, or null when built from defaults. */
  sourcePath: string | null;
  /** Leftovers that did not stop loading (the caller logs them); absent when there are none. */
  warnings?: readonly string[];
}

/** Every field optional, recursively; arrays are replaced whole, never merged. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | undefined }
    : T;

/** How a value is checked and converted. Integers arrive from TOML as bigint, floats as number. */
export type ValueKind =
  | { type: "integer"; min: number; max: number }
  | { type: "boolean" }
  | { type: "string" }
  | { type: "enum"; values: readonly string[]; fold: "upper" | "lower" }
  | { type: "addr"; as: "object" | "text" }
  | { type: "addrList" }
  | { type: "stringList" }
  | { type: "integerList"; min: number; max: number }
  | { type: "rangeList"; min: number; max: number };

export interface KeySpec {
  /** Dotted TOML path: `num_shards`, `sqlite.synchronous`. */
  readonly key: string;
  /** Dotted path in Config: `numShards`, `sqlite.synchronous`. */
  readonly field: string;
  readonly kind: ValueKind;
  /** Config-side default; for a required key it is what defaultConfig() uses. null = absent. */
  readonly default: unknown;
  /** The file must set it. */
  readonly required: boolean;
  /** May be absent; then the value is null. */
  readonly optional: boolean;
  /** false = accepted and validated, but the feature that reads it is not built yet. */
  readonly active: boolean;
  /** One sentence on what the key does. */
  readonly doc: string;
  /** What values are allowed, in words; also the `expected …` part of error messages. */
  readonly allowed: string;
}

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
    doc: "Memory in MB for recently read or written values kept in front of SQLite (0 = off), split across shards.",
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

/** A problem found after every key was valid on its own: which key, and what is wrong. */
export type CrossIssue = {
  key: string;
  value: unknown;
  problem: string;
  expected: string;
  /** A leftover that changes nothing: logged as a warning instead of refusing the file. */
  warn?: true;
};

const issue = (key: string, value: unknown, problem: string, expected: string): CrossIssue => ({
  key,
  value,
  problem,
  expected,
});
const whenEnabled = "when cluster.enabled = true";
const outputLimit = /^\s*\d+[kmg]?b?\s+\d+[kmg]?b?\s+\d+\s*$/i;

/** Redis's notify-keyspace-events characters (the pub/sub room parses them again). */
const notifyFlags = /^[KEg$lshzxetmdnA]*$/;

/** Rules that involve more than one key. They run only when every key is valid on its own. */
export const crossChecks: readonly ((c: Config) => CrossIssue | null)[] = Object.freeze([
  ({ notifyKeyspaceEvents: flags }) =>
    flags !== null && !notifyFlags.test(flags)
      ? issue(
          "notify_keyspace_events",
          flags,
          "is not allowed",
          "Redis's flag characters: K E g $ l s h z x e t m d n A",
        )
      : null,
  ({ storageCompression: { enabled, algorithm, level } }) => {
    const range = compressionLevelRange[algorithm];
    const at = "storage_compression.level";
    if (level === null) return null;
    // A level that cannot matter (compression off, or algorithm "none") is a leftover, not
    // a reason to refuse to start.
    if (range === null)
      return {
        ...issue(at, level, `is ignored with algorithm "${algorithm}"`, "no level"),
        warn: true,
      };
    if (!enabled && !(level >= range[0] && level <= range[1]))
      return {
        ...issue(
          at,
          level,
          "is ignored while storage_compression.enabled = false",
          `for ${algorithm} an integer from ${range[0]} to ${range[1]}`,
        ),
        warn: true,
      };
    if (!enabled) return null;
    if (level >= range[0] && level <= range[1]) return null;
    return issue(
      at,
      level,
      `is out of range for ${algorithm}`,
      `an integer from ${range[0]} to ${range[1]}`,
    );
  },
  ({ tls, metrics }) =>
    (tls.port !== null || metrics.tls) && (tls.certFile === null || tls.keyFile === null)
      ? issue(
          "tls.cert_file",
          undefined,
          "is missing",
          "cert_file and key_file when tls.port or metrics.tls is set",
        )
      : null,
  ({ tls }) =>
    tls.authClients !== "no" && tls.port !== null && tls.caCertFile === null
      ? issue(
          "tls.ca_cert_file",
          undefined,
          "is missing",
          'a CA file when auth_clients is not "no"',
        )
      : null,
  ({ clientOutputBufferLimitNormal: v }) =>
    outputLimit.test(v)
      ? null
      : issue(
          "client_output_buffer_limit_normal",
          v,
          "is not allowed",
          '"<hard> <soft> <seconds>", e.g. "0 0 0" or "256mb 64mb 60"',
        ),
  ({ cluster: c }) =>
    c.enabled && c.nodeId === null
      ? issue("cluster.node_id", undefined, "is missing", `a non-empty string ${whenEnabled}`)
      : null,
  ({ cluster: c }) =>
    c.enabled && c.port === null
      ? issue("cluster.port", undefined, "is missing", `an integer from 0 to 65535 ${whenEnabled}`)
      : null,
  ({ cluster: c }) =>
    c.enabled && c.secret === null
      ? issue("cluster.secret", undefined, "is missing", `a non-empty string ${whenEnabled}`)
      : null,
]);
