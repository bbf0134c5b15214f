/**
 * `blobasaur shard vacuum`: the orchestrator against real in-process servers, a dead address,
 * a silent node and an erroring node; flag validation with its messages and exit codes; node
 * resolution from the config; the RESP client's framing; and one run of the real entry point.
 */
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "citty";
import type { CliContext } from "../../src/cli/context.ts";
import {
  parseFrame,
  RespErrorReply,
  RespFrameError,
  respCall,
  splitHostPort,
} from "../../src/cli/resp-client.ts";
import { normalizeNode, parseNodes, vacuumCommand } from "../../src/cli/shard-vacuum.ts";
import { BUN, freePort, ROOT, writeConfig } from "../helpers/process.ts";
import { startTestServer, tempDir } from "../helpers/server.ts";

/** Runs the command in-process; returns exit code and what it printed. */
async function vacuum(args: string[], configPath = "/nonexistent/config.toml") {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { configPath, configGiven: true, exitCode: 0 };
  const cmd = vacuumCommand(ctx, { out: (l) => out.push(l), err: (l) => err.push(l) });
  await runCommand(cmd, { rawArgs: args });
  return { code: ctx.exitCode, out: out.join("\n"), err: err.join("\n") };
}

/** A TCP server that accepts and answers every request with `reply` (or never, when null). */
function fakeNode(reply: string | null) {
  return Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        if (reply !== null) socket.write(reply);
      },
    },
  });
}

describe("shard vacuum against nodes", () => {
  test("two live nodes and a dead one: per-shard report, summary, exit code 1", async () => {
    await using a = await startTestServer({ numShards: 2 });
    await using b = await startTestServer({ numShards: 3 });
    const dead = `127.0.0.1:${freePort()}`;
    const nodes = [`127.0.0.1:${b.port}`, dead, `0.0.0.0:${a.port}`];
    const run = await vacuum(["--all-shards", "--nodes", nodes.join(","), "--timeout-sec", "5"]);
    expect(run.code).toBe(1);
    const lines = run.out.split("\n");
    expect(lines.slice(0, 8)).toEqual([
      "shard vacuum",
      "  mode: incremental",
      "  budget_mb: 128",
      "  dry_run: false",
      "  node_concurrency: 1",
      "  shard_concurrency: 1",
      "  timeout_sec: 5",
      `  nodes: 127.0.0.1:${b.port}, ${dead}, 127.0.0.1:${a.port}`,
    ]);
    const nodeLines = lines.filter((l) => l.startsWith("node "));
    const sorted = [`127.0.0.1:${b.port}`, dead, `127.0.0.1:${a.port}`].sort();
    expect(nodeLines.map((l) => l.split(":").slice(0, 2).join(":").slice(5))).toEqual(sorted);
    expect(run.out).toContain(`node ${dead}: FAILED: `);
    expect(run.out).toContain(
      `node 127.0.0.1:${a.port}: mode=incremental, budget_mb=128, dry_run=0, shards=2`,
    );
    expect(lines.filter((l) => l.startsWith("  shard "))).toHaveLength(5);
    expect(run.out).toMatch(
      /\n {2}shard 2 -> status=ok, duration_ms=\d+, incremental_pages_requested=0, estimated_reclaimed_pages=0, error=-\n/,
    );
    expect(lines.at(-1)).toBe("Summary: node_failures=1, shard_successes=5, shard_failures=0");
    expect(run.err).toBe("Error: vacuum orchestration completed with failures");
  });

  test("all nodes ok: exit 0; --dry-run and --mode full reach the server; concurrency runs them together", async () => {
    await using a = await startTestServer({ numShards: 2 });
    await using b = await startTestServer({ numShards: 2 });
    const run = await vacuum([
      "--all-shards",
      "--mode",
      "FULL",
      "--dry-run",
      "--budget-mb",
      "7",
      "--node-concurrency",
      "2",
      "--nodes",
      ` 127.0.0.1:${a.port} ,,127.0.0.1:${b.port},127.0.0.1:${a.port}`,
    ]);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(run.out).toContain(
      `node 127.0.0.1:${b.port}: mode=full, budget_mb=7, dry_run=1, shards=2`,
    );
    expect(run.out).toContain("incremental_pages_requested=-");
    expect(run.out.split("\n").at(-1)).toBe(
      "Summary: node_failures=0, shard_successes=4, shard_failures=0",
    );
  });

  test("an error reply, a malformed reply and a silent node are node failures", async () => {
    const erroring = fakeNode("-ERR unknown command 'BLOBASAUR.VACUUM'\r\n");
    const garbage = fakeNode("*2\r\n:1\r\n:2\r\n");
    const silent = fakeNode(null);
    try {
      const run = await vacuum([
        "--all-shards",
        "--timeout-sec",
        "1",
        "--node-concurrency",
        "3",
        "--nodes",
        [erroring.port, garbage.port, silent.port].map((p) => `127.0.0.1:${p}`).join(","),
      ]);
      expect(run.code).toBe(1);
      expect(run.out).toContain(
        `node 127.0.0.1:${erroring.port}: FAILED: node returned error: ERR unknown command 'BLOBASAUR.VACUUM'`,
      );
      expect(run.out).toContain(
        `node 127.0.0.1:${garbage.port}: FAILED: invalid reply: missing or bad field 'dry_run'`,
      );
      expect(run.out).toContain(`node 127.0.0.1:${silent.port}: FAILED: timed out after 1 s`);
      expect(run.out).toContain("Summary: node_failures=3, shard_successes=0, shard_failures=0");
    } finally {
      for (const s of [erroring, garbage, silent]) s.stop(true);
    }
  });

  test("a shard that is not ok fails the run even when every node answered", async () => {
    const reply =
      "*8\r\n$4\r\nmode\r\n$11\r\nincremental\r\n$9\r\nbudget_mb\r\n$1\r\n1\r\n$7\r\ndry_run\r\n:0\r\n$7\r\nresults\r\n" +
      "*1\r\n*8\r\n$5\r\nshard\r\n:0\r\n$6\r\nstatus\r\n$15\r\nexecution_error\r\n$5\r\nerror\r\n$18\r\ndatabase is locked\r\n" +
      "$16\r\nexecution_errors\r\n*1\r\n$18\r\nVACUUM failed: x y\r\n";
    const node = fakeNode(reply);
    try {
      const run = await vacuum(["--all-shards", "--nodes", `127.0.0.1:${node.port}`]);
      expect(run.code).toBe(1);
      expect(run.out).toContain(
        "  shard 0 -> status=execution_error, duration_ms=-, incremental_pages_requested=-, estimated_reclaimed_pages=-, error=database is locked\n    execution_error: VACUUM failed: x y",
      );
      expect(run.out).toContain("Summary: node_failures=0, shard_successes=0, shard_failures=1");
    } finally {
      node.stop(true);
    }
  });

  test("without --nodes the config's addr is used, 0.0.0.0 dialled as 127.0.0.1", async () => {
    await using a = await startTestServer({ numShards: 1 });
    const dir = tempDir();
    try {
      const config = writeConfig(
        dir,
        `data_dir = "${dir}/data"\nnum_shards = 1\naddr = "0.0.0.0:${a.port}"\n`,
      );
      const run = await vacuum(["--all-shards"], config);
      expect(run.code).toBe(0);
      expect(run.out).toContain(`  nodes: 127.0.0.1:${a.port}`);
      const missing = await vacuum(["--all-shards", "--timeout-sec", "1"], join(dir, "nope.toml"));
      expect(missing.err).toContain("warning: cannot load");
      expect(missing.out).toContain("  nodes: 127.0.0.1:6379");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("shard vacuum flags", () => {
  test.each([
    [
      [],
      "blobasaur: Phase-4 orchestrator currently supports all local shards only; pass --all-shards",
    ],
    [
      ["--all-shards", "--mode", "fast"],
      "blobasaur: invalid --mode 'fast': expected incremental or full",
    ],
    [["--all-shards", "--budget-mb", "0"], "blobasaur: --budget-mb must be greater than 0"],
    [
      ["--all-shards", "--budget-mb", "lots"],
      "blobasaur: invalid --budget-mb 'lots': expected an integer >= 1",
    ],
    [
      ["--all-shards", "--nodes", " , ,"],
      "blobasaur: --nodes must contain at least one node address",
    ],
    [
      ["--all-shards", "--node-concurrency", "0"],
      "blobasaur: --node-concurrency must be at least 1",
    ],
    [["--all-shards", "--timeout-sec", "0"], "blobasaur: --timeout-sec must be at least 1"],
    [
      ["--all-shards", "--shard-concurrency", "x"],
      "blobasaur: invalid --shard-concurrency 'x': expected an integer >= 1",
    ],
    [["--all-shards", "--frobnicate"], "blobasaur: unknown option '--frobnicate'"],
  ])("%j is refused with exit code 2", async (args, message) => {
    const run = await vacuum(args as string[]);
    expect(run.err).toBe(message);
    expect(run.code).toBe(2);
    expect(run.out).toBe("");
  });

  test("--shard-concurrency other than 1 only prints a note", async () => {
    await using a = await startTestServer({ numShards: 1 });
    const run = await vacuum([
      "--all-shards",
      "--shard-concurrency",
      "4",
      "--nodes",
      `127.0.0.1:${a.port}`,
    ]);
    expect(run.code).toBe(0);
    expect(run.err).toContain("note: --shard-concurrency 4 is not supported yet");
  });

  test("node lists are trimmed, normalised and deduplicated in order", () => {
    expect(parseNodes(" 0.0.0.0:1, [::]:2 ,127.0.0.1:1,,h:3")).toEqual([
      "127.0.0.1:1",
      "[::1]:2",
      "h:3",
    ]);
    expect(normalizeNode("10.0.0.1:6379")).toBe("10.0.0.1:6379");
    expect(splitHostPort("[::1]:6379")).toEqual({ host: "::1", port: 6379 });
    expect(() => splitHostPort("nohost")).toThrow("invalid node address 'nohost'");
  });
});

describe("the RESP client", () => {
  test("reads exactly one frame, whole or in pieces, RESP2 and RESP3", () => {
    const frame = Buffer.from("*3\r\n$3\r\nabc\r\n:-5\r\n*2\r\n$-1\r\n_\r\n+extra");
    for (let cut = 0; cut < frame.length - 6; cut++)
      expect(parseFrame(frame.subarray(0, cut))).toBeUndefined();
    const whole = parseFrame(frame)!;
    expect(whole.value).toEqual(["abc", -5, [null, null]]);
    expect(frame.subarray(whole.next).toString()).toBe("+extra");
    expect(parseFrame(Buffer.from("%1\r\n+k\r\n(18446744073709551615\r\n"))!.value).toEqual([
      "k",
      18446744073709551615n,
    ]);
    expect(parseFrame(Buffer.from("-ERR no\r\n"))!.value).toEqual(new RespErrorReply("ERR no"));
    expect(() => parseFrame(Buffer.from("?x\r\n"))).toThrow(RespFrameError);
  });

  test("a reply larger than the cap is refused", async () => {
    const node = fakeNode(`$100000\r\n${"x".repeat(100000)}\r\n`);
    try {
      await expect(
        respCall(`127.0.0.1:${node.port}`, ["GET", "x"], { timeoutMs: 2000, maxReplyBytes: 1000 }),
      ).rejects.toThrow("reply larger than 1000 bytes");
    } finally {
      node.stop(true);
    }
  });
});

test("the real entry point: `blobasaur shard vacuum` exits 1 on a dead node and 0 when all are ok", async () => {
  await using a = await startTestServer({ numShards: 1 });
  const run = async (...args: string[]) => {
    const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "shard", "vacuum", ...args], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { out, err, code };
  };
  const ok = await run("--all-shards", "--nodes", `127.0.0.1:${a.port}`);
  expect(ok.code).toBe(0);
  expect(ok.out).toContain("Summary: node_failures=0, shard_successes=1, shard_failures=0");
  const failed = await run(
    "--all-shards",
    "--nodes",
    `127.0.0.1:${a.port},127.0.0.1:${freePort()}`,
  );
  expect(failed.code).toBe(1);
  expect(failed.err).toContain("vacuum orchestration completed with failures");
  const usage = await run("--mode", "full");
  expect(usage.code).toBe(2);
  expect(usage.err).toContain("pass --all-shards");
});
