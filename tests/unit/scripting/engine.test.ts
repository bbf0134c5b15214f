import { describe, expect, test } from "bun:test";
import { RespError } from "../../../src/errors.ts";
import { fakeServer, plain } from "./fake-host.ts";

describe("script results convert to replies as in Redis", () => {
  const s = fakeServer();
  const cases: [string, unknown][] = [
    ["return 1", 1],
    ["return 3.99", 3],
    ["return -3.99", -3],
    ["return 'x'", "x"],
    ["return true", 1],
    ["return false", null],
    ["return nil", null],
    ["return {1, 2, 3, nil, 4}", [1, 2, 3]],
    ["return {1, {2, 'a'}, false}", [1, [2, "a"], null]],
    ["return {ok = 'fine'}", { kind: "simple", text: "fine" }],
    ["return {err = 'MY error'}", "-MY error"],
    ["return redis.error_reply('bar')", "-ERR bar"],
    ["return redis.error_reply('-FOO bar')", "-FOO bar"],
    ["return redis.status_reply('PONG')", { kind: "simple", text: "PONG" }],
    ["return 'x' .. 10 / 2", "x5"],
    ["return tostring(1e15)", "1e+15"],
  ];
  for (const [src, expected] of cases) {
    test(`${src} -> ${JSON.stringify(expected)}`, async () => {
      expect(plain(await s.run(src))).toEqual(expected as never);
    });
  }
});

describe("numbers are Lua 5.1 doubles", () => {
  const s = fakeServer();
  test("a loop sum past 2^31 does not wrap", async () => {
    expect(await s.run("local s = 0 for i = 1, 100000 do s = s + i end return s")).toBe(5000050000);
  });
  test("integral floats print without .0", async () => {
    expect(plain(await s.run("return tostring(10 / 2) .. ',' .. tostring(3)"))).toBe("5,3");
  });
  test("numbers passed to redis.call are formatted with %.17g", async () => {
    await s.run("redis.call('set', 'n', 0.1) redis.call('set', 'm', 3)");
    expect(new TextDecoder().decode(s.data.get("n"))).toBe("0.10000000000000001");
    expect(new TextDecoder().decode(s.data.get("m"))).toBe("3");
  });
});

describe("redis.call and redis.pcall", () => {
  const s = fakeServer();
  test("KEYS and ARGV reach the script and writes land", async () => {
    expect(plain(await s.run("return redis.call('set', KEYS[1], ARGV[1])", ["k"], ["v"]))).toEqual({
      kind: "simple",
      text: "OK",
    });
    expect(plain(await s.run("return redis.call('get', KEYS[1])", ["k"]))).toBe("v");
  });
  test("a missing key is false in Lua and null in the reply", async () => {
    expect(plain(await s.run("local v = redis.call('get', 'nope') return {type(v), v}"))).toEqual([
      "boolean",
      null,
    ]);
  });
  test("redis.pcall returns the error as a table", async () => {
    expect(plain(await s.run("return redis.pcall('get')"))).toBe(
      "-ERR Wrong number of args calling Redis command from script",
    );
  });
  test("redis.call raises with the script's position", async () => {
    const r = await s.run("\nreturn redis.call('nope')");
    expect(plain(r)).toMatch(
      /^-ERR Unknown Redis command called from script script: [0-9a-f]{40}, on @user_script:2\.$/,
    );
  });
  test("noscript commands are refused", async () => {
    expect(plain(await s.run("return redis.pcall('multi')"))).toBe(
      "-ERR This Redis command is not allowed from script",
    );
  });
  test("arguments must be strings or numbers", async () => {
    expect(plain(await s.run("return redis.pcall('get', {})"))).toBe(
      "-ERR Lua redis lib command arguments must be strings or integers",
    );
  });
  test("an error halfway keeps the writes before it", async () => {
    const r = await s.run("redis.call('set', 'a', '1') redis.call('incr', 'a') error('stop')");
    expect(plain(r)).toMatch(/^-ERR user_script:1: stop script: /);
    expect(new TextDecoder().decode(s.data.get("a"))).toBe("2");
  });
  test("read-only scripts may not write", async () => {
    const enc = (x: string) => new TextEncoder().encode(x);
    const r = await s.engine.eval(s.ctx, enc("return redis.call('set', 'x', 'y')"), [], [], true);
    expect(plain(r)).toMatch(
      /^-ERR Write commands are not allowed from read-only scripts\. script: /,
    );
  });
  test("setresp(3) turns maps and doubles into tables", async () => {
    expect(
      plain(await s.run("redis.setresp(3) local m = redis.call('hgetall', 'h') return m.map.f")),
    ).toBe("v");
    expect(plain(await s.run("redis.setresp(3) return redis.call('double').double * 2"))).toBe(3);
    expect(plain(await s.run("return redis.call('hgetall', 'h')"))).toEqual(["f", "v"]);
    expect(plain(await s.run("return redis.call('double')"))).toBe("1.5");
  });
});

describe("the sandbox", () => {
  const s = fakeServer();
  test("a missing global raises Redis's error", async () => {
    expect(plain(await s.run("return x"))).toBe(
      "-ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: 03c387736bb5cc009ff35151572cee04677aa374, on @user_script:1.",
    );
  });
  test("globals and library tables are read-only", async () => {
    for (const src of ["x = 1", "string.x = 1", "redis = nil", "rawset(_G, 'y', 1)", "KEYS = {}"]) {
      expect(plain(await s.run(src))).toMatch(
        /^-ERR user_script:1: Attempt to modify a readonly table script: /,
      );
    }
  });
  test("no os, io, require, loadfile or dofile", async () => {
    for (const name of ["os", "io", "require", "loadfile", "dofile", "package"]) {
      expect(plain(await s.run(`return ${name}`))).toMatch(/nonexistent global variable/);
    }
  });
  test("Lua 5.1 shims exist", async () => {
    expect(await s.run("return unpack({7, 8})")).toBe(7);
    expect(await s.run("return table.getn({1, 2, 3})")).toBe(3);
    expect(await s.run("return loadstring('return 4')()")).toBe(4);
  });
  test("load() refuses binary chunks", async () => {
    expect(plain(await s.run("local f, e = load(string.dump(function() end)) return e"))).toMatch(
      /binary/,
    );
  });
  test("string.rep cannot build a string past the bulk limit", async () => {
    expect(plain(await s.run("return string.rep('x', 1e12)"))).toMatch(
      /resulting string too large/,
    );
  });
  test("a compile error uses Lua 5.1's wording", async () => {
    await expect(s.run("syntax error here")).rejects.toThrow(
      "Error compiling script (new function): user_script:1: '=' expected near 'error'",
    );
  });
});

describe("busy scripts", () => {
  test("a script past the threshold turns busy, yields, and SCRIPT KILL stops it", async () => {
    const s = fakeServer();
    s.engine.busyThresholdMs = 20;
    const running = s.run("while true do end");
    await Bun.sleep(60);
    expect(s.busy.length).toBe(1);
    expect(s.busy[0]).toBeInstanceOf(RespError);
    expect(s.engine.kill("script")).toEqual({ kind: "simple", text: "OK" });
    expect(plain(await running)).toMatch(
      /^-ERR Script killed by user with SCRIPT KILL\.\.\. script: .*, on @user_script:1\.$/,
    );
    expect(s.busy.at(-1)).toBeNull();
    expect(s.engine.running).toBeNull();
  });
  test("a script that wrote can't be killed", async () => {
    const s = fakeServer();
    s.engine.busyThresholdMs = 20;
    const running = s.run(
      "redis.call('set', 'k', 'v') local i = 0 while i < 3e6 do i = i + 1 end return i",
    );
    await Bun.sleep(40);
    expect(() => s.engine.kill("script")).toThrow(
      "Sorry the script already executed write commands",
    );
    expect(await running).toBe(3000000);
  });
  test("pcall cannot swallow a kill", async () => {
    const s = fakeServer();
    s.engine.busyThresholdMs = 20;
    const running = s.run("while true do pcall(function() while true do end end) end");
    await Bun.sleep(40);
    s.engine.kill("script");
    expect(plain(await running)).toMatch(/Script killed by user/);
  });
  test("NOTBUSY when nothing runs", () => {
    expect(() => fakeServer().engine.kill("script")).toThrow("No scripts in execution right now.");
  });
});

describe("the bit library", () => {
  test("matches LuaBitOp as Redis bundles it", async () => {
    const s = fakeServer();
    const r = await s.run(
      "return {bit.tobit(2^32+5), bit.band(0xff, 0x0f), bit.bor(1,2,4), bit.bxor(5,3), bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678), bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234, 2), bit.tobit(1.5), bit.tobit(2.5)}",
    );
    // Expected values read from redis-server 7.0.15.
    expect(plain(r)).toEqual([
      5,
      15,
      7,
      6,
      -1,
      -2147483648,
      15,
      -16,
      878082066,
      2014458966,
      2018915346,
      "000000ff",
      "FFFF",
      "34",
      2,
      2,
    ]);
  });
});

describe("limits", () => {
  test("a reply nested past the limit ends in Redis's stack-limit error, not a crash", async () => {
    const s = fakeServer();
    const r = await s.run(
      "local t = {} local c = t for i = 1, 5000 do c[1] = {} c = c[1] end return t",
    );
    let depth = 0;
    let cur: unknown = r;
    while (Array.isArray(cur)) {
      cur = cur[0];
      depth++;
    }
    expect(depth).toBeGreaterThan(100);
    expect(plain(cur as never)).toBe("-ERR reached lua stack limit");
  });
});
