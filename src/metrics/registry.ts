/**
 * The metrics registry of one server: the Blobasaur metric families, the hot-path recording
 * calls dispatch and the shard writers make, and the scrape-time rendering of everything else.
 * startServer() creates one per server when `[metrics] enabled = true` (none otherwise, so a
 * disabled server pays nothing); there is no module-level state.
 *
 * Cheap by construction: per command, one Map lookup, one increment and one histogram
 * observation (instruments.ts explains why not prom-client). Anything that needs IO or a scan
 * (file sizes, key counts, queue depths, connection and cache counters already kept in
 * ServerStats) is read only when /metrics is scraped.
 *
 * Label values are bounded: `command` is a command-table row name (subcommands as
 * `client|list`, like INFO commandstats) or "unknown"; `shard` is 0..num_shards-1; `kind` and
 * `algorithm` are fixed sets. Must not serve HTTP (http.ts) or know the wire protocol.
 */
import type { Config } from "../config/index.ts";
import type { ServerStats } from "../server/stats.ts";
import type { AutoVacuumUpgradeReport, Store } from "../storage/api.ts";
import { REDIS_COMPAT_VERSION } from "../version.ts";
import {
  BATCH_SIZE_BUCKETS,
  DURATION_BUCKETS_SECONDS,
  Histogram,
  TextExposition,
} from "./instruments.ts";
import { renderCompression, renderShardFiles, renderValueCache } from "./store-families.ts";

/** What /metrics reads of the running server; the ServerContext satisfies it. */
export interface MetricsSource {
  readonly config: Config;
  readonly store: Store;
  readonly startedAt: number;
  readonly version: string;
  readonly clients: { readonly size: number };
  readonly stats: ServerStats;
}

export type ErrorKind = "command" | "protocol" | "storage";

/** The label value for requests whose command name is not in the table. */
export const UNKNOWN_COMMAND = "unknown";

/** One BLOBASAUR.VACUUM shard result, as commands/server/vacuum.ts reports it. */
export interface VacuumRunSample {
  mode: string;
  shard: string;
  /** ok, error, invalid_shard, dispatch_error or cancelled. */
  result: string;
  /** null when the shard was not vacuumed (invalid id, dispatch failure). */
  seconds: number | null;
  /** Estimated reclaimed pages (counted for DRYRUN too, as the reference does). */
  reclaimedPages: number | null;
  pageSize: number | null;
  /** busy (SQLite lock/busy text) or error; null when the shard ran cleanly. */
  failure: "busy" | "error" | null;
}

/** Counters keyed by a fixed list of label values (bounded: modes × results × shards). */
class LabelledCounters {
  private readonly series = new Map<string, { labels: [string, string][]; value: number }>();
  constructor(private readonly names: readonly string[]) {}
  add(values: readonly string[], by = 1): void {
    const id = values.join("\u0000");
    const s = this.series.get(id);
    if (s) s.value += by;
    else this.series.set(id, { labels: this.names.map((n, i) => [n, values[i]!]), value: by });
  }
  render(out: TextExposition, name: string, help: string): void {
    if (this.series.size === 0) return;
    out.family(name, "counter", help);
    for (const s of this.series.values()) out.sample(name, s.value, s.labels);
  }
}

interface CommandSeries {
  total: number;
  readonly duration: Histogram;
}

export class MetricsRegistry {
  private readonly commands = new Map<string, CommandSeries>();
  private readonly errors: Record<ErrorKind, number> = { command: 0, protocol: 0, storage: 0 };
  private connectionsDropped = 0;
  private batches = 0;
  private readonly batchSize = new Histogram(BATCH_SIZE_BUCKETS);
  private readonly batchDuration = new Histogram(DURATION_BUCKETS_SECONDS);
  private readonly storageOps: number[] = [];
  private readonly vacuumRuns = new LabelledCounters(["mode", "result"]);
  private readonly vacuumDurations = new Map<
    string,
    { labels: [string, string][]; h: Histogram }
  >();
  private readonly vacuumPages = new LabelledCounters(["mode", "shard"]);
  private readonly vacuumBytes = new LabelledCounters(["mode", "shard"]);
  private readonly vacuumFailures = new LabelledCounters(["shard", "mode", "result"]);
  /** Where /metrics is served (`http://host:port`), set by startMetricsServer; null before. */
  endpoint: string | null = null;

  /** A command ran to completion (successfully or with an error reply) in `seconds`. */
  commandDone(name: string, seconds: number): void {
    const series = this.commands.get(name) ?? this.addSeries(name);
    series.total++;
    series.duration.observe(seconds);
  }

  /** A request was refused before running (unknown command, wrong arity): counted, not timed. */
  commandRejected(name: string): void {
    (this.commands.get(name) ?? this.addSeries(name)).total++;
  }

  error(kind: ErrorKind): void {
    this.errors[kind]++;
  }

  /** A protocol error: the reply is an error and the server closes that connection. */
  protocolError(): void {
    this.errors.protocol++;
    this.connectionsDropped++;
  }

  /** The server ended a connection the client did not close (kill, socket error). */
  connectionDropped(): void {
    this.connectionsDropped++;
  }

  /** WriterEvents.onCommit: one group-commit transaction of `ops` operations ran on `shard`. */
  readonly onCommit = (shard: number, ops: number, durationMs: number): void => {
    this.batches++;
    this.storageOps[shard] = (this.storageOps[shard] ?? 0) + ops;
    this.batchSize.observe(ops);
    this.batchDuration.observe(durationMs / 1000);
  };

  /** One shard's BLOBASAUR.VACUUM result (commands/server/vacuum.ts). */
  vacuumRun(r: VacuumRunSample): void {
    this.vacuumRuns.add([r.mode, r.result]);
    if (r.seconds !== null) {
      const id = `${r.mode}\u0000${r.result}`;
      let d = this.vacuumDurations.get(id);
      if (!d) {
        d = {
          labels: [
            ["mode", r.mode],
            ["result", r.result],
          ],
          h: new Histogram(DURATION_BUCKETS_SECONDS),
        };
        this.vacuumDurations.set(id, d);
      }
      d.h.observe(r.seconds);
    }
    if (r.reclaimedPages !== null) {
      this.vacuumPages.add([r.mode, r.shard], r.reclaimedPages);
      this.vacuumBytes.add([r.mode, r.shard], r.reclaimedPages * (r.pageSize ?? 0));
    }
    if (r.failure) this.vacuumFailures.add([r.shard, r.mode, r.failure]);
  }

  private renderVacuum(out: TextExposition, upgrade: AutoVacuumUpgradeReport | undefined): void {
    out.scalar(
      "blobasaur_sqlite_auto_vacuum_misconfigured_total",
      "counter",
      "Shard files left with auto_vacuum other than INCREMENTAL at startup (upgrade disabled).",
      upgrade?.misconfigured ?? 0,
    );
    if (upgrade && upgrade.runs.length > 0) {
      const runs = new LabelledCounters(["result"]);
      const durations = new Map<string, Histogram>();
      for (const run of upgrade.runs) {
        runs.add([run.result]);
        const h = durations.get(run.result) ?? new Histogram(DURATION_BUCKETS_SECONDS);
        durations.set(run.result, h);
        h.observe(run.seconds);
      }
      runs.render(
        out,
        "blobasaur_sqlite_auto_vacuum_upgrade_runs_total",
        "Startup auto_vacuum upgrades, by result.",
      );
      out.family(
        "blobasaur_sqlite_auto_vacuum_upgrade_duration_seconds",
        "histogram",
        "Time one shard's startup auto_vacuum upgrade took, by result.",
      );
      for (const [result, h] of durations) {
        out.histogram("blobasaur_sqlite_auto_vacuum_upgrade_duration_seconds", h, [
          ["result", result],
        ]);
      }
    }
    this.vacuumRuns.render(
      out,
      "blobasaur_vacuum_runs_total",
      "BLOBASAUR.VACUUM shard runs, by mode and result.",
    );
    if (this.vacuumDurations.size > 0) {
      out.family(
        "blobasaur_vacuum_duration_seconds",
        "histogram",
        "Time one shard's vacuum took, by mode and result.",
      );
      for (const d of this.vacuumDurations.values())
        out.histogram("blobasaur_vacuum_duration_seconds", d.h, d.labels);
    }
    this.vacuumPages.render(
      out,
      "blobasaur_vacuum_reclaimed_pages_estimate_total",
      "Pages BLOBASAUR.VACUUM estimated it reclaimed (DRYRUN estimates included), by mode and shard.",
    );
    this.vacuumBytes.render(
      out,
      "blobasaur_vacuum_reclaimed_bytes_estimate_total",
      "Bytes (pages × page size) BLOBASAUR.VACUUM estimated it reclaimed, by mode and shard.",
    );
    this.vacuumFailures.render(
      out,
      "blobasaur_vacuum_shard_failures_total",
      "Shard vacuums that failed, by shard, mode and result (busy = SQLite lock/busy).",
    );
  }

  private addSeries(name: string): CommandSeries {
    const series = { total: 0, duration: new Histogram(DURATION_BUCKETS_SECONDS) };
    this.commands.set(name, series);
    return series;
  }

  /** The whole exposition document for one scrape. */
  render(ctx: MetricsSource): string {
    const out = new TextExposition();
    const stats = ctx.stats;
    const store = ctx.store;
    const shards = store.shards.map((s) => String(s.index));

    out
      .family("blobasaur_build_info", "gauge", "Always 1; labels carry the server version.")
      .sample("blobasaur_build_info", 1, [
        ["version", ctx.version],
        ["redis_version", REDIS_COMPAT_VERSION],
      ]);
    out.scalar(
      "blobasaur_uptime_seconds",
      "gauge",
      "Seconds since the server started.",
      Math.floor((Date.now() - ctx.startedAt) / 1000),
    );

    const names = [...this.commands.keys()].sort();
    out.family("blobasaur_commands_total", "counter", "Requests received, by command.");
    for (const name of names) {
      out.sample("blobasaur_commands_total", this.commands.get(name)!.total, [["command", name]]);
    }
    out.family(
      "blobasaur_command_duration_seconds",
      "histogram",
      "Time from dispatch to reply (including group commit for writes), by command.",
    );
    for (const name of names) {
      const series = this.commands.get(name)!;
      if (series.duration.count > 0) {
        out.histogram("blobasaur_command_duration_seconds", series.duration, [["command", name]]);
      }
    }

    out.scalar(
      "blobasaur_connections_active",
      "gauge",
      "Client connections open now.",
      ctx.clients.size,
    );
    out.scalar(
      "blobasaur_connections_total",
      "counter",
      "Client connections accepted.",
      stats.connectionsReceived,
    );
    out.scalar(
      "blobasaur_connections_dropped_total",
      "counter",
      "Connections ended by the server or by a socket error (protocol error, CLIENT KILL).",
      this.connectionsDropped,
    );
    out.scalar(
      "blobasaur_cache_hits_total",
      "counter",
      "Key lookups that found a live key.",
      stats.keyspaceHits,
    );
    out.scalar(
      "blobasaur_cache_misses_total",
      "counter",
      "Key lookups that found no live key.",
      stats.keyspaceMisses,
    );
    renderValueCache(out, store);
    out.family("blobasaur_errors_total", "counter", "Error replies, by kind.");
    for (const kind of Object.keys(this.errors) as ErrorKind[]) {
      out.sample("blobasaur_errors_total", this.errors[kind], [["kind", kind]]);
    }

    out.family(
      "blobasaur_storage_operations_total",
      "counter",
      "Write operations run in group-commit transactions, by shard.",
    );
    for (const s of shards) {
      out.sample("blobasaur_storage_operations_total", this.storageOps[Number(s)] ?? 0, [
        ["shard", s],
      ]);
    }
    out.scalar(
      "blobasaur_batch_operations_total",
      "counter",
      "Group-commit transactions run.",
      this.batches,
    );
    out
      .family("blobasaur_batch_size", "histogram", "Operations per group-commit transaction.")
      .histogram("blobasaur_batch_size", this.batchSize);
    out
      .family(
        "blobasaur_batch_duration_seconds",
        "histogram",
        "Time one group-commit transaction took, BEGIN to COMMIT.",
      )
      .histogram("blobasaur_batch_duration_seconds", this.batchDuration);

    renderShardFiles(out, store);
    out.scalar(
      "blobasaur_expired_keys_removed_total",
      "counter",
      "Expired rows deleted by the background sweep.",
      stats.expiredKeys,
    );

    renderCompression(out, store);
    // Set by the Store when it ran upgradeLegacyAutoVacuum (storage/jobs/auto-vacuum.ts) at open.
    this.renderVacuum(
      out,
      (store as { autoVacuumUpgrade?: AutoVacuumUpgradeReport }).autoVacuumUpgrade,
    );
    return out.toString();
  }
}
