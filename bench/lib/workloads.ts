/**
 * The named workloads of bench/run.ts. A workload is either a redis-benchmark invocation
 * ("rb") or a bench/load.ts invocation ("load"); GET-type workloads name a prefill so every
 * key they read exists on both servers before the first repetition.
 */

export interface Prefill {
  /** Key prefix; redis-benchmark's keys are `key:` + 12 digits, hash fields `element:` + 12. */
  prefix: string;
  keys: number;
  size: string;
  type: "string" | "hash" | "hashes";
  hashKey?: string;
}

export interface Workload {
  name: string;
  what: string;
  tool: "rb" | "load";
  /** redis-benchmark flags after -h/-p, or bench/load.ts flags after --port. */
  args: string[];
  /** Requests per run (for CPU µs/request). */
  requests: number;
  prefill?: Prefill;
  /** Not in the default set; runs only when named in --workloads (or with --all). */
  optional?: boolean;
}

export interface Sizes {
  /** Requests per run for 100 B workloads. */
  n: number;
  /** Requests per run for pipelined (-P 16) workloads: 10 × n, so a run lasts over a second. */
  nPipelined: number;
  n16k: number;
  n1m: number;
  nLognormal: number;
}

export function sizesFor(quick: boolean, requests: number | null): Sizes {
  const n = requests ?? (quick ? 20_000 : 100_000);
  return {
    n,
    nPipelined: n * 10,
    n16k: Math.min(n, quick ? 5_000 : 20_000),
    n1m: Math.min(n, quick ? 200 : 2_000),
    nLognormal: Math.min(n, quick ? 2_000 : 20_000),
  };
}

const K100 = 100_000;

export function workloads(s: Sizes): Workload[] {
  const small = (extra: string[], n = s.n) => [
    "-c",
    "50",
    "-n",
    String(n),
    "-r",
    String(K100),
    ...extra,
  ];
  const keys100 = { prefix: "key:", keys: K100, size: "fixed:100", type: "string" } as const;
  const rb = (
    name: string,
    what: string,
    args: string[],
    requests: number,
    prefill?: Prefill,
  ): Workload => ({
    name,
    what,
    tool: "rb",
    args,
    requests,
    ...(prefill ? { prefill } : {}),
  });
  return [
    rb(
      "set-100B-P1",
      "SET 100 B values, 50 clients, no pipelining, 100k random keys",
      small(["-d", "100", "-t", "set"]),
      s.n,
    ),
    rb(
      "get-100B-P1",
      "GET of 100 B values, 50 clients, no pipelining",
      small(["-d", "100", "-t", "get"]),
      s.n,
      keys100,
    ),
    rb(
      "set-100B-P16",
      "SET 100 B, 50 clients, pipeline depth 16",
      small(["-d", "100", "-P", "16", "-t", "set"], s.nPipelined),
      s.nPipelined,
    ),
    rb(
      "get-100B-P16",
      "GET 100 B, 50 clients, pipeline depth 16",
      small(["-d", "100", "-P", "16", "-t", "get"], s.nPipelined),
      s.nPipelined,
      keys100,
    ),
    rb(
      "set-16KB-P1",
      "SET 16 KiB values, 50 clients, 10k random keys",
      ["-c", "50", "-n", String(s.n16k), "-r", "10000", "-d", "16384", "-t", "set"],
      s.n16k,
    ),
    rb(
      "get-16KB-P1",
      "GET 16 KiB values, 50 clients, 10k keys",
      ["-c", "50", "-n", String(s.n16k), "-r", "10000", "-d", "16384", "-t", "get"],
      s.n16k,
      { prefix: "key:", keys: 10_000, size: "fixed:16384", type: "string" },
    ),
    rb(
      "set-1MiB-c4",
      "SET 1 MiB values, 4 clients, 100 random keys",
      ["-c", "4", "-n", String(s.n1m), "-r", "100", "-d", "1048576", "-t", "set"],
      s.n1m,
    ),
    rb(
      "get-1MiB-c4",
      "GET 1 MiB values, 4 clients, 100 keys",
      ["-c", "4", "-n", String(s.n1m), "-r", "100", "-d", "1048576", "-t", "get"],
      s.n1m,
      { prefix: "key:", keys: 100, size: "fixed:1048576", type: "string" },
    ),
    rb(
      "hset-100B-P1",
      "HSET myhash element:<rand> with 100 B values, 50 clients",
      small(["-d", "100", "-t", "hset"]),
      s.n,
    ),
    rb(
      "hget-100B-P1",
      "HGET myhash element:<rand> (100k fields of 100 B), 50 clients",
      small(["HGET", "myhash", "element:__rand_int__"]),
      s.n,
      { prefix: "element:", keys: K100, size: "fixed:100", type: "hash", hashKey: "myhash" },
    ),
    {
      name: "mixed-80-20",
      what: "bench/load.ts: 80 % GET / 20 % SET of 100 B values, 100k keys, 50 clients, P1, every read verified",
      tool: "load",
      args: [
        "--connections",
        "50",
        "--pipeline",
        "1",
        "--requests",
        String(s.n),
        "--keyspace",
        String(K100),
      ].concat(["--reads", "0.8", "--size", "fixed:100", "--prefix", "mix:", "--seed", "1"]),
      requests: s.n,
      prefill: { prefix: "mix:", keys: K100, size: "fixed:100", type: "string" },
    },
    {
      name: "lognormal-mixed",
      what: "bench/load.ts: log-normal sizes 100 B–1 MiB (median ~10 KB), 80 % GET, 2,000 keys, 8 clients, P4, verified",
      tool: "load",
      args: [
        "--connections",
        "8",
        "--pipeline",
        "4",
        "--requests",
        String(s.nLognormal),
        "--keyspace",
        "2000",
      ].concat([
        "--reads",
        "0.8",
        "--size",
        "lognormal:100:1MiB",
        "--prefix",
        "ln:",
        "--seed",
        "1",
      ]),
      requests: s.nLognormal,
      prefill: { prefix: "ln:", keys: 2000, size: "lognormal:100:1MiB", type: "string" },
      optional: true,
    },
  ];
}

/** Pseudo-workload names handled by bench/lib/modes.ts rather than the workload loop. */
export const COLD_GET = "cold-get-100B";
