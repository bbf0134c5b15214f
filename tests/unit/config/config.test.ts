/**
 * Tests for src/config: defaults, every key's valid and invalid values, unknown keys and their
 * suggestions, TOML syntax errors, file errors, freezing, addresses, and that the shipped
 * config.toml and config.cluster.example.toml agree with the schema table.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  ConfigError,
  configKeys,
  defaultConfig,
  loadConfig,
  parseAddr,
  parseConfig,
} from "../../../src/config/index.ts";

const root = resolve(import.meta.dir, "../../..");
const base = { data_dir: '"d"', num_shards: "2" };

/** A TOML document with the required keys plus `key = value` (dotted keys go in their section). */
function docWith(key: string, value: string, extra = ""): string {
  const [section, leaf] = key.includes(".") ? key.split(".") : ["", key];
  const top = { ...base, ...(section === "" ? { [key]: value } : {}) };
  const lines = Object.entries(top).map(([k, v]) => `${k} = ${v}`);
  if (section !== "") lines.push(`[${section}]`, `${leaf} = ${value}`);
  return `${lines.join("\n")}\n${extra}`;
}

const parse = (text: string) => parseConfig(text, "config.toml");

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

function fieldOf(config: unknown, field: string): unknown {
  return field.split(".").reduce((at, part) => (at as Record<string, unknown>)[part], config);
}

const specOf = (key: string) => configKeys.find((k) => k.key === key)!;

describe("defaults", () => {
  test("defaultConfig gives the documented defaults", () => {
    const c = defaultConfig();
    expect(c).toEqual({
      dataDir: "./data",
      numShards: 4,
      addr: { host: "127.0.0.1", port: 6379, text: "127.0.0.1:6379" },
      asyncWrite: false,
      batchSize: 1000,
      batchTimeoutMs: 0,
      valueCacheMb: 176,
      databases: 16,
      largeValueThresholdKb: 512,
      notifyKeyspaceEvents: null,
      storageCompression: { enabled: false, algorithm: "zstd", level: null, minSizeBytes: 64 },
      sqlite: {
        cacheSizeMb: 16,
        busyTimeoutMs: 5000,
        synchronous: "NORMAL",
        mmapSizeMb: 0,
        autoUpgradeLegacyAutoVacuum: true,
        autoUpgradeLegacyAutoVacuumConcurrency: 2,
        journalSizeLimitMb: 64,
        prewarm: true,
      },
      metrics: {
        enabled: false,
        addr: { host: "127.0.0.1", port: 9090, text: "127.0.0.1:9090" },
        bearerToken: null,
        basicAuth: null,
        tls: false,
      },
      requirepass: null,
      requirepassEnv: null,
      aclfile: null,
      users: [],
      protectedMode: true,
      maxclients: 10000,
      busyReplyThresholdMs: 5000,
      timeout: 0,
      clientQueryBufferLimit: 1024 * 1024 * 1024,
      clientOutputBufferLimitNormal: "0 0 0",
      protoMaxBulkLen: 512 * 1024 * 1024,
      clientFrameTimeoutMs: 30_000,
      tls: {
        port: null,
        certFile: null,
        keyFile: null,
        caCertFile: null,
        authClients: "yes",
        protocols: "TLSv1.2 TLSv1.3",
      },
      cluster: {
        enabled: false,
        nodeId: null,
        seeds: [],
        port: null,
        slots: [],
        slotRanges: [],
        gossipIntervalMs: 1000,
        advertiseAddr: null,
        secret: null,
        nodeTimeoutMs: 15000,
        requireFullCoverage: true,
      },
      sourcePath: null,
    });
  });

  test("a file with only the required keys gets every other default", () => {
    const c = parse('data_dir = "/srv/blobs"\nnum_shards = 8\n');
    expect(c).toEqual(
      defaultConfig({ dataDir: "/srv/blobs", numShards: 8, sourcePath: resolve("config.toml") }),
    );
  });

  test("every key's table default is what defaultConfig holds", () => {
    const c = defaultConfig();
    for (const spec of configKeys) expect(fieldOf(c, spec.field)).toEqual(spec.default);
  });

  test("defaultConfig applies overrides, including an address given by port alone", () => {
    const c = defaultConfig({ addr: { port: 0 }, sqlite: { synchronous: "FULL" } });
    expect(c.addr).toEqual({ host: "127.0.0.1", port: 0, text: "127.0.0.1:0" });
    expect(c.sqlite.synchronous).toBe("FULL");
    expect(c.sqlite.cacheSizeMb).toBe(16);
  });

  test("defaultConfig validates its overrides like a file", () => {
    expect(errorOf(() => defaultConfig({ numShards: 0 }))).toBe(
      "defaultConfig(): num_shards = 0 is out of range; expected an integer from 1 to 1024",
    );
    expect(errorOf(() => defaultConfig({ batchSize: 1.5 }))).toContain(
      "batch_size = 1.5 is a float",
    );
  });

  test("data_dir and num_shards are required in a file", () => {
    expect(errorOf(() => parse(""))).toBe(
      [
        "config.toml: data_dir is missing; expected a non-empty string",
        "config.toml: num_shards is missing; expected an integer from 1 to 1024",
      ].join("\n"),
    );
  });
});

describe("valid values", () => {
  const cases: [key: string, toml: string, expected: unknown][] = [
    ["data_dir", '"/var/lib/blobasaur"', "/var/lib/blobasaur"],
    ["num_shards", "1", 1],
    ["num_shards", "1024", 1024],
    ["addr", '"0.0.0.0:7000"', { host: "0.0.0.0", port: 7000, text: "0.0.0.0:7000" }],
    ["async_write", "true", true],
    ["batch_size", "1", 1],
    ["batch_timeout_ms", "10", 10],
    ["value_cache_mb", "0", 0],
    ["databases", "1", 1],
    ["large_value_threshold_kb", "4096", 4096],
    ["notify_keyspace_events", '"KEA"', "KEA"],
    ["storage_compression.enabled", "true", true],
    ["storage_compression.algorithm", '"brotli"', "brotli"],
    ["storage_compression.algorithm", '"LZ4"', "lz4"],
    ["storage_compression.level", "22", 22],
    ["storage_compression.min_size_bytes", "0", 0],
    ["sqlite.cache_size_mb", "0", 0],
    ["sqlite.busy_timeout_ms", "0", 0],
    ["sqlite.synchronous", '"full"', "FULL"],
    ["sqlite.synchronous", '"Off"', "OFF"],
    ["sqlite.mmap_size", "512", 512],
    ["sqlite.auto_upgrade_legacy_auto_vacuum", "false", false],
    ["sqlite.prewarm", "false", false],
    ["sqlite.auto_upgrade_legacy_auto_vacuum_concurrency", "1", 1],
    ["sqlite.journal_size_limit_mb", "0", 0],
    ["metrics.enabled", "true", true],
    ["metrics.addr", '"[::]:9100"', { host: "::", port: 9100, text: "[::]:9100" }],
    ["cluster.node_id", '"node-1"', "node-1"],
    [
      "cluster.seeds",
      '["node2:7000", "[fe80::1%eth0]:7001"]',
      ["node2:7000", "[fe80::1%eth0]:7001"],
    ],
    ["cluster.port", "65535", 65535],
    ["cluster.slots", "[0, 5, 16383]", [0, 5, 16383]],
    ["cluster.slot_ranges", "[{ start = 0, end = 0 }]", [{ start: 0, end: 0 }]],
    ["cluster.gossip_interval_ms", "1", 1],
    ["cluster.advertise_addr", '"10.0.0.1:6379"', "10.0.0.1:6379"],
    ["cluster.secret", '"s3cret"', "s3cret"],
    ["cluster.node_timeout_ms", "100", 100],
    ["cluster.require_full_coverage", "false", false],
    ["metrics.bearer_token", '"t0ken"', "t0ken"],
    ["metrics.basic_auth", '"prom:pw"', "prom:pw"],
    ["requirepass", '"secret"', "secret"],
    ["requirepass_env", '"BLOBASAUR_PASSWORD"', "BLOBASAUR_PASSWORD"],
    ["aclfile", '"/etc/blobasaur/users.acl"', "/etc/blobasaur/users.acl"],
    ["users", '["alice on >pw ~* +@read"]', ["alice on >pw ~* +@read"]],
    ["protected_mode", "false", false],
    ["maxclients", "1", 1],
    ["timeout", "300", 300],
    ["busy_reply_threshold_ms", "100", 100],
    ["client_query_buffer_limit", "1048576", 1048576],
    ["client_output_buffer_limit_normal", '"256mb 64mb 60"', "256mb 64mb 60"],
    ["proto_max_bulk_len", "1048576", 1048576],
    ["client_frame_timeout_ms", "0", 0],
    ["tls.cert_file", '"/tls/server.crt"', "/tls/server.crt"],
    ["tls.key_file", '"/tls/server.key"', "/tls/server.key"],
    ["tls.ca_cert_file", '"/tls/ca.crt"', "/tls/ca.crt"],
    ["tls.auth_clients", '"Optional"', "optional"],
    ["tls.protocols", '"TLSv1.3"', "TLSv1.3"],
  ];
  test.each(cases)("%s accepts %s", (key, toml, expected) => {
    expect(fieldOf(parse(docWith(key, toml)), specOf(key).field)).toEqual(expected);
  });

  test("every key in the schema table has at least one valid-value case", () => {
    const covered = new Set(cases.map(([key]) => key));
    // These need companion keys (cross checks); each has its own test below.
    const paired = ["cluster.enabled", "tls.port", "metrics.tls"];
    const missing = configKeys.filter((k) => !covered.has(k.key) && !paired.includes(k.key));
    expect(missing.map((k) => k.key)).toEqual([]);
  });

  test("a TLS port with a certificate, key and CA is accepted", () => {
    const c = parse(
      docWith("tls.port", "6380", 'cert_file = "c"\nkey_file = "k"\nca_cert_file = "a"\n'),
    );
    expect(c.tls).toMatchObject({ port: 6380, certFile: "c", keyFile: "k", caCertFile: "a" });
  });

  test("metrics over TLS with a certificate and key is accepted", () => {
    const c = parse(`${docWith("metrics.tls", "true")}\n[tls]\ncert_file = "c"\nkey_file = "k"\n`);
    expect(c.metrics.tls).toBe(true);
  });

  test("an enabled cluster with node_id, port and secret is accepted", () => {
    const c = parse(
      docWith("cluster.enabled", "true", 'node_id = "n1"\nport = 7000\nsecret = "s"\n'),
    );
    expect(c.cluster).toMatchObject({ enabled: true, nodeId: "n1", port: 7000 });
  });
});

describe("invalid values", () => {
  const cases: [key: string, toml: string, message: string][] = [
    ["data_dir", '""', 'data_dir = "" is empty; expected a non-empty string'],
    ["data_dir", "5", "data_dir = 5 is an integer; expected a non-empty string"],
    ["num_shards", "0", "num_shards = 0 is out of range; expected an integer from 1 to 1024"],
    ["num_shards", "1025", "num_shards = 1025 is out of range"],
    ["num_shards", "-1", "num_shards = -1 is out of range"],
    ["num_shards", '"4"', 'num_shards = "4" is a string; expected an integer from 1 to 1024'],
    ["num_shards", "4.0", "num_shards = 4.0 is a float"],
    ["addr", "6379", "addr = 6379 is an integer; expected host:port"],
    ["async_write", '"yes"', 'async_write = "yes" is a string; expected true or false'],
    ["async_write", "1", "async_write = 1 is an integer; expected true or false"],
    ["batch_size", "0", "batch_size = 0 is out of range; expected an integer >= 1"],
    ["batch_size", "1.5", "batch_size = 1.5 is a float; expected an integer >= 1"],
    ["batch_timeout_ms", "-1", "batch_timeout_ms = -1 is out of range"],
    ["value_cache_mb", "-5", "value_cache_mb = -5 is out of range"],
    ["databases", "0", "databases = 0 is out of range"],
    ["large_value_threshold_kb", "0", "large_value_threshold_kb = 0 is out of range"],
    [
      "notify_keyspace_events",
      '"Kq"',
      'notify_keyspace_events = "Kq" is not allowed; expected Redis\'s flag characters',
    ],
    ["batch_timeout_ms", "2147483648", "expected an integer from 0 to 2147483647"],
    ["storage_compression.enabled", '"true"', 'storage_compression.enabled = "true" is a string'],
    [
      "storage_compression.algorithm",
      '"snappy"',
      'storage_compression.algorithm = "snappy" is not allowed; expected one of none, gzip, zstd, lz4, brotli',
    ],
    [
      "storage_compression.level",
      "-1",
      "storage_compression.level = -1 is out of range; expected gzip 1-9",
    ],
    ["storage_compression.level", '"3"', 'storage_compression.level = "3" is a string'],
    ["storage_compression.min_size_bytes", "-1", "min_size_bytes = -1 is out of range"],
    [
      "sqlite.cache_size_mb",
      "-1",
      "sqlite.cache_size_mb = -1 is out of range; expected an integer >= 0",
    ],
    ["sqlite.busy_timeout_ms", "2.5", "sqlite.busy_timeout_ms = 2.5 is a float"],
    [
      "sqlite.synchronous",
      '"FAST"',
      'sqlite.synchronous = "FAST" is not allowed; expected one of OFF, NORMAL, FULL',
    ],
    ["sqlite.synchronous", '"EXTRA"', 'sqlite.synchronous = "EXTRA" is not allowed'],
    ["sqlite.mmap_size", "-5", "sqlite.mmap_size = -5 is out of range"],
    ["sqlite.auto_upgrade_legacy_auto_vacuum", '"true"', "is a string; expected true or false"],
    ["sqlite.prewarm", "1", "expected true or false"],
    ["sqlite.auto_upgrade_legacy_auto_vacuum_concurrency", "0", "concurrency = 0 is out of range"],
    ["sqlite.journal_size_limit_mb", "-1", "sqlite.journal_size_limit_mb = -1 is out of range"],
    ["metrics.enabled", "1", "metrics.enabled = 1 is an integer"],
    ["metrics.addr", '"9090"', 'metrics.addr = "9090" is not allowed (missing port)'],
    ["cluster.enabled", '"yes"', 'cluster.enabled = "yes" is a string'],
    ["cluster.node_id", '""', 'cluster.node_id = "" is empty'],
    ["cluster.secret", '""', 'cluster.secret = "" is empty'],
    ["cluster.node_timeout_ms", "99", "cluster.node_timeout_ms = 99 is out of range"],
    ["cluster.require_full_coverage", '"yes"', 'cluster.require_full_coverage = "yes" is a string'],
    ["cluster.seeds", '"a:1"', 'cluster.seeds = "a:1" is a string; expected an array of host:port'],
    ["cluster.seeds", '["a:1", "b"]', 'cluster.seeds[1] = "b" is not allowed (missing port)'],
    [
      "cluster.port",
      "65536",
      "cluster.port = 65536 is out of range; expected an integer from 0 to 65535",
    ],
    [
      "cluster.slots",
      "[16384]",
      "cluster.slots[0] = 16384 is out of range; expected an integer from 0 to 16383",
    ],
    ["cluster.slots", "[1, -1]", "cluster.slots[1] = -1 is out of range"],
    ["cluster.slots", "[1.5]", "cluster.slots[0] = 1.5 is a float"],
    [
      "cluster.slot_ranges",
      "[{ start = 10, end = 5 }]",
      "slot_ranges[0] = { start = 10, end = 5 } has start > end",
    ],
    [
      "cluster.slot_ranges",
      "[{ start = 0 }]",
      "cluster.slot_ranges[0] = { start = 0 } is missing end",
    ],
    ["cluster.slot_ranges", "[{ start = 0, end = 1, step = 2 }]", "has unknown key step"],
    [
      "cluster.slot_ranges",
      "[{ start = 0, end = 16384 }]",
      "cluster.slot_ranges[0].end = 16384 is out of range",
    ],
    ["cluster.slot_ranges", "[[0, 5]]", "cluster.slot_ranges[0] = [0, 5] is an array"],
    ["cluster.gossip_interval_ms", "0", "cluster.gossip_interval_ms = 0 is out of range"],
    ["metrics.bearer_token", '""', 'metrics.bearer_token = "" is empty'],
    ["metrics.basic_auth", "1", "metrics.basic_auth = 1 is an integer"],
    ["metrics.tls", "true", "tls.cert_file is missing"],
    ["requirepass", '""', 'requirepass = "" is empty'],
    ["requirepass_env", "true", "requirepass_env = true is a boolean"],
    ["aclfile", "[]", "aclfile = [] is an array"],
    ["users", '"alice on"', 'users = "alice on" is a string; expected an array of strings'],
    ["users", '["a", ""]', 'users[1] = "" is empty'],
    ["protected_mode", '"no"', 'protected_mode = "no" is a string'],
    ["maxclients", "0", "maxclients = 0 is out of range"],
    ["timeout", "-1", "timeout = -1 is out of range"],
    ["busy_reply_threshold_ms", "-5", "busy_reply_threshold_ms = -5 is out of range"],
    ["client_query_buffer_limit", "1024", "client_query_buffer_limit = 1024 is out of range"],
    [
      "client_output_buffer_limit_normal",
      '"256mb"',
      'client_output_buffer_limit_normal = "256mb" is not allowed',
    ],
    ["proto_max_bulk_len", "10", "proto_max_bulk_len = 10 is out of range"],
    ["client_frame_timeout_ms", "1.5", "client_frame_timeout_ms = 1.5 is a float"],
    ["tls.port", "6380", "tls.cert_file is missing"],
    ["tls.cert_file", "1", "tls.cert_file = 1 is an integer"],
    ["tls.key_file", '""', 'tls.key_file = "" is empty'],
    ["tls.ca_cert_file", "false", "tls.ca_cert_file = false is a boolean"],
    ["tls.auth_clients", '"maybe"', 'tls.auth_clients = "maybe" is not allowed'],
    ["tls.protocols", "1", "tls.protocols = 1 is an integer"],
    [
      "cluster.advertise_addr",
      '"host"',
      'cluster.advertise_addr = "host" is not allowed (missing port)',
    ],
  ];
  test.each(cases)("%s refuses %s", (key, toml, message) => {
    const text = errorOf(() => parse(docWith(key, toml)));
    expect(text.startsWith("config.toml: ")).toBe(true);
    expect(text).toContain(message);
  });

  test("every key in the schema table has at least one invalid-value case", () => {
    const covered = new Set(cases.map(([key]) => key));
    expect(configKeys.filter((k) => !covered.has(k.key)).map((k) => k.key)).toEqual([]);
  });

  const levels: [algorithm: string, good: number[], bad: number[]][] = [
    ["gzip", [1, 9], [0, 10]],
    ["zstd", [1, 22], [0, 23]],
    ["lz4", [1, 16], [0, 17]],
    ["brotli", [0, 11], [12]],
  ];
  test.each(levels)("a %s level is checked against that algorithm's range", (algo, good, bad) => {
    const doc = (level: number) =>
      docWith("storage_compression.algorithm", `"${algo}"`, `enabled = true\nlevel = ${level}`);
    for (const level of good) expect(parse(doc(level)).storageCompression.level).toBe(level);
    const [min, max] = good;
    for (const level of bad) {
      expect(errorOf(() => parse(doc(level)))).toBe(
        `config.toml: storage_compression.level = ${level} is out of range for ${algo}; expected an integer from ${min} to ${max}`,
      );
    }
  });

  test("a level with algorithm none is a leftover: it warns and the file loads", () => {
    for (const enabled of ["true", "false"]) {
      const config = parse(
        docWith("storage_compression.algorithm", '"none"', `enabled = ${enabled}\nlevel = 1`),
      );
      expect(config.warnings).toEqual([
        'config.toml: storage_compression.level = 1 is ignored with algorithm "none"',
      ]);
    }
    expect(
      parse(docWith("storage_compression.algorithm", '"none"')).storageCompression.level,
    ).toBeNull();
  });

  test("with compression disabled an out-of-range level warns instead of stopping the server", () => {
    const config = parse(
      docWith("storage_compression.algorithm", '"gzip"', "enabled = false\nlevel = 15"),
    );
    expect(config.warnings).toEqual([
      "config.toml: storage_compression.level = 15 is ignored while storage_compression.enabled = false",
    ]);
    expect(config.storageCompression.enabled).toBe(false);
    // Enabled, the same level stops the server.
    expect(
      errorOf(() =>
        parse(docWith("storage_compression.algorithm", '"gzip"', "enabled = true\nlevel = 15")),
      ),
    ).toBe(
      "config.toml: storage_compression.level = 15 is out of range for gzip; expected an integer from 1 to 9",
    );
    // A valid level with compression off is simply kept, without a warning.
    expect(
      parse(docWith("storage_compression.algorithm", '"gzip"', "level = 5")).warnings,
    ).toBeUndefined();
  });

  test("an enabled cluster without node_id and port names both", () => {
    expect(errorOf(() => parse(docWith("cluster.enabled", "true")))).toBe(
      [
        "config.toml: cluster.node_id is missing; expected a non-empty string when cluster.enabled = true",
        "config.toml: cluster.port is missing; expected an integer from 0 to 65535 when cluster.enabled = true",
        "config.toml: cluster.secret is missing; expected a non-empty string when cluster.enabled = true",
      ].join("\n"),
    );
  });

  test("a section given as a value or as an array of tables is a type error", () => {
    expect(
      errorOf(() => parse(`${docWith("async_write", "false")}storage_compression = true`)),
    ).toBe(
      "config.toml: storage_compression = true is a boolean; expected a table ([storage_compression])",
    );
    expect(
      errorOf(() => parse(`${docWith("async_write", "false")}[[sqlite]]\ncache_size_mb = 1`)),
    ).toContain(
      "config.toml: sqlite = [{ cache_size_mb = 1 }] is an array; expected a table ([sqlite])",
    );
  });

  test("every problem in a file is reported at once, one per line", () => {
    const text = errorOf(() => parse('data_dir = ""\nnum_shards = 0\nbatch_size = 0\n'));
    expect(text.split("\n")).toHaveLength(3);
  });
});

describe("unknown keys", () => {
  const cases: [key: string, suggestion: string][] = [
    ["num_shard", "num_shards"],
    ["sqlite.synchronus", "sqlite.synchronous"],
    ["storage_compression.enabeld", "storage_compression.enabled"],
    ["numShards", "num_shards"],
    ["synchronous", "sqlite.synchronous"],
    ["cluster.portt", "cluster.port"],
    ["sqlite.mmap_size_mb", "sqlite.mmap_size"],
    ["metrics.adr", "metrics.addr"],
  ];
  test.each(cases)("the unknown key %s suggests %s", (key, suggestion) => {
    expect(errorOf(() => parse(docWith(key, "1")))).toBe(
      `config.toml: unknown key ${key}; did you mean ${suggestion}?`,
    );
  });

  test("an unknown section suggests the closest section", () => {
    expect(errorOf(() => parse(docWith("sqlit.synchronous", '"FULL"')))).toBe(
      "config.toml: unknown section [sqlit]; did you mean [sqlite]?",
    );
  });

  test("an unknown key with nothing close gets no suggestion", () => {
    expect(errorOf(() => parse(docWith("metrics.frobnicate", "1")))).toBe(
      "config.toml: unknown key metrics.frobnicate",
    );
    expect(errorOf(() => parse(docWith("output_compression", "true")))).toBe(
      "config.toml: unknown key output_compression",
    );
  });
});

describe("syntax and file errors", () => {
  test("a TOML syntax error names the file and the line", () => {
    const text = errorOf(() => parse('data_dir = "d"\nnum_shards = 2\naddr = \n'));
    expect(text.split("\n")[0]).toBe(
      "config.toml: TOML syntax error at line 3, column 8: invalid value",
    );
  });

  test("a missing file is reported with its path and the reason", () => {
    const path = join(tmpdir(), "blobasaur-no-such-dir", "config.toml");
    expect(errorOf(() => loadConfig(path))).toBe(
      `cannot read config file ${path}: no such file or directory`,
    );
  });

  test("a file that is not UTF-8 is refused", () => {
    const path = join(mkdtempSync(join(tmpdir(), "blobasaur-config-")), "bad.toml");
    writeFileSync(path, Uint8Array.from([0x61, 0x20, 0x3d, 0x20, 0x22, 0xff, 0x22, 0x0a]));
    expect(errorOf(() => loadConfig(path))).toBe(
      `cannot read config file ${path}: not valid UTF-8`,
    );
  });

  test("loadConfig records the absolute path and keeps data_dir relative to the working directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "blobasaur-config-"));
    const path = join(dir, "c.toml");
    writeFileSync(path, 'data_dir = "./blobs"\nnum_shards = 3\n');
    const c = loadConfig(path);
    expect(c.sourcePath).toBe(resolve(path));
    expect(c.dataDir).toBe("./blobs");
    expect(c.numShards).toBe(3);
  });

  test("errors in a loaded file name that file", () => {
    const path = join(mkdtempSync(join(tmpdir(), "blobasaur-config-")), "c.toml");
    writeFileSync(path, 'data_dir = "d"\nnum_shards = 2\n[sqlite]\nsynchronous = "FAST"\n');
    expect(errorOf(() => loadConfig(path))).toStartWith(`${path}: sqlite.synchronous = "FAST"`);
  });
});

describe("frozen result", () => {
  test("a loaded config cannot be changed at any depth", () => {
    const c = parse(docWith("cluster.slots", "[1, 2]"));
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c as { numShards: number }).numShards = 5;
    }).toThrow(TypeError);
    expect(() => {
      (c.sqlite as { cacheSizeMb: number }).cacheSizeMb = 1;
    }).toThrow(TypeError);
    expect(() => {
      (c.addr as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => c.cluster.slots.push(3)).toThrow(TypeError);
    expect(Object.isFrozen(defaultConfig().metrics.addr)).toBe(true);
  });

  test("configs share no mutable defaults and the key table is frozen", () => {
    expect(defaultConfig().cluster.seeds).not.toBe(defaultConfig({ numShards: 2 }).cluster.seeds);
    expect(Object.isFrozen(configKeys)).toBe(true);
    expect(Object.isFrozen(specOf("addr").default)).toBe(true);
    expect(Object.isFrozen(specOf("sqlite.synchronous").kind)).toBe(true);
  });
});

describe("addresses", () => {
  test("host:port parses into host, port and text", () => {
    expect(parseAddr("127.0.0.1:6379")).toEqual({
      host: "127.0.0.1",
      port: 6379,
      text: "127.0.0.1:6379",
    });
    expect(parseAddr("redis.internal:0")).toEqual({
      host: "redis.internal",
      port: 0,
      text: "redis.internal:0",
    });
  });

  test("an IPv6 host is written in brackets and stored without them", () => {
    expect(parseAddr("[::1]:6379")).toEqual({ host: "::1", port: 6379, text: "[::1]:6379" });
    expect(parse(docWith("addr", '"[::1]:6379"')).addr.host).toBe("::1");
  });

  const bad: [text: string, reason: string][] = [
    ["127.0.0.1:70000", "port 70000 is not 0-65535"],
    ["127.0.0.1", "missing port"],
    ["127.0.0.1:", "missing port"],
    [":6379", "missing host"],
    ["::1:6379", "an IPv6 host needs brackets, e.g. [::1]:6379"],
    ["[::1]", "missing port"],
    ["[localhost]:1", '"localhost" is not an IPv6 address'],
    ["local host:1", '"local host" is not a hostname or IP address'],
    ["h:-1", "port -1 is not 0-65535"],
  ];
  test.each(bad)("%s is refused: %s", (text, reason) => {
    expect(errorOf(() => parseAddr(text))).toBe(
      `invalid address ${JSON.stringify(text)}: ${reason}`,
    );
    expect(errorOf(() => parse(docWith("addr", JSON.stringify(text))))).toBe(
      `config.toml: addr = ${JSON.stringify(text)} is not allowed (${reason}); expected host:port, e.g. 127.0.0.1:6379 or [::1]:6379, port 0-65535`,
    );
  });
});

describe("shipped files", () => {
  const shippedPath = join(root, "config.toml");
  const shipped = readFileSync(shippedPath, "utf8");

  test("the shipped config.toml holds exactly the defaults", () => {
    expect(loadConfig(shippedPath)).toEqual(
      defaultConfig({ dataDir: "./data", numShards: 4, sourcePath: shippedPath }),
    );
  });

  /** `section.key` → the comment line above it, for keys set or commented out (`# key = …`). */
  function documentedKeys(text: string): Map<string, string> {
    const found = new Map<string, string>();
    let section = "";
    const lines = text.split("\n");
    for (const [i, line] of lines.entries()) {
      const header = /^\[([a-z_]+)\]$/.exec(line);
      if (header) section = header[1]!;
      const assignment = /^(?:# )?([a-z_]+) = /.exec(line);
      if (!assignment) continue;
      found.set(section ? `${section}.${assignment[1]}` : assignment[1]!, lines[i - 1] ?? "");
    }
    return found;
  }

  test("every key in the schema table appears in config.toml under a one-line comment", () => {
    const documented = documentedKeys(shipped);
    for (const spec of configKeys) {
      const comment = documented.get(spec.key);
      expect(comment, spec.key).toBeDefined();
      expect(comment!.startsWith("# "), spec.key).toBe(true);
      expect(comment!.includes("(not yet active)"), spec.key).toBe(!spec.active);
    }
  });

  test("every key in the schema table is documented in the table itself", () => {
    for (const spec of configKeys) {
      expect(spec.doc.length, spec.key).toBeGreaterThan(10);
      expect(spec.allowed.length, spec.key).toBeGreaterThan(3);
    }
    expect(new Set(configKeys.map((k) => k.key)).size).toBe(configKeys.length);
  });

  test("the cluster example is valid and describes an enabled cluster node", () => {
    const c = loadConfig(join(root, "config.cluster.example.toml"));
    expect(c.cluster).toMatchObject({ enabled: true, nodeId: "node1", port: 7000 });
    expect(c.cluster.slotRanges).toEqual([{ start: 0, end: 5460 }]);
    expect(c.cluster.seeds).toHaveLength(2);
  });
});
