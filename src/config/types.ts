/**
 * The configuration's types: the typed `Config` the server is written against, and the shape
 * of one row of the key table (schema.ts).
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
  busyReplyThresholdMs: number;
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
