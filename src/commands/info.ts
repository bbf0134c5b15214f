/**
 * INFO: Redis's sections and field names, filled from this server's real state. Sections are
 * rendered on demand; nothing here scans a table per call except the keyspace line, which
 * counts rows with an index-backed query per shard.
 */
import { freemem, totalmem } from "node:os";
import { REDIS_COMPAT_VERSION } from "../version.ts";
import type { ServerContext } from "./spec.ts";

type Section = (s: ServerContext) => [string, string | number][];

const sections: Record<string, Section> = {
  server: (s) => [
    ["redis_version", REDIS_COMPAT_VERSION],
    ["blobasaur_version", s.version],
    ["redis_mode", s.config.cluster.enabled ? "cluster" : "standalone"],
    ["os", `${process.platform} ${process.arch}`],
    ["arch_bits", 64],
    ["multiplexing_api", "epoll"],
    ["process_id", process.pid],
    ["run_id", runId(s)],
    ["tcp_port", s.port()],
    ["server_time_usec", Date.now() * 1000],
    ["uptime_in_seconds", Math.floor((Date.now() - s.startedAt) / 1000)],
    ["uptime_in_days", Math.floor((Date.now() - s.startedAt) / 86_400_000)],
    ["executable", process.execPath],
    ["config_file", s.config.sourcePath ?? ""],
  ],
  clients: (s) => [
    ["connected_clients", s.clients.size],
    ["blocked_clients", 0],
    ["tracking_clients", 0],
    ["maxclients", 10000],
  ],
  memory: () => {
    const m = process.memoryUsage();
    return [
      ["used_memory", m.heapUsed],
      ["used_memory_human", human(m.heapUsed)],
      ["used_memory_rss", m.rss],
      ["used_memory_rss_human", human(m.rss)],
      ["used_memory_peak", m.rss],
      ["total_system_memory", totalmem()],
      ["total_system_memory_human", human(totalmem())],
      ["free_system_memory", freemem()],
      ["maxmemory", 0],
      ["maxmemory_human", "0B"],
      ["maxmemory_policy", "noeviction"],
      ["mem_allocator", "bun"],
    ];
  },
  persistence: (s) => [
    ["loading", 0],
    ["async_loading", 0],
    ["rdb_changes_since_last_save", 0],
    ["rdb_bgsave_in_progress", 0],
    ["rdb_last_bgsave_status", "ok"],
    ["aof_enabled", 0],
    ["aof_rewrite_in_progress", 0],
    ["aof_last_write_status", s.store.writers.some((w) => w.lastCommitError) ? "err" : "ok"],
  ],
  stats: (s) => {
    const st = s.stats;
    return [
      ["total_connections_received", st.connectionsReceived],
      ["total_commands_processed", st.commandsProcessed],
      ["instantaneous_ops_per_sec", 0],
      ["total_net_input_bytes", st.netInputBytes],
      ["total_net_output_bytes", st.netOutputBytes],
      ["rejected_connections", st.rejectedConnections],
      ["expired_keys", st.expiredKeys],
      ["evicted_keys", 0],
      ["keyspace_hits", st.keyspaceHits],
      ["keyspace_misses", st.keyspaceMisses],
      ["pubsub_channels", 0],
      ["pubsub_patterns", 0],
      ["total_error_replies", st.errorReplies],
    ];
  },
  replication: () => [
    ["role", "master"],
    ["connected_slaves", 0],
    ["master_repl_offset", 0],
  ],
  cpu: () => {
    const u = process.cpuUsage();
    return [
      ["used_cpu_sys", (u.system / 1e6).toFixed(6)],
      ["used_cpu_user", (u.user / 1e6).toFixed(6)],
    ];
  },
  commandstats: (s) =>
    [...s.stats.commands.entries()]
      .filter(([, c]) => c.calls + c.rejectedCalls > 0)
      .map(([name, c]) => [
        `cmdstat_${name}`,
        `calls=${c.calls},usec=${Math.round(c.usec)},usec_per_call=${c.calls ? (c.usec / c.calls).toFixed(2) : "0.00"},rejected_calls=${c.rejectedCalls},failed_calls=${c.failedCalls}`,
      ]),
  errorstats: (s) => [...s.stats.errorsByCode.entries()].map(([code, n]) => [`errorstat_${code}`, `count=${n}`]),
  cluster: (s) => [["cluster_enabled", s.config.cluster.enabled ? 1 : 0]],
  keyspace: (s) => {
    const now = s.store.now();
    let keys = 0;
    let expires = 0;
    for (const shard of s.store.shards) {
      keys += shard.blobs.countLiveStmt.get(now)!.n;
      expires += shard.blobs.countExpiringStmt.get(now)!.n;
    }
    return keys > 0 ? [["db0", `keys=${keys},expires=${expires},avg_ttl=0`]] : [];
  },
  blobasaur: (s) => [
    ["shards", s.store.shardCount],
    ["data_dir", s.config.dataDir],
    ["async_write", s.config.asyncWrite ? 1 : 0],
    ["batch_size", s.config.batchSize],
    ["batch_timeout_ms", s.config.batchTimeoutMs],
    ["compression", s.config.storageCompression.enabled ? s.config.storageCompression.algorithm : "none"],
    ["sqlite_synchronous", s.config.sqlite.synchronous],
    ["writer_queue_depth", s.store.scheduler.pendingOps],
  ],
};

const defaultSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "cluster", "keyspace", "blobasaur"];
const titles: Record<string, string> = {
  commandstats: "Commandstats",
  errorstats: "Errorstats",
  cpu: "CPU",
};

/** Renders the requested sections (Redis's section names, case-insensitive). */
export function renderInfo(server: ServerContext, requested: string[]): string {
  let names: string[];
  const lower = requested.map((r) => r.toLowerCase());
  if (lower.length === 0 || lower.includes("default")) names = defaultSections;
  else if (lower.includes("all") || lower.includes("everything")) {
    names = [...defaultSections.slice(0, -2), "commandstats", "errorstats", "cluster", "keyspace", "blobasaur"];
    names = [...new Set(names)];
  } else names = lower.filter((n) => n in sections);
  const blocks: string[] = [];
  for (const name of names) {
    const lines = sections[name]!(server).map(([k, v]) => `${k}:${v}`);
    const title = titles[name] ?? name[0]!.toUpperCase() + name.slice(1);
    blocks.push([`# ${title}`, ...lines].join("\r\n"));
  }
  return blocks.length > 0 ? `${blocks.join("\r\n\r\n")}\r\n` : "";
}

function human(bytes: number): string {
  const units = ["B", "K", "M", "G", "T"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(2)}${units[i]}`;
}

/** A stable 40-hex id for this server instance, derived from its start time and pid. */
function runId(s: ServerContext): string {
  const seed = `${s.startedAt}:${process.pid}:${s.port()}`;
  let out = "";
  for (let i = 0; out.length < 40; i++) out += Bun.hash.wyhash(`${seed}:${i}`).toString(16).padStart(16, "0");
  return out.slice(0, 40);
}
