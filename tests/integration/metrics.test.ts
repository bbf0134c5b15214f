/**
 * Observability end to end: the Prometheus endpoint (validated by `promtool check metrics`
 * from Debian's prometheus package), /health, INFO against a real Redis's field names, and the
 * handshakes tools make (node-redis RESP3, ioredis's ready check, redis-benchmark's CONFIG GET,
 * CLIENT REPLY, SLOWLOG, CONFIG SET).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { createClient } from "redis";
import { startRedisRef } from "../helpers/redis-ref.ts";
import { rawExchange, resp, startTestServer, type TestServer } from "../helpers/server.ts";

const metricsOn = { metrics: { enabled: true, addr: { host: "127.0.0.1", port: 0 } } };

let server: TestServer;
let base: string;

beforeAll(async () => {
  server = await startTestServer(metricsOn as never);
  base = server.handle.context.metrics!.endpoint!;
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
});

function ioredis(port = server.port): Redis {
  return new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
}

async function scrape(): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  return await res.text();
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples of the exposition (the format itself is checked by promtool). */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[k!] = v!;
    }
    out.push({ name: m[1]!, labels, value: Number(m[3] === "+Inf" ? Infinity : m[3]) });
  }
  return out;
}

function value(all: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = all.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length === 0) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return found.reduce((a, s) => a + s.value, 0);
}

async function promtool(text: string): Promise<{ code: number; output: string }> {
  const bin = Bun.which("promtool");
  if (!bin) throw new Error("promtool is not on PATH: apt-get install prometheus");
  const proc = Bun.spawn([bin, "check", "metrics"], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  proc.stdin.write(text);
  await proc.stdin.end();
  const output =
    (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
  return { code: await proc.exited, output };
}

describe("/metrics", () => {
  test("passes promtool check metrics and holds every documented family", async () => {
    const r = ioredis();
    await r.connect();
    for (let i = 0; i < 20; i++) await r.set(`m:${i}`, "x".repeat(100));
    await r.get("m:1");
    await r.get("missing");
    await r.call("NOSUCHCOMMAND").catch(() => {});
    await r.call("GET").catch(() => {});
    r.disconnect();
    const text = await scrape();
    const check = await promtool(text);
    expect(check.output).toBe("");
    expect(check.code).toBe(0);
    const families = new Map<string, string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1]!, m[2]!);
    expect(Object.fromEntries(families)).toMatchObject({
      blobasaur_commands_total: "counter",
      blobasaur_command_duration_seconds: "histogram",
      blobasaur_connections_active: "gauge",
      blobasaur_connections_total: "counter",
      blobasaur_connections_dropped_total: "counter",
      blobasaur_cache_hits_total: "counter",
      blobasaur_cache_misses_total: "counter",
      blobasaur_value_cache_hits_total: "counter",
      blobasaur_value_cache_misses_total: "counter",
      blobasaur_value_cache_bytes: "gauge",
      blobasaur_value_cache_entries: "gauge",
      blobasaur_errors_total: "counter",
      blobasaur_storage_operations_total: "counter",
      blobasaur_batch_operations_total: "counter",
      blobasaur_batch_size: "histogram",
      blobasaur_batch_duration_seconds: "histogram",
      blobasaur_writer_queue_depth: "gauge",
      blobasaur_wal_bytes: "gauge",
      blobasaur_database_bytes: "gauge",
      blobasaur_keys: "gauge",
      blobasaur_expired_keys_removed_total: "counter",
      blobasaur_compression_input_bytes_total: "counter",
      blobasaur_compression_stored_bytes_total: "counter",
    });
  });

  test("counts commands by table name, unknown names as 'unknown', and errors by kind", async () => {
    const before = samples(await scrape());
    const { data } = await rawExchange(
      server.port,
      Buffer.concat([
        resp("SET", "count-me", "1"),
        resp("GET", "count-me"),
        resp("get", "count-me"),
        resp("FLURB"),
        resp("GET"),
        resp("CLIENT", "GETNAME"),
      ]),
    );
    expect(data.toString()).toContain("-ERR unknown command 'FLURB'");
    const after = samples(await scrape());
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) -
      (before.some(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      )
        ? value(before, name, labels)
        : 0);
    expect(delta("blobasaur_commands_total", { command: "get" })).toBe(3);
    expect(delta("blobasaur_commands_total", { command: "set" })).toBe(1);
    expect(delta("blobasaur_commands_total", { command: "unknown" })).toBe(1);
    expect(delta("blobasaur_commands_total", { command: "client|getname" })).toBe(1);
    expect(delta("blobasaur_errors_total", { kind: "command" })).toBe(2);
    expect(delta("blobasaur_command_duration_seconds_count", { command: "get" })).toBe(2);
    const names = new Set(
      after.filter((s) => s.name === "blobasaur_commands_total").map((s) => s.labels.command),
    );
    for (const n of names) {
      expect(
        n === "unknown" ||
          server.handle.context.table.all.some(
            (c) => n === c.name || c.subcommands?.some((s) => s.name === n),
          ),
      ).toBe(true);
    }
  });

  test("histograms have increasing buckets from 50µs to 1s, cumulative, ending in +Inf = _count", async () => {
    const all = samples(await scrape());
    for (const [name, labels] of [
      ["blobasaur_command_duration_seconds", { command: "set" }],
      ["blobasaur_batch_duration_seconds", {}],
      ["blobasaur_batch_size", {}],
    ] as const) {
      const buckets = all.filter(
        (s) =>
          s.name === `${name}_bucket` &&
          Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      );
      const les = buckets.map((b) => Number(b.labels.le === "+Inf" ? Infinity : b.labels.le));
      expect(les.at(-1)).toBe(Infinity);
      for (let i = 1; i < buckets.length; i++) {
        expect(les[i]!).toBeGreaterThan(les[i - 1]!);
        expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
      }
      expect(buckets.at(-1)!.value).toBe(value(all, `${name}_count`, labels));
      expect(value(all, `${name}_count`, labels)).toBeGreaterThan(0);
      if (name === "blobasaur_command_duration_seconds") {
        expect(les[0]).toBe(0.00005);
        expect(les.at(-2)).toBe(1);
      }
    }
  });

  test("batch, per-shard and keyspace families agree with what was written", async () => {
    await using own = await startTestServer(metricsOn as never);
    const r = ioredis(own.port);
    await r.connect();
    const pipeline = r.pipeline();
    for (let i = 0; i < 50; i++) pipeline.set(`k${i}`, "v".repeat(200));
    await pipeline.exec();
    const dbsize = await r.dbsize();
    r.disconnect();
    const res = await fetch(`${own.handle.context.metrics!.endpoint}/metrics`);
    const all = samples(await res.text());
    expect(value(all, "blobasaur_storage_operations_total")).toBe(50);
    expect(value(all, "blobasaur_batch_size_sum")).toBe(50);
    expect(value(all, "blobasaur_batch_operations_total")).toBe(
      value(all, "blobasaur_batch_size_count"),
    );
    expect(value(all, "blobasaur_batch_operations_total")).toBeLessThan(50);
    expect(value(all, "blobasaur_keys")).toBe(dbsize);
    const shards = all
      .filter((s) => s.name === "blobasaur_database_bytes")
      .map((s) => s.labels.shard);
    expect(shards).toEqual(["0", "1", "2", "3"]);
    expect(value(all, "blobasaur_database_bytes", { shard: "0" })).toBeGreaterThan(0);
    expect(value(all, "blobasaur_compression_input_bytes_total", { algorithm: "raw" })).toBe(
      50 * 200,
    );
    expect(value(all, "blobasaur_compression_stored_bytes_total", { algorithm: "raw" })).toBe(
      50 * 201,
    );
    expect(value(all, "blobasaur_connections_total")).toBe(1);
  });

  test("a protocol error counts as a protocol error and a dropped connection", async () => {
    const before = samples(await scrape());
    const { closed } = await rawExchange(server.port, "*1\r\n$x\r\n");
    expect(closed).toBe(true);
    const after = samples(await scrape());
    expect(value(after, "blobasaur_errors_total", { kind: "protocol" })).toBe(
      value(before, "blobasaur_errors_total", { kind: "protocol" }) + 1,
    );
    expect(value(after, "blobasaur_connections_dropped_total")).toBe(
      value(before, "blobasaur_connections_dropped_total") + 1,
    );
  });
});

describe("deploy/", () => {
  const deploy = join(import.meta.dir, "..", "..", "deploy");

  test("prometheus.yml and its alert rules pass promtool check config", async () => {
    const proc = Bun.spawn(
      [Bun.which("promtool") ?? "promtool", "check", "config", join(deploy, "prometheus.yml")],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const output =
      (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
    expect(output).toContain("SUCCESS");
    expect(await proc.exited).toBe(0);
  });

  test("every metric the Grafana dashboard and the alerts query is exported", async () => {
    const dashboard = readFileSync(join(deploy, "grafana-dashboard.json"), "utf8");
    const parsed = JSON.parse(dashboard) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = parsed.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(20);
    const queried = new Set<string>();
    for (const text of [...exprs, readFileSync(join(deploy, "blobasaur-alerts.yml"), "utf8")]) {
      for (const m of text.matchAll(/\bblobasaur_[a-z_]+/g))
        queried.add(m[0].replace(/_(bucket|sum|count)$/, ""));
    }
    const exported = new Set([...(await scrape()).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
    for (const name of queried) expect([name, exported.has(name)]).toEqual([name, true]);
  });
});

describe("/health and the HTTP surface", () => {
  test("/health is 200 with per-shard state, and 503 while a shard's last commit failed", async () => {
    const ok = await fetch(`${base}/health`);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: "ok", service: "blobasaur" });
    expect(typeof body.uptime_seconds).toBe("number");
    expect(body.shards).toEqual(
      [0, 1, 2, 3].map((shard) => ({ shard, queue_depth: 0, last_commit_error: null })),
    );
    const writer = server.handle.store.writers[2]!;
    writer.lastCommitError = "disk I/O error";
    try {
      const failing = await fetch(`${base}/health`);
      expect(failing.status).toBe(503);
      const report = (await failing.json()) as {
        status: string;
        shards: { last_commit_error: string | null }[];
      };
      expect(report.status).toBe("failing");
      expect(report.shards[2]!.last_commit_error).toBe("disk I/O error");
      const all = samples(await scrape());
      expect(value(all, "blobasaur_writer_commit_failing", { shard: "2" })).toBe(1);
    } finally {
      writer.lastCommitError = null;
    }
  });

  test("/ is an HTML index, unknown paths are 404 and other methods 405", async () => {
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toStartWith("text/html");
    expect(await index.text()).toContain('href="/metrics"');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  test("a metrics address already in use is logged and the server still serves Redis", async () => {
    const squatter = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("x") });
    try {
      await using own = await startTestServer({
        metrics: { enabled: true, addr: { host: "127.0.0.1", port: squatter.port } },
      } as never);
      expect(own.handle.context.metrics!.endpoint).toBeNull();
      const { data } = await rawExchange(own.port, "PING\r\n");
      expect(data.toString()).toBe("+PONG\r\n");
    } finally {
      await squatter.stop(true);
    }
  });

  test("with metrics disabled there is no registry and INFO says so", async () => {
    await using off = await startTestServer();
    expect(off.handle.context.metrics).toBeUndefined();
    const r = ioredis(off.port);
    await r.connect();
    expect(await r.info("blobasaur")).toContain("metrics_enabled:0");
    r.disconnect();
  });
});

describe("client libraries and tools", () => {
  test("node-redis with RESP3 talks HELLO 3 and reads INFO, CLIENT LIST, CONFIG GET and SLOWLOG", async () => {
    const r = createClient({ socket: { port: server.port, host: "127.0.0.1" }, RESP: 3 });
    await r.connect();
    try {
      expect(await r.set("resp3", "v")).toBe("OK");
      expect(await r.get("resp3")).toBe("v");
      const info = await r.info("server");
      expect(info).toContain(`tcp_port:${server.port}`);
      expect(await r.configGet("maxmemory")).toEqual({ maxmemory: "0" });
      const list = await r.clientList();
      expect(list.some((c) => c.resp === 3)).toBe(true);
      expect(await r.sendCommand(["SLOWLOG", "LEN"])).toBeNumber();
    } finally {
      r.destroy();
    }
  });

  test("ioredis's ready check (INFO, loading:0) passes", async () => {
    const r = new Redis({
      port: server.port,
      host: "127.0.0.1",
      lazyConnect: true,
      enableReadyCheck: true,
    });
    await r.connect();
    expect(r.status).toBe("ready");
    expect(await r.info("persistence")).toMatch(/^loading:0\r$/m);
    r.disconnect();
  });

  test("redis-benchmark fetches CONFIG without a warning", async () => {
    const proc = Bun.spawn(
      [
        "redis-benchmark",
        "-h",
        "127.0.0.1",
        "-p",
        String(server.port),
        "-t",
        "set,get",
        "-n",
        "2000",
        "-q",
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    expect(code).toBe(0);
    expect(out + err).not.toContain("WARNING");
    expect(out + err).not.toContain("ERROR");
    expect(out).toContain("GET:");
  }, 30_000);
});

describe("INFO", () => {
  /** Field names per section from the INFO documentation (redis.io/docs/latest/commands/info). */
  const documented: Record<string, string[]> = Object.fromEntries(
    Object.entries({
      Server: `redis_version redis_git_sha1 redis_git_dirty redis_build_id redis_mode os arch_bits multiplexing_api process_id process_supervised run_id tcp_port server_time_usec uptime_in_seconds uptime_in_days hz configured_hz executable config_file io_threads_active`,
      Clients: `connected_clients cluster_connections maxclients client_recent_max_input_buffer client_recent_max_output_buffer blocked_clients tracking_clients clients_in_timeout_table`,
      Memory: `used_memory used_memory_human used_memory_rss used_memory_rss_human used_memory_peak used_memory_peak_human used_memory_peak_perc total_system_memory total_system_memory_human used_memory_lua used_memory_scripts maxmemory maxmemory_human maxmemory_policy mem_fragmentation_ratio mem_allocator lazyfree_pending_objects`,
      Persistence: `loading async_loading rdb_changes_since_last_save rdb_bgsave_in_progress rdb_last_save_time rdb_last_bgsave_status rdb_last_bgsave_time_sec rdb_current_bgsave_time_sec aof_enabled aof_rewrite_in_progress aof_rewrite_scheduled aof_last_rewrite_time_sec aof_current_rewrite_time_sec aof_last_bgrewrite_status aof_last_write_status module_fork_in_progress module_fork_last_cow_size`,
      Stats: `total_connections_received total_commands_processed instantaneous_ops_per_sec total_net_input_bytes total_net_output_bytes instantaneous_input_kbps instantaneous_output_kbps rejected_connections sync_full sync_partial_ok sync_partial_err expired_keys expired_stale_perc expired_time_cap_reached_count evicted_keys keyspace_hits keyspace_misses pubsub_channels pubsub_patterns latest_fork_usec total_forks migrate_cached_sockets slave_expires_tracked_keys active_defrag_hits active_defrag_misses active_defrag_key_hits active_defrag_key_misses tracking_total_keys tracking_total_items tracking_total_prefixes unexpected_error_replies total_error_replies dump_payload_sanitizations`,
      Replication: `role connected_slaves master_failover_state master_replid master_replid2 master_repl_offset second_repl_offset repl_backlog_active repl_backlog_size repl_backlog_first_byte_offset repl_backlog_histlen`,
      CPU: `used_cpu_sys used_cpu_user used_cpu_sys_children used_cpu_user_children`,
      Cluster: `cluster_enabled`,
    }).map(([section, names]) => [section, names.split(/\s+/)]),
  );
  /** Our own fields in Redis's sections (Blobasaur's own facts live in # Blobasaur). */
  const ours = new Set(["blobasaur_version", "bun_version"]);

  function parse(info: string): Map<string, Map<string, string>> {
    const out = new Map<string, Map<string, string>>();
    let current: Map<string, string> | null = null;
    for (const line of info.split("\r\n")) {
      if (line.startsWith("# ")) {
        current = new Map();
        out.set(line.slice(2), current);
      } else if (line !== "") {
        const i = line.indexOf(":");
        current!.set(line.slice(0, i), line.slice(i + 1));
      }
    }
    return out;
  }

  test("every documented field is present, and every other field exists in a real Redis", async () => {
    const r = ioredis();
    await r.connect();
    await r.set("info-key", "v", "EX", 100);
    await r.call("NOPE").catch(() => {});
    const mine = parse(await r.info("everything"));
    r.disconnect();
    for (const [section, fields] of Object.entries(documented)) {
      expect(mine.has(section)).toBe(true);
      for (const f of fields) expect([section, mine.get(section)!.has(f)]).toEqual([section, true]);
    }
    await using redis = await startRedisRef();
    const ref = new Redis({ path: redis.socket, lazyConnect: true });
    await ref.connect();
    await ref.set("k", "v");
    await ref.call("NOPE").catch(() => {});
    const theirs = parse(await ref.info("everything"));
    ref.disconnect();
    for (const [section, fields] of mine) {
      if (section === "Blobasaur") continue;
      expect([section, theirs.has(section)]).toEqual([section, true]);
      for (const f of fields.keys()) {
        if (
          ours.has(f) ||
          f.startsWith("cmdstat_") ||
          f.startsWith("errorstat_") ||
          f.startsWith("db")
        )
          continue;
        expect([section, f, theirs.get(section)!.has(f)]).toEqual([section, f, true]);
      }
    }
    expect(mine.get("Keyspace")!.get("db0")).toMatch(/^keys=\d+,expires=[1-9]\d*,avg_ttl=\d+$/);
    expect(mine.get("Errorstats")!.get("errorstat_ERR")).toMatch(/^count=\d+$/);
  });

  test("section selection follows Redis: default, all, everything, case-insensitive, Redis's order", async () => {
    const r = ioredis();
    await r.connect();
    const headers = async (...args: string[]) =>
      [...((await r.call("INFO", ...args)) as string).matchAll(/^# (\w+)/gm)].map((m) => m[1]);
    const redisDefault = [
      "Server",
      "Clients",
      "Memory",
      "Persistence",
      "Stats",
      "Replication",
      "CPU",
      "Modules",
      "Errorstats",
      "Cluster",
      "Keyspace",
    ];
    expect(await headers()).toEqual([...redisDefault, "Blobasaur"]);
    expect(await headers("default")).toEqual([...redisDefault, "Blobasaur"]);
    const all = [
      ...redisDefault.slice(0, 8),
      "Commandstats",
      ...redisDefault.slice(8),
      "Blobasaur",
    ];
    expect(await headers("all")).toEqual(all);
    expect(await headers("EVERYTHING")).toEqual(all);
    expect(await headers("CPU", "server")).toEqual(["Server", "CPU"]);
    expect(await headers("commandSTATS")).toEqual(["Commandstats"]);
    expect(await r.call("INFO", "nosuchsection")).toBe("");
    expect(await r.info("server")).toMatch(/^redis_version:\d+\.\d+\.\d+\r$/m);
    expect(await r.info("server")).toMatch(new RegExp(`^tcp_port:${server.port}\\r$`, "m"));
    r.disconnect();
  });
});

describe("tool handshakes", () => {
  test("CLIENT REPLY OFF, ON and SKIP suppress replies exactly as Redis does", async () => {
    const { data } = await rawExchange(
      server.port,
      Buffer.concat([
        resp("CLIENT", "REPLY", "SKIP"),
        resp("PING"),
        resp("PING", "a"),
        resp("CLIENT", "REPLY", "OFF"),
        resp("SET", "reply-off", "1"),
        resp("NOSUCH"),
        resp("CLIENT", "REPLY", "ON"),
        resp("GET", "reply-off"),
        resp("CLIENT", "REPLY", "FOO"),
        resp("CLIENT", "REPLY", "SKIP"),
        resp("CLIENT", "REPLY", "ON"),
        resp("PING", "z"),
      ]),
    );
    expect(data.toString()).toBe(
      "$1\r\na\r\n+OK\r\n$1\r\n1\r\n-ERR syntax error\r\n+OK\r\n$1\r\nz\r\n",
    );
  });

  test("CLIENT KILL filters, NO-EVICT and NO-TOUCH parse like Redis", async () => {
    const victim = ioredis();
    await victim.connect();
    await victim.client("SETNAME", "victim");
    const r = ioredis();
    await r.connect();
    const id = (await victim.client("ID")) as number;
    expect(await r.call("CLIENT", "KILL", "ID", String(id), "SKIPME", "yes")).toBe(1);
    expect(await r.call("CLIENT", "KILL", "ID", "999999")).toBe(0);
    expect(await r.call("CLIENT", "KILL", "USER", "default", "SKIPME", "yes", "ID", "999999")).toBe(
      0,
    );
    const err = (p: Promise<unknown>) =>
      p.then(
        () => "no error",
        (e: Error) => e.message,
      );
    expect(await err(r.call("CLIENT", "KILL", "ID", "abc"))).toBe(
      "ERR client-id should be greater than 0",
    );
    expect(await err(r.call("CLIENT", "KILL", "FOO", "bar"))).toBe("ERR syntax error");
    // Redis's words for a user the ACL does not know (its introspection.tcl checks them).
    expect(await err(r.call("CLIENT", "KILL", "USER", "wrong_user"))).toBe(
      "ERR No such user 'wrong_user'",
    );
    expect(await err(r.call("CLIENT", "KILL", "SKIPME", "maybe"))).toBe("ERR syntax error");
    expect(await err(r.call("CLIENT", "NO-EVICT", "maybe"))).toBe("ERR syntax error");
    expect(await r.call("CLIENT", "NO-TOUCH", "on")).toBe("OK");
    expect(await err(r.call("CLIENT", "LIST", "TYPE", "foo"))).toBe(
      "ERR Unknown client type 'foo'",
    );
    expect(await r.call("CLIENT", "LIST", "TYPE", "pubsub")).toBe("");
    const mine = (await r.client("ID")) as number;
    expect(await r.call("CLIENT", "LIST", "ID", String(mine))).toStartWith(`id=${mine} `);
    r.disconnect();
    victim.disconnect();
  });

  test("SLOWLOG records commands over the threshold set by CONFIG SET, newest first, bounded", async () => {
    const r = ioredis();
    await r.connect();
    await r.client("SETNAME", "slowpoke");
    await r.slowlog("RESET");
    expect(await r.config("SET", "slowlog-log-slower-than", "0")).toBe("OK");
    try {
      await r.set("slow", "x".repeat(300));
      await r.del(...Array.from({ length: 40 }, (_, i) => `a${i}`));
      const entries = (await r.slowlog("GET", 2)) as unknown[][];
      expect(entries).toHaveLength(2);
      const [newest, older] = entries as [unknown[], unknown[]];
      expect(newest[0]).toBeGreaterThan(older[0] as number);
      expect(typeof newest[1]).toBe("number");
      expect(newest[2]).toBeGreaterThanOrEqual(0);
      expect(older[3]).toEqual(["set", "slow", `${"x".repeat(128)}... (172 more bytes)`]);
      expect((newest[3] as string[]).length).toBe(32);
      expect((newest[3] as string[])[31]).toBe("... (10 more arguments)");
      expect(newest[5]).toBe("slowpoke");
      expect(String(newest[4])).toMatch(/^127\.0\.0\.1:\d+$/);
      await r.config("SET", "slowlog-max-len", "3");
      expect(await r.slowlog("LEN")).toBe(3);
      expect(await r.slowlog("RESET")).toBe("OK");
      expect(await r.slowlog("LEN")).toBeLessThanOrEqual(1);
      expect(await r.config("GET", "slowlog-*")).toEqual([
        "slowlog-log-slower-than",
        "0",
        "slowlog-max-len",
        "3",
      ]);
    } finally {
      await r.config("SET", "slowlog-log-slower-than", "10000", "slowlog-max-len", "128");
      r.disconnect();
    }
  });

  test("CONFIG GET answers the patterns tools use; CONFIG SET refuses what it cannot change", async () => {
    const r = ioredis();
    await r.connect();
    const all = (await r.config("GET", "*")) as string[];
    const keys = all.filter((_, i) => i % 2 === 0);
    for (const k of [
      "maxmemory",
      "save",
      "appendonly",
      "databases",
      "maxmemory-policy",
      "maxclients",
      "port",
    ]) {
      expect(keys).toContain(k);
    }
    const maxPairs = (await r.config("GET", "max*")) as string[];
    const byName = new Map<string, string>();
    for (let i = 0; i < maxPairs.length; i += 2) byName.set(maxPairs[i]!, maxPairs[i + 1]!);
    expect([...byName].sort()).toEqual([
      ["maxclients", "10000"],
      ["maxmemory", "0"],
      ["maxmemory-policy", "noeviction"],
      ["maxmemory-samples", "5"],
    ]);
    const err = (p: Promise<unknown>) =>
      p.then(
        () => "no error",
        (e: Error) => e.message,
      );
    expect(await err(r.config("SET", "foo", "bar"))).toBe(
      "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
    );
    expect(await err(r.config("SET", "maxmemory", "100mb"))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - can't set immutable config",
    );
    expect(await r.config("SET", "appendonly", "no")).toBe("OK");
    expect(await err(r.config("SET", "slowlog-log-slower-than", "abc"))).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument couldn't be parsed into an integer",
    );
    r.disconnect();
  });

  test("COMMAND DOCS describes SLOWLOG and CLIENT REPLY for redis-cli's hints", async () => {
    const r = ioredis();
    await r.connect();
    const docs = (await r.call("COMMAND", "DOCS", "slowlog", "client")) as unknown[];
    const byName = new Map<string, unknown[]>();
    for (let i = 0; i < docs.length; i += 2)
      byName.set(docs[i] as string, docs[i + 1] as unknown[]);
    const slowlog = byName.get("slowlog")!;
    expect(slowlog).toContain("subcommands");
    const subs = slowlog[slowlog.indexOf("subcommands") + 1] as unknown[];
    expect(subs).toContain("slowlog|get");
    const client = byName.get("client")!;
    const clientSubs = client[client.indexOf("subcommands") + 1] as unknown[];
    expect(clientSubs).toContain("client|reply");
    r.disconnect();
  });
});

test("INFO's instantaneous_ops_per_sec reflects commands over the last 1.6 s, as Redis samples it", async () => {
  await using server = await startTestServer();
  const c = new Redis({ port: server.port, lazyConnect: true });
  await c.connect();
  const until = Date.now() + 700;
  while (Date.now() < until) {
    const p = c.pipeline();
    for (let i = 0; i < 50; i++) p.ping();
    await p.exec();
  }
  const info = await c.info("stats");
  const ops = Number(/instantaneous_ops_per_sec:(\d+)/.exec(info)![1]);
  expect(ops).toBeGreaterThan(100);
  expect(/instantaneous_input_kbps:\d+\.\d\d/.test(info)).toBe(true);
  c.disconnect();
});
