/**
 * INFO: Redis's sections and field names (checked against Redis 7's documentation and a real
 * `INFO everything`), filled from this server's real state, plus a `# Blobasaur` section.
 * Fields that describe machinery we do not have (RDB/AOF, replication, forks, defrag) carry
 * the value Redis shows when that machinery is idle, so tools that parse them keep working.
 *
 * Sections are rendered on demand, in Redis's order whatever order they were asked in;
 * `default`, `all` and `everything` select Redis's groups; names are case-insensitive; an
 * unknown section adds nothing. Nothing here scans a table per call: key counts come from
 * Store.keyCounts (storage/keyspace/stats.ts), which caches them.
 */
import { arch, release, totalmem, type } from "node:os";
import { limits } from "../../limits.ts";
import { REDIS_COMPAT_VERSION } from "../../version.ts";
import { configValue } from "../config/registry.ts";
import type { ServerContext } from "../spec.ts";

type Field = readonly [string, string | number];
type Section = (s: ServerContext) => Field[];

const sections: Record<string, Section> = {
  server: (s) => [
    ["redis_version", REDIS_COMPAT_VERSION],
    ["redis_git_sha1", "00000000"],
    ["redis_git_dirty", 0],
    ["redis_build_id", Bun.hash.wyhash(s.version).toString(16).padStart(16, "0").slice(0, 16)],
    ["redis_mode", s.config.cluster.enabled ? "cluster" : "standalone"],
    ["os", `${type()} ${release()} ${arch() === "x64" ? "x86_64" : arch()}`],
    ["arch_bits", 64],
    ["monotonic_clock", "POSIX clock_gettime"],
    ["multiplexing_api", process.platform === "linux" ? "epoll" : "kqueue"],
    ["process_id", process.pid],
    ["process_supervised", "no"],
    ["run_id", runId(s)],
    ["tcp_port", s.port()],
    ["server_time_usec", Date.now() * 1000],
    ["uptime_in_seconds", Math.floor((Date.now() - s.startedAt) / 1000)],
    ["uptime_in_days", Math.floor((Date.now() - s.startedAt) / 86_400_000)],
    ["hz", configValue(s, "hz") ?? 10],
    ["configured_hz", configValue(s, "hz") ?? 10],
    ["executable", process.execPath],
    ["config_file", s.config.sourcePath ?? ""],
    ["io_threads_active", 0],
    ["blobasaur_version", s.version],
    ["bun_version", Bun.version],
  ],
  clients: (s) => [
    ["connected_clients", s.clients.size],
    ["cluster_connections", 0],
    ["maxclients", configValue(s, "maxclients") ?? 10000],
    ["client_recent_max_input_buffer", 0],
    ["client_recent_max_output_buffer", 0],
    ["blocked_clients", s.pubsub?.pause.waiting ?? 0],
    ["tracking_clients", s.pubsub?.tracking.count ?? 0],
    ["clients_in_timeout_table", 0],
  ],
  memory: (s) => {
    const m = process.memoryUsage();
    const used = m.heapUsed + m.external + m.arrayBuffers;
    const peak = Math.max(process.resourceUsage().maxRSS * 1024, m.rss);
    return [
      ["used_memory", used],
      ["used_memory_human", human(used)],
      ["used_memory_rss", m.rss],
      ["used_memory_rss_human", human(m.rss)],
      ["used_memory_peak", peak],
      ["used_memory_peak_human", human(peak)],
      ["used_memory_peak_perc", `${((m.rss / peak) * 100).toFixed(2)}%`],
      ["total_system_memory", totalmem()],
      ["total_system_memory_human", human(totalmem())],
      ...scriptingMemory(s),
      ["maxmemory", 0],
      ["maxmemory_human", "0B"],
      ["maxmemory_policy", "noeviction"],
      ["mem_fragmentation_ratio", used > 0 ? (m.rss / used).toFixed(2) : "0.00"],
      // Nothing is evicted, replicated or buffered for an AOF here: the buffers Redis leaves
      // out of its eviction count are all empty (tools compute used_memory minus this).
      ["mem_not_counted_for_evict", 0],
      ["mem_replication_backlog", 0],
      ["mem_aof_buffer", 0],
      ["mem_allocator", `bun-${Bun.version}`],
      ["lazyfree_pending_objects", 0],
    ];
  },
  persistence: (s) => {
    const failing = s.store.writers.some((w) => w.lastCommitError !== null);
    return [
      ["loading", 0],
      ["async_loading", 0],
      ["rdb_changes_since_last_save", 0],
      ["rdb_bgsave_in_progress", 0],
      ["rdb_last_save_time", Math.floor(s.startedAt / 1000)],
      ["rdb_last_bgsave_status", "ok"],
      ["rdb_last_bgsave_time_sec", -1],
      ["rdb_current_bgsave_time_sec", -1],
      ["rdb_saves", 0],
      ["aof_enabled", 0],
      ["aof_rewrite_in_progress", 0],
      ["aof_rewrite_scheduled", 0],
      ["aof_last_rewrite_time_sec", -1],
      ["aof_current_rewrite_time_sec", -1],
      ["aof_last_bgrewrite_status", "ok"],
      ["aof_rewrites", 0],
      // Writes are durable through SQLite; a failing commit is reported where tools look.
      ["aof_last_write_status", failing ? "err" : "ok"],
      ["module_fork_in_progress", 0],
      ["module_fork_last_cow_size", 0],
    ];
  },
  stats: (s) => {
    const st = s.stats;
    return [
      ["total_connections_received", st.connectionsReceived],
      ["total_commands_processed", st.commandsProcessed],
      // Rates need a sampler Redis runs 10 times a second; use Prometheus rate() instead.
      ["instantaneous_ops_per_sec", s.rates?.opsPerSec ?? 0],
      ["total_net_input_bytes", st.netInputBytes],
      ["total_net_output_bytes", st.netOutputBytes],
      ["instantaneous_input_kbps", (s.rates?.inputKbps ?? 0).toFixed(2)],
      ["instantaneous_output_kbps", (s.rates?.outputKbps ?? 0).toFixed(2)],
      ["rejected_connections", st.rejectedConnections],
      ["sync_full", 0],
      ["sync_partial_ok", 0],
      ["sync_partial_err", 0],
      ["expired_keys", st.expiredKeys],
      ["expired_stale_perc", "0.00"],
      ["expired_time_cap_reached_count", 0],
      ["evicted_keys", 0],
      ["evicted_clients", 0],
      ["keyspace_hits", st.keyspaceHits],
      ["keyspace_misses", st.keyspaceMisses],
      ["pubsub_channels", s.pubsub?.hub.channelCount ?? 0],
      ["pubsub_patterns", s.pubsub?.hub.patternCount ?? 0],
      ["latest_fork_usec", 0],
      ["total_forks", 0],
      ["migrate_cached_sockets", 0],
      ["slave_expires_tracked_keys", 0],
      ["active_defrag_hits", 0],
      ["active_defrag_misses", 0],
      ["active_defrag_key_hits", 0],
      ["active_defrag_key_misses", 0],
      ["tracking_total_keys", s.pubsub?.tracking.keyCount ?? 0],
      ["tracking_total_items", s.pubsub?.tracking.itemCount ?? 0],
      ["tracking_total_prefixes", s.pubsub?.tracking.prefixCount ?? 0],
      ["unexpected_error_replies", 0],
      ["total_error_replies", st.errorReplies],
      ["dump_payload_sanitizations", 0],
    ];
  },
  replication: (s) => [
    ["role", "master"],
    ["connected_slaves", 0],
    ["master_failover_state", "no-failover"],
    ["master_replid", runId(s, "replid")],
    ["master_replid2", "0".repeat(40)],
    ["master_repl_offset", 0],
    ["second_repl_offset", -1],
    ["repl_backlog_active", 0],
    ["repl_backlog_size", 0],
    ["repl_backlog_first_byte_offset", 0],
    ["repl_backlog_histlen", 0],
  ],
  cpu: () => {
    const u = process.cpuUsage();
    return [
      ["used_cpu_sys", (u.system / 1e6).toFixed(6)],
      ["used_cpu_user", (u.user / 1e6).toFixed(6)],
      ["used_cpu_sys_children", "0.000000"],
      ["used_cpu_user_children", "0.000000"],
    ];
  },
  modules: () => [],
  commandstats: (s) =>
    [...s.stats.commands.entries()]
      .filter(([, c]) => c.calls + c.rejectedCalls > 0)
      .map(([name, c]) => [
        `cmdstat_${name}`,
        `calls=${c.calls},usec=${Math.round(c.usec)},usec_per_call=${c.calls ? (c.usec / c.calls).toFixed(2) : "0.00"},rejected_calls=${c.rejectedCalls},failed_calls=${c.failedCalls}`,
      ]),
  errorstats: (s) =>
    [...s.stats.errorsByCode.entries()].map(([code, n]) => [`errorstat_${code}`, `count=${n}`]),
  cluster: (s) => [["cluster_enabled", s.config.cluster.enabled ? 1 : 0]],
  keyspace: (s) => {
    const lines: Field[] = [];
    const byDb = [...s.store.keyCounts.byDb().entries()].sort(([a], [b]) => a - b);
    for (const [db, perShard] of byDb) {
      let keys = 0;
      let expires = 0;
      let ttlWeighted = 0;
      for (const shard of perShard) {
        keys += shard.keys;
        expires += shard.expires;
        ttlWeighted += shard.avgTtlMs * shard.expires;
      }
      const avgTtl = expires > 0 ? Math.round(ttlWeighted / expires) : 0;
      // Redis lists only the databases that hold keys.
      if (keys > 0) lines.push([`db${db}`, `keys=${keys},expires=${expires},avg_ttl=${avgTtl}`]);
    }
    return lines;
  },
  blobasaur: (s) => {
    const cache = s.store.valueCacheStats();
    return [
      ["shards", s.store.shardCount],
      ["data_dir", s.config.dataDir],
      ["async_write", s.config.asyncWrite ? 1 : 0],
      ["batch_size", s.config.batchSize],
      ["batch_timeout_ms", s.config.batchTimeoutMs],
      [
        "compression",
        s.config.storageCompression.enabled ? s.config.storageCompression.algorithm : "none",
      ],
      ["sqlite_synchronous", s.config.sqlite.synchronous],
      ["writer_queue_depth", s.store.scheduler.pendingOps],
      ["writer_commit_failing_shards", s.store.writers.filter((w) => w.lastCommitError).length],
      ["keyspace_cache_ms", limits.keyCountReuseMs],
      ["metrics_enabled", s.metrics ? 1 : 0],
      ["metrics_endpoint", s.metrics?.endpoint ?? ""],
      ["slowlog_len", s.stats.slowlog.length],
      ["value_cache_entries", cache.entries],
      ["value_cache_used_bytes", cache.usedBytes],
      ["value_cache_max_bytes", cache.limitBytes],
      ["value_cache_hits", cache.hits],
      ["value_cache_misses", cache.misses],
    ];
  },
};

/** Redis's order; `INFO a b` renders in this order whatever order a and b were given. */
const ORDER = [
  "server",
  "clients",
  "memory",
  "persistence",
  "stats",
  "replication",
  "cpu",
  "modules",
  "commandstats",
  "errorstats",
  "cluster",
  "keyspace",
  "blobasaur",
] as const;
/** As in Redis 7: default leaves out commandstats; all and everything differ only by module-made sections, which we have none of. */
const DEFAULT = new Set<string>(ORDER.filter((n) => n !== "commandstats"));
const ALL = new Set<string>(ORDER);
const TITLES: Record<string, string> = {
  cpu: "CPU",
  commandstats: "Commandstats",
  errorstats: "Errorstats",
};

/** The set of sections an INFO request selects. */
export function selectSections(requested: readonly string[]): Set<string> {
  if (requested.length === 0) return DEFAULT;
  const chosen = new Set<string>();
  for (const raw of requested) {
    let name = raw.toLowerCase();
    if (name === "module_list") name = "modules";
    const group =
      name === "default" ? DEFAULT : name === "all" || name === "everything" ? ALL : null;
    if (group) for (const g of group) chosen.add(g);
    else if (name in sections) chosen.add(name);
  }
  return chosen;
}

/** Renders the requested sections (Redis's section names, case-insensitive). */
export function renderInfo(server: ServerContext, requested: string[]): string {
  const chosen = selectSections(requested);
  const blocks: string[] = [];
  for (const name of ORDER) {
    if (!chosen.has(name)) continue;
    const lines = sections[name]!(server).map(([k, v]) => `${k}:${v}`);
    const title = TITLES[name] ?? name[0]!.toUpperCase() + name.slice(1);
    blocks.push([`# ${title}`, ...lines].join("\r\n"));
  }
  return blocks.length > 0 ? `${blocks.join("\r\n\r\n")}\r\n` : "";
}

function human(bytes: number): string {
  const units = ["B", "K", "M", "G", "T", "P"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(2)}${units[i]}`;
}

/**
 * Redis 7's scripting lines of INFO memory, in its order. Counts and the source bytes of
 * cached scripts and function libraries are real; fengari's Lua states live in the JS heap,
 * which keeps no per-VM account, so the used_memory_vm_* and lua lines are 0.
 */
function scriptingMemory(s: ServerContext): Field[] {
  const info = s.scripting?.memoryInfo() ?? {
    cachedScripts: 0,
    scriptBytes: 0,
    functions: 0,
    libraries: 0,
    libraryBytes: 0,
  };
  const scripts = info.scriptBytes + info.libraryBytes;
  return [
    ["used_memory_lua", 0],
    ["used_memory_vm_eval", 0],
    ["used_memory_lua_human", human(0)],
    ["used_memory_scripts_eval", info.scriptBytes],
    ["number_of_cached_scripts", info.cachedScripts],
    ["number_of_functions", info.functions],
    ["number_of_libraries", info.libraries],
    ["used_memory_vm_functions", 0],
    ["used_memory_vm_total", 0],
    ["used_memory_vm_total_human", human(0)],
    ["used_memory_functions", info.libraryBytes],
    ["used_memory_scripts", scripts],
    ["used_memory_scripts_human", human(scripts)],
  ];
}

/** A stable 40-hex id for this server instance, derived from its start time and pid. */
function runId(s: ServerContext, salt = "run"): string {
  const seed = `${salt}:${s.startedAt}:${process.pid}:${s.port()}`;
  let out = "";
  for (let i = 0; out.length < 40; i++) {
    out += Bun.hash.wyhash(`${seed}:${i}`).toString(16).padStart(16, "0");
  }
  return out.slice(0, 40);
}
