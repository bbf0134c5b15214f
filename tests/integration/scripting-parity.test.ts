/**
 * Scripting compared byte for byte with a real Redis 7: EVAL's conversions and errors, the
 * sandbox, redis.* helpers, SCRIPT and FUNCTION subcommands and FCALL. Each group starts from
 * empty data, an empty script cache and no libraries on both servers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient, type RedisRef, startRedisRef } from "../helpers/redis-ref.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

type Arg = string | Uint8Array;
const LIB =
  "#!lua name=mylib\nredis.register_function('getk', function(keys, args) return redis.call('get', keys[1]) end)";
const LIB_FLAGS =
  "#!lua name=flagged\nredis.register_function{function_name='ro', callback=function(keys, args)\n  return args[1] or x\nend, flags={'no-writes'}, description='reads'}";
const binary = Buffer.from([0, 1, 2, 13, 10, 255, 128]);

const evalCases: Arg[][] = [
  ...[
    "return 1",
    "return 3.99",
    "return -3.99",
    "return 'x'",
    "return true",
    "return false",
    "return nil",
    "return {1, 2, 3, nil, 4}",
    "return {1, {2, 'a', {false, true}}, 'z'}",
    "return {ok = 'fine'}",
    "return {err = 'MY error'}",
    "return {err = 'noCode'}",
    "return redis.error_reply('bar')",
    "return redis.error_reply('FOO bar')",
    "return redis.error_reply('-FOO bar')",
    "return redis.status_reply('PONG')",
    "return 'x' .. 10 / 2",
    "return tostring(1e15) .. ' ' .. tostring(0.1) .. ' ' .. tostring(-0.5)",
    "return 2^53",
    "return 1e300",
    "return math.huge",
    "return unpack({7, 8})",
    "return table.getn({1, 2, 3})",
    "return loadstring('return 4')()",
    "return type(unpack) .. type(loadstring) .. type(table.getn)",
    "return redis.sha1hex('')",
    "return redis.sha1hex('abc')",
    "redis.log(redis.LOG_WARNING, 'hello', 'there') return 1",
    "return redis.log(1)",
    "return redis.log('x', 'y')",
    "return redis.log(9, 'y')",
    "return redis.setresp(4)",
    "return redis.set_repl(redis.REPL_ALL)",
    "return redis.replicate_commands()",
    "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
    "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_REPLICA, redis.REPL_SLAVE, redis.REPL_ALL}",
    "return x",
    "x = 1",
    "string.x = 1",
    "redis = nil",
    "os.exit()",
    "return require",
    "return loadfile",
    "error('boom')",
    "error({err = 'MY thing'})",
    "\n\nerror('on line three')",
    "local function f() error('inner') end\nf()",
    "return redis.call('nope')",
    "return redis.call('get')",
    "return redis.pcall('get')",
    "return redis.call()",
    "return redis.call('get', {})",
    "return redis.pcall('multi')",
    "return redis.call('eval', 'return 1', 0)",
    "syntax error here",
    "return (",
    "redis.call('set', 'n', 0.1) redis.call('set', 'm', 3) redis.call('set', 'b', 1e20) return redis.call('mget', 'n', 'm', 'b')",
    "redis.call('set', 's', 'x') return redis.pcall('incr', 's')",
    "redis.call('set', 's', 'x') return redis.call('incr', 's')",
    "redis.call('set', 'a', '1') redis.call('incr', 'a') error('stop')",
    "return redis.call('get', 'a')",
    "local v = redis.call('get', 'nope') return {type(v), tostring(v)}",
    "return redis.call('hset', 'h', 'f', 'v')",
    "return redis.call('hgetall', 'h')",
    "redis.setresp(3) return redis.call('hgetall', 'h')",
    "redis.setresp(3) local m = redis.call('hgetall', 'h') return m.map.f",
    "redis.setresp(3) return type(redis.call('get', 'nope'))",
    "redis.setresp(3) return {double = 3.5}",
    "return redis.call('select', '1')",
    "local ok, e = pcall(redis.call, 'get') return e",
    "return pcall(function() error({err = 'E x'}) end)",
    "local ok, e = pcall(error, {err = 'x y'}) return {tostring(ok), e}",
    "local ok, e = pcall(function() return x end) return e",
    "local ok, e = xpcall(function() error({err = 'q r'}) end, function(e) return e end) return type(e)",
    "return redis.error_reply()",
    "return redis.status_reply(1)",
    "return redis.sha1hex()",
    "return redis.setresp()",
    "redis.setresp(3) return true",
    "return redis.set_repl(99)",
    "return redis.set_repl()",
    "return {bit.band(0xff, 0x0f), bit.tohex(255), bit.bnot(0)}",
    "return cjson.encode({1, 2, 'a/b', true, {x = 1}})",
    "return cjson.encode({})",
    "return cjson.encode({[1] = 1, [3] = 3})",
    "return cjson.encode({[1] = 1, [30] = 3})",
    "return cjson.encode(function() end)",
    "return cjson.encode(0.1)",
    "return cjson.encode('\"\\\\\\n\\1')",
    "local t = cjson.decode('[1,2,{\"a\":null}]') return {t[1], t[2], type(t[3].a), tostring(t[3].a == cjson.null)}",
    "return cjson.decode('bad')",
    "return cjson.encode({1, nil, 3})",
    "return cjson.encode(cjson.null)",
    "return cjson.encode(1e300 * 1e10)",
    "#!lua flags=no-writes\nreturn redis.call('set','a','b')",
    "#!lua\nreturn 1",
    "#!lua flags=bad\nreturn 1",
    "#!js\nreturn 1",
    "#!lua foo=bar\nreturn 1",
    "#!lua",
    "#!lua\nreturn x",
  ].map((src) => ["EVAL", src, "0"]),
  ["EVAL_RO", "#!lua\nreturn 1", "0"],
  ["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"],
  [
    "EVAL",
    "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}",
    "2",
    "k1",
    binary,
    "a1",
    binary,
  ],
  ["EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", binary, binary],
  ["EVAL", "return redis.call('get', KEYS[1])", "1", binary],
  ["EVAL", "return 1", "-1"],
  ["EVAL", "return 1", "2", "a"],
  ["EVAL", "return 1", "abc"],
  ["EVAL", "return 1"],
  ["EVAL_RO", "return redis.call('get', 'a')", "0"],
  ["EVAL_RO", "return redis.call('set', 'a', 'b')", "0"],
  ["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
  ["EVALSHA", "abc", "0"],
  ["SCRIPT", "LOAD", "return 'loaded'"],
  ["EVALSHA", "b534286061d4b9e4026607613b95c06c06015ae8", "0"],
  ["SCRIPT", "EXISTS", "b534286061d4b9e4026607613b95c06c06015ae8", "abc"],
  ["SCRIPT", "LOAD", "syntax error"],
  ["SCRIPT", "FLUSH", "BAD"],
  ["SCRIPT", "FLUSH", "SYNC", "x"],
  ["SCRIPT", "KILL"],
  ["SCRIPT", "NOPE"],
  ["SCRIPT"],
  ["SCRIPT", "HELP"],
  ["SCRIPT", "EXISTS"],
  // Keys come from numkeys; none, or a bad count, is an empty list (no-mandatory-keys).
  ["COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "c"],
  ["COMMAND", "GETKEYS", "EVAL", "return 1", "0"],
  ["COMMAND", "GETKEYS", "EVAL", "return 1", "5", "a"],
  ["COMMAND", "GETKEYS", "FCALL", "f", "1", "k", "x"],
];

/** Loads a script, calls it by its SHA1 (also in upper case), then forgets it. */
const shaCases: Arg[][] = [
  ["SCRIPT", "LOAD", "return 'cached'"],
  ["EVALSHA", "952f49ffc8f7b098d8ab5da45d3164ca36ed18b1", "0"],
  ["EVALSHA", "952F49FFC8F7B098D8AB5DA45D3164CA36ED18B1", "0"],
  ["EVALSHA_RO", "952f49ffc8f7b098d8ab5da45d3164ca36ed18b1", "0"],
  [
    "SCRIPT",
    "EXISTS",
    "952f49ffc8f7b098d8ab5da45d3164ca36ed18b1",
    "952F49FFC8F7B098D8AB5DA45D3164CA36ED18B1",
    "0000",
  ],
  ["SCRIPT", "FLUSH"],
  ["SCRIPT", "EXISTS", "952f49ffc8f7b098d8ab5da45d3164ca36ed18b1"],
  ["EVALSHA", "952f49ffc8f7b098d8ab5da45d3164ca36ed18b1", "0"],
];

const functionCases: Arg[][] = [
  ["FUNCTION", "LOAD", LIB],
  ["FUNCTION", "LOAD", LIB],
  ["FUNCTION", "LOAD", "REPLACE", LIB],
  ["FUNCTION", "LOAD", "BAD", LIB],
  ["SET", "k", "v"],
  ["FCALL", "getk", "1", "k"],
  ["FCALL", "getk", "0"],
  ["FCALL_RO", "getk", "1", "k"],
  ["FCALL", "nope", "0"],
  ["FCALL", "getk", "-1"],
  ["FCALL", "getk", "5", "k"],
  ["FUNCTION", "LOAD", LIB_FLAGS],
  ["FCALL_RO", "ro", "0", "arg"],
  ["FCALL", "ro", "0"],
  ["FUNCTION", "LIST", "LIBRARYNAME", "flag*"],
  ["FUNCTION", "LIST", "LIBRARYNAME", "MYLIB", "WITHCODE"],
  ["FUNCTION", "LIST", "LIBRARYNAME"],
  ["FUNCTION", "LIST", "BAD"],
  ["FUNCTION", "LOAD", "return 1"],
  ["FUNCTION", "LOAD", "#!lua name=x\nreturn 1"],
  ["FUNCTION", "LOAD", "#!lua name=x foo=bar\nreturn 1"],
  ["FUNCTION", "LOAD", "#!js name=x\nreturn 1"],
  ["FUNCTION", "LOAD", "#!lua\nreturn 1"],
  ["FUNCTION", "LOAD", "#!lua name=x\nredis.call('ping')"],
  ["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('getk', function() end)"],
  ["FUNCTION", "LOAD", "#!lua name=x\nsyntax error"],
  ["FUNCTION", "LOAD", "#!lua name=bad-name\nreturn 1"],
  ...[
    "error('boom')",
    "local a = nil + 1",
    "local s = string",
    "redis.register_function('f')",
    "redis.register_function{function_name='f'}",
    "redis.register_function('f', function() end, 3)",
    "redis.register_function('b-d', function() end)",
    "redis.register_function(1, function() end)",
    "redis.register_function('f', 1)",
    "redis.register_function{function_name='f', callback=function() end, flags={'bad'}}",
    "redis.register_function{function_name='f', callback=function() end, nope=1}",
    "while true do end",
  ].map((body) => ["FUNCTION", "LOAD", `#!lua name=x\n${body}`]),
  ["FUNCTION", "DELETE", "nope"],
  ["FUNCTION", "DELETE", "flagged"],
  ["FUNCTION", "FLUSH", "BAD"],
  ["FUNCTION", "FLUSH", "SYNC", "x"],
  ["FUNCTION", "RESTORE", "a", "b", "c"],
  ["FUNCTION", "LIST", "WITHCODE", "WITHCODE"],
  ["FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"],
  ["FUNCTION", "HELP"],
  ["FUNCTION", "RESTORE", "garbage"],
  ["FUNCTION", "RESTORE", "garbage", "BAD"],
  ["FUNCTION", "KILL"],
  ["FUNCTION", "STATS"],
  ["FUNCTION", "FLUSH"],
  ["FUNCTION", "LIST"],
  ["FCALL", "getk", "0"],
];

/** Compared under RESP3 (HELLO 3 first), including setresp(3)'s booleans and big numbers. */
const resp3Cases: Arg[][] = [
  ["HSET", "h", "f", "v"],
  ...[
    "return nil",
    "return false",
    "return true",
    "return {1, false, 'x'}",
    "return redis.call('hgetall', 'h')",
    "return redis.call('get', 'nope')",
    "redis.setresp(3) return redis.call('hgetall', 'h')",
    "redis.setresp(3) return redis.call('get', 'nope')",
    "redis.setresp(3) return {double = 1.5}",
    "redis.setresp(3) return {set = {a = true}}",
    "redis.setresp(3) return {map = {a = 1}}",
    "redis.setresp(3) return type(redis.call('hgetall', 'h').map)",
    "redis.setresp(3) return true",
    "redis.setresp(3) return false",
    "redis.setresp(3) return {true, false}",
    "redis.setresp(3) return {big_number = '123456789012345678901234567890'}",
  ].map((src) => ["EVAL", src, "0"]),
];

let server: TestServer;
let redis: RedisRef;
let ours: RawClient;
let theirs: RawClient;

beforeAll(async () => {
  [server, redis] = await Promise.all([startTestServer(), startRedisRef()]);
  ours = await RawClient.connect({ port: server.port });
  theirs = await RawClient.connect({ unix: redis.socket });
});

afterAll(async () => {
  await server?.[Symbol.asyncDispose]();
  await redis?.[Symbol.asyncDispose]();
});

const show = (b: Buffer) => JSON.stringify(b.toString("latin1"));
const describeArgs = (args: Arg[]) =>
  args
    .map((a) =>
      typeof a === "string" ? a.replace(/\n/g, "\\n").slice(0, 60) : `<${a.length} bytes>`,
    )
    .join(" ");

describe("scripting parity with redis-server", () => {
  for (const [name, steps, protocol] of [
    ["EVAL conversions, errors and the sandbox", evalCases, "2"],
    ["EVALSHA and the script cache", shaCases, "2"],
    ["FUNCTION and FCALL", functionCases, "2"],
    ["script replies to a RESP3 client", resp3Cases, "3"],
  ] as const) {
    test(name, async () => {
      for (const c of [ours, theirs]) {
        await c.command("HELLO", protocol);
        for (const reset of [["FLUSHALL"], ["SCRIPT", "FLUSH"], ["FUNCTION", "FLUSH"]]) {
          expect((await c.command(...reset)).toString()).toBe("+OK\r\n");
        }
      }
      const got: string[] = [];
      const want: string[] = [];
      for (const step of steps) {
        const [a, b] = await Promise.all([ours.command(...step), theirs.command(...step)]);
        got.push(`${describeArgs(step)} -> ${show(a)}`);
        want.push(`${describeArgs(step)} -> ${show(b)}`);
      }
      expect(got).toEqual(want);
    });
  }
});
