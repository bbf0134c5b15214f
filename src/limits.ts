/**
 * Every protocol and resource limit of the server, in one place, with units last.
 * Other modules import these names instead of repeating numbers; tests import them too,
 * so a limit changes in exactly one line. Nothing here is mutable at run time.
 */
export const limits = {
  /** Largest bulk string a client may send, like Redis's proto-max-bulk-len (512 MiB). */
  bulkBytesMax: 512 * 1024 * 1024,
  /** Most elements in one multibulk request (Redis allows 1024*1024 before auth as well). */
  argsCountMax: 1024 * 1024,
  /** Longest inline command line, like Redis's PROTO_INLINE_MAX_SIZE (64 KiB). */
  inlineBytesMax: 64 * 1024,
  /** Longest "*<n>" / "$<n>" header line before it counts as hostile. */
  headerLineBytesMax: 32,
  /** Unsent reply bytes for one client above which we stop reading its requests. */
  outputPauseBytes: 8 * 1024 * 1024,
  /** Unsent reply bytes at which a paused client is read again. */
  outputResumeBytes: 1 * 1024 * 1024,
  /**
   * Unsent bytes a MONITOR client may fall behind before it is disconnected; like Redis's
   * replica output-buffer limit, so a monitor that stops reading cannot exhaust memory.
   */
  monitorOutputMaxBytes: 64 * 1024 * 1024,
  /** How often the idle collector (server/idle-gc.ts) looks for a quiet server. */
  idleGcIntervalMs: 1_000,
  /**
   * Bytes received plus sent since the last idle collection below which a quiet server is
   * left alone: a collection is worth its few milliseconds only after real traffic.
   */
  idleGcTrafficBytesMin: 64 * 1024 * 1024,
  /** Default of large_value_threshold_kb: longer bulk strings stream into a file (storage/large). */
  largeValueThresholdBytes: 512 * 1024,
  /** Uncompressed bytes per chunk of a large-value file: the unit of reads, streams and codecs. */
  largeChunkBytes: 256 * 1024,
  /**
   * A large value up to this size is read whole for GET (one buffer, one socket write) rather
   * than streamed chunk by chunk: measured 1 MiB GETs at about twice the rate this way.
   */
  largeReplyWholeBytesMax: 2 * 1024 * 1024,
  /** Bytes of a streamed reply sent per event-loop turn, so other clients get their turn. */
  largeStreamTurnBytes: 256 * 1024,
  /** How often the files of deleted large values are unlinked. */
  largeCollectIntervalMs: 1000,
  /** Bulk replies at least this large are sent as their own chunk instead of being copied. */
  replyInlineCopyBytesMax: 64 * 1024,
  /** Queued write operations per shard before new writes wait for room. */
  writerQueueOpsMax: 100_000,
  /** Rows the expiry sweep deletes in one transaction, so it never holds the lock for long. */
  sweepRowsPerBatch: 500,
  /** Rows the cluster slot back-fill (jobs/slot-backfill.ts) fills per shard transaction. */
  slotBackfillRowsPerBatch: 2_000,
  /** Pause between two back-fill batches, so client writes keep most of the writer. */
  slotBackfillPauseMs: 2,
  /** Pause between expiry sweep rounds when the last round found nothing to delete. */
  sweepIdleIntervalMs: 1_000,
  /**
   * Expired keys a read announced (`expired`) whose queued delete has not finished, per
   * shard (storage/keyspace/lazy-expiry.ts); past it a find is left to the sweep to announce.
   */
  lazyExpiredPendingMax: 10_000,
  /** Most keys one SCAN/KEYS step reads from one shard at a time. */
  scanRowsPerStepMax: 10_000,
  /** Hash fields moved per transaction by the format 1 → 2 upgrade (storage/maintenance/upgrade.ts). */
  upgradeRowsPerTransaction: 1000,
  /** Startup prewarm (prewarm.ts) reads the shard files only when they fit in this share of MemAvailable. */
  prewarmMemoryShare: 0.5,
  /** WAL size at which the background checkpointer folds it back into the database. */
  walCheckpointBytes: 4 * 1024 * 1024,
  /** How often the background checkpointer looks at the WAL sizes. */
  walCheckpointIntervalMs: 100,
  /**
   * SQLite's own inline auto-checkpoint, kept as a safety net at a much higher threshold
   * (pages), in case the background checkpointer is not running.
   */
  walAutoCheckpointPages: 16_384,
  /**
   * A value larger than this fraction of a shard's value cache is never cached, so one big
   * blob cannot flush it (with the default 176 MB over 4 shards: values up to 2.75 MiB).
   */
  valueCacheEntryShare: 1 / 16,
  /**
   * Writes put values up to this size into the value cache (write-through); larger ones only
   * drop the cached entry and are cached when first read. Measured: caching every written
   * 16 KiB or 1 MiB value cost more CPU per SET (garbage collection of retained buffers) than
   * the SQLite read it saves later; for small values it is nearly free.
   */
  writeThroughBytesMax: 4096,
  /** How long the vacuum Worker's connection waits for a lock before a step fails. */
  vacuumBusyTimeoutMs: 5_000,
  /** How long a graceful shutdown waits for in-flight commands before closing anyway. */
  shutdownGraceMs: 10_000,
  /**
   * Background incremental vacuum (storage/maintenance/vacuum.ts, called after every expiry sweep round):
   * a shard whose freelist holds at least this many pages gets a small incremental_vacuum, so
   * space freed by deletes and expiry goes back to the filesystem without BLOBASAUR.VACUUM.
   * 2048 pages = 8 MiB at SQLite's default 4 KiB page size; smaller freelists are kept as
   * slack that new writes reuse anyway.
   */
  autoVacuumFreelistPagesMin: 2048,
  /**
   * Pages one background incremental vacuum frees at most. It runs as a writer barrier on the
   * event-loop thread; 1024 pages measured ≈ 8 ms, so a round never stalls clients for long.
   */
  autoVacuumPagesPerRun: 1024,
  /** Entries ACL LOG keeps, like Redis's acllog-max-len default. */
  aclLogEntriesMax: 128,
  /** How often the client reaper (security/reaper.ts) looks for idle and stalled clients. */
  clientReaperIntervalMs: 1_000,
  /**
   * A request held half-sent past client_frame_timeout_ms is closed (slowloris) unless it has
   * arrived at least this fast on average; a large value uploading steadily is left alone.
   */
  frameBytesPerSecMin: 16 * 1024,
  /** Largest reply the `shard vacuum` orchestrator reads from one node (one RESP frame). */
  vacuumReplyBytesMax: 8 * 1024 * 1024,
  /** Pub/sub subscriber output past which it is cut off at once (Redis: pubsub 32mb hard). */
  pubsubOutputHardBytes: 32 * 1024 * 1024,
  /** Pub/sub subscriber output it may hold for pubsubOutputSoftSeconds (Redis: 8mb soft). */
  pubsubOutputSoftBytes: 8 * 1024 * 1024,
  /** Seconds a subscriber may stay past the soft limit (Redis: 60). */
  pubsubOutputSoftSeconds: 60,
  /**
   * Keys the client-tracking table remembers, all clients together (Redis's
   * tracking-table-max-keys default); past it the oldest key is invalidated and forgotten.
   */
  trackingKeysMax: 1_000_000,
  /** How long INFO keyspace reuses a large shard's key count while writes go on. */
  keyCountReuseMs: 5_000,
  /** Shards whose largest rowid is below this are recounted whenever they change. */
  keyCountCheapRows: 50_000,
  /** Rows sampled per shard to estimate INFO keyspace's avg_ttl. */
  avgTtlSampleRows: 256,
  /** Rows copied per transaction by `shard migrate` and `import`. */
  maintenanceBatchRows: 5000,
  /** OBJECT ENCODING marks kept per database (keys/encoding-marks.ts); the oldest go first. */
  encodingMarksMax: 10_000,
  /** Keys longer than this are never marked: they read by shape. */
  encodingMarkKeyBytesMax: 1024,
  /**
   * Largest PUBLISH (channel and message) forwarded over the cluster bus, below its 4 MiB
   * frame bound; a larger one reaches this node's subscribers only (and is logged).
   */
  clusterPublishBytesMax: 4 * 1024 * 1024 - 64 * 1024,
  /** Gossip entries a bus message carries beyond which only PFAIL/FAIL nodes are added. */
  clusterGossipEntriesMax: 100,
  /** Gossip entries read from one received bus message at most. */
  clusterGossipReadMax: 1000,
  /** How long a forgotten node is ignored in gossip (Redis's blacklist TTL). */
  clusterForgetMs: 60_000,
  /** A slow-log entry shows at most this many arguments (Redis's SLOWLOG_ENTRY_MAX_ARGC). */
  slowlogArgsShown: 32,
  /** ... and at most this many bytes of each (Redis's SLOWLOG_ENTRY_MAX_STRING). */
  slowlogArgBytesShown: 128,
} as const;

/** Lua scripting (src/scripting/), units last. */
export const scriptLimits = {
  /** Redis's busy-reply-threshold (lua-time-limit) default: after this, others get BUSY. */
  busyReplyThresholdMs: 5_000,
  /** FUNCTION LOAD stops library code that runs longer than this (Redis's LOAD_TIMEOUT_MS). */
  functionLoadTimeoutMs: 500,
  /** Instructions between two checks of the clock and of SCRIPT KILL. */
  hookInstructions: 10_000,
  /** While busy, the script gives the event loop a turn this often (BUSY replies, SCRIPT KILL). */
  busyYieldEveryMs: 10,
  /** A script is stopped after this many Lua instructions (a runaway that has written can't be killed). */
  instructionsMax: 5_000_000_000,
  /** Largest string a script may build with string.rep (Redis's proto-max-bulk-len). */
  stringBytesMax: 512 * 1024 * 1024,
  /** Lua stack depth a reply conversion may nest (Redis refuses deeper replies too). */
  replyDepthMax: 1000,
  /**
   * A script is stopped when the JS heap (where fengari keeps Lua tables and strings) has
   * grown this much since it started, even after a full collection: a runaway that builds
   * tables cannot take the server's memory. Checked every memoryCheckEveryMs.
   */
  heapGrowthMaxBytes: 1024 * 1024 * 1024,
  memoryCheckEveryMs: 20,
  /** cjson's nesting limit, as Redis's lua_cjson (encode and decode). */
  cjsonDepthMax: 1000,
} as const;
