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
  metrics: { enabled: boolean; addr: Addr };
  cluster: {
    enabled: boolean;
    nodeId: string | null;
    seeds: string[];
    port: number | null;
    slots: number[];
    slotRanges: { start: number; end: number }[];
    gossipIntervalMs: number;
    advertiseAddr: string | null;
  };
  /** Absolute path of the file loaded, or null when built from defaults. */
  sourcePath: string | null;
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
const off = Object.freeze({ inactive: true });

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
  key("cluster.enabled", bool, false, {
    doc: "Run as a Redis Cluster node (needs node_id and port).",
    ...off,
  }),
  key("cluster.node_id", str, null, {
    doc: "This node's name in the cluster; required when enabled.",
    optional: true,
    ...off,
  }),
  key("cluster.seeds", { type: "addrList" }, [], {
    doc: "Gossip addresses (host:port) of other nodes to join through.",
    ...off,
  }),
  key("cluster.port", int(0, 65535), null, {
    doc: "UDP gossip port, bound on 0.0.0.0; required when enabled.",
    optional: true,
    ...off,
  }),
  key("cluster.slots", { type: "integerList", ...slots }, [], {
    doc: "Hash slots this node serves, joined with slot_ranges.",
    ...off,
  }),
  key("cluster.slot_ranges", { type: "rangeList", ...slots }, [], {
    doc: "Inclusive hash slot ranges this node serves.",
    ...off,
  }),
  key("cluster.gossip_interval_ms", int(1, int32Max), 1000, {
    doc: "Time between gossip rounds.",
    ...off,
  }),
  key("cluster.advertise_addr", { type: "addr", as: "text" }, null, {
    doc: "Redis address other nodes and clients are told to use; default: addr.",
    optional: true,
    ...off,
  }),
]);

/** A problem found after every key was valid on its own: which key, and what is wrong. */
export type CrossIssue = { key: string; value: unknown; problem: string; expected: string };

const issue = (key: string, value: unknown, problem: string, expected: string): CrossIssue => ({
  key,
  value,
  problem,
  expected,
});
const whenEnabled = "when cluster.enabled = true";

/** Rules that involve more than one key. They run only when every key is valid on its own. */
export const crossChecks: readonly ((c: Config) => CrossIssue | null)[] = Object.freeze([
  ({ storageCompression: { algorithm, level } }) => {
    const range = compressionLevelRange[algorithm];
    const at = "storage_compression.level";
    if (level === null) return null;
    if (range === null)
      return issue(at, level, `is not allowed with algorithm "${algorithm}"`, "no level");
    if (level >= range[0] && level <= range[1]) return null;
    return issue(
      at,
      level,
      `is out of range for ${algorithm}`,
      `an integer from ${range[0]} to ${range[1]}`,
    );
  },
  ({ cluster: c }) =>
    c.enabled && c.nodeId === null
      ? issue("cluster.node_id", undefined, "is missing", `a non-empty string ${whenEnabled}`)
      : null,
  ({ cluster: c }) =>
    c.enabled && c.port === null
      ? issue("cluster.port", undefined, "is missing", `an integer from 0 to 65535 ${whenEnabled}`)
      : null,
]);
