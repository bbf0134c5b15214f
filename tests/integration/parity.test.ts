/**
 * Byte-exact parity with a real Redis 7: every script starts with FLUSHALL on both servers,
 * then sends each command as raw RESP (or as an inline line) to our server over TCP and to
 * redis-server over its unix socket, and compares the raw reply bytes. Replies that may
 * legitimately differ (positive TTLs, INFO, HELLO, COMMAND, CLIENT LIST) are not compared
 * here: TTLs are range-checked, the rest lives in handshake.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { parityPair } from "../helpers/parity-pair.ts";
import type { RawClient } from "../helpers/redis-ref.ts";

type Arg = string | Uint8Array;
/**
 * A command compared byte for byte, an inline line, a command whose integer reply must lie in
 * a range on both servers, or one whose integer replies must be equal when negative and
 * within `near` of each other when positive (absolute expiry times set from "now").
 */
type Step =
  | Arg[]
  | { inline: string }
  | { cmd: Arg[]; range: [number, number] }
  | { cmd: Arg[]; near: number };

const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const binaryKey = Buffer.from([0, 1, 2, 13, 10, 255, 128, 32, 42]);
const future = "4102444800"; // 2100-01-01T00:00:00Z
const futureMs = "4102444800123";
const long = "x".repeat(300);

/** SET with every combination of condition, GET and expiry option, against three key states. */
function setCombinations(): Step[] {
  const steps: Step[] = [];
  const conditions = [[], ["NX"], ["XX"]];
  const gets = [[], ["GET"]];
  const expiries = [
    [],
    ["EX", "100"],
    ["PX", "100000"],
    ["EXAT", future],
    ["PXAT", futureMs],
    ["KEEPTTL"],
  ];
  const states: Step[][] = [
    [["DEL", "k"]],
    [["SET", "k", "old"]],
    [["SET", "k", "old", "PXAT", "4102444900000"]],
  ];
  for (const state of states) {
    for (const condition of conditions) {
      for (const get of gets) {
        for (const expiry of expiries) {
          steps.push(...state);
          steps.push(["SET", "k", "new", ...condition, ...get, ...expiry]);
          // The same options in another order must mean the same.
          steps.push(...state);
          steps.push(["SET", "k", "new", ...expiry, ...get, ...condition]);
          steps.push(["GET", "k"]);
          steps.push({ cmd: ["PEXPIRETIME", "k"], near: 2000 });
        }
      }
    }
  }
  return steps;
}

const scripts: [string, Step[]][] = [
  [
    "GET returns nil for a missing key and the value after SET",
    [
      ["GET", "k"],
      ["SET", "k", "hello"],
      ["GET", "k"],
      ["get", "k"],
      ["GeT", "k"],
      ["GET"],
      ["GET", "k", "extra"],
    ],
  ],
  [
    "SET NX and XX set only when the key is missing or present",
    [
      ["SET", "k", "1", "NX"],
      ["SET", "k", "2", "NX"],
      ["GET", "k"],
      ["SET", "k", "3", "XX"],
      ["GET", "k"],
      ["SET", "missing", "v", "XX"],
      ["EXISTS", "missing"],
      ["SET", "k", "4", "nx"],
      ["SET", "k", "5", "xx"],
      ["SET", "k", "6", "NX", "NX"],
      ["SET", "k", "7", "XX", "XX"],
      ["GET", "k"],
    ],
  ],
  [
    "SET GET returns the previous value (Extended SET GET option)",
    [
      ["SET", "k", "a", "GET"],
      ["SET", "k", "b", "GET"],
      ["GET", "k"],
      ["SET", "k", "c", "get"],
      ["SET", "k", "d", "GET", "GET"],
      ["SET", "k", "e", "XX", "GET"],
      ["SET", "missing", "e", "XX", "GET"],
      ["EXISTS", "missing"],
      ["SET", "k", "f", "GET", "XX"],
      ["GET", "k"],
    ],
  ],
  [
    "SET with NX and GET together (Redis 7) returns the old value and does not overwrite",
    [
      ["SET", "k", "new", "NX", "GET"],
      ["GET", "k"],
      ["SET", "k", "newer", "NX", "GET"],
      ["GET", "k"],
      ["SET", "k", "newest", "GET", "NX"],
      ["GET", "k"],
    ],
  ],
  [
    "SET with every combination of NX/XX, GET and expiry options against missing, persistent and volatile keys",
    setCombinations(),
  ],
  [
    "SET with conflicting options replies with a syntax error",
    [
      ["SET", "k", "v", "NX", "XX"],
      ["SET", "k", "v", "XX", "NX"],
      ["SET", "k", "v", "EX", "10", "PX", "100"],
      ["SET", "k", "v", "PX", "100", "EX", "10"],
      ["SET", "k", "v", "EX", "10", "EXAT", future],
      ["SET", "k", "v", "PXAT", futureMs, "EXAT", future],
      ["SET", "k", "v", "EX", "10", "KEEPTTL"],
      ["SET", "k", "v", "KEEPTTL", "EX", "10"],
      ["SET", "k", "v", "KEEPTTL", "PX", "10"],
      ["SET", "k", "v", "PXAT", futureMs, "KEEPTTL"],
      ["SET", "k", "v", "EX"],
      ["SET", "k", "v", "PX"],
      ["SET", "k", "v", "FOO"],
      ["SET", "k", "v", "PERSIST"],
      ["SET", "k", "v", "NX", "FOO"],
      ["SET", "k", "v", "EX", "abc", "NX", "XX"],
      ["EXISTS", "k"],
    ],
  ],
  [
    "SET with an invalid expire time replies with the exact Redis error",
    [
      ["SET", "k", "v", "EX", "0"],
      ["SET", "k", "v", "EX", "-1"],
      ["SET", "k", "v", "PX", "0"],
      ["SET", "k", "v", "PX", "-100"],
      ["SET", "k", "v", "EXAT", "0"],
      ["SET", "k", "v", "PXAT", "-1"],
      ["SET", "k", "v", "EX", "abc"],
      ["SET", "k", "v", "PX", "1.5"],
      ["SET", "k", "v", "EX", ""],
      ["SET", "k", "v", "EX", "9999999999999999"],
      ["SET", "k", "v", "EX", "9223372036854775807"],
      ["SET", "k", "v", "EX", "9223372036854775808"],
      ["SET", "k", "v", "PX", "9223372036854775807"],
      ["SET", "k", "v", "EXAT", "9223372036854775807"],
      ["SET", "k", "v", "EX", "-9223372036854775808"],
      ["SET", "k", "v", "EX", "010"],
      ["SET", "k", "v", "EX", "+10"],
      ["SET", "k", "v", "EX", " 10"],
      ["SET", "k", "v", "EX", "10 "],
      ["SET", "k", "v", "EX", "-0"],
      ["EXISTS", "k"],
    ],
  ],
  [
    "SET with a missing value replies with wrong number of arguments",
    [["SET", "k"], ["SET"], ["set", "k"]],
  ],
  [
    "SET with EX, PX, EXAT and PXAT sets a TTL and KEEPTTL keeps it",
    [
      ["SET", "k", "v", "EX", "100"],
      { cmd: ["TTL", "k"], range: [99, 100] },
      { cmd: ["PTTL", "k"], range: [98_000, 100_000] },
      ["SET", "k", "v", "PX", "100000"],
      { cmd: ["TTL", "k"], range: [99, 100] },
      ["SET", "k", "v2", "KEEPTTL"],
      { cmd: ["TTL", "k"], range: [99, 100] },
      ["GET", "k"],
      ["SET", "k", "v3"],
      ["TTL", "k"],
      ["SET", "k", "v", "EXAT", future],
      ["EXPIRETIME", "k"],
      ["PEXPIRETIME", "k"],
      ["SET", "k", "v", "PXAT", futureMs],
      ["EXPIRETIME", "k"],
      ["PEXPIRETIME", "k"],
      ["SET", "k", "v", "ex", "100", "ex", "200"],
      { cmd: ["TTL", "k"], range: [199, 200] },
      ["SET", "k", "v", "KEEPTTL", "KEEPTTL"],
      { cmd: ["TTL", "k"], range: [199, 200] },
      ["SET", "k", "v", "XX", "GET", "KEEPTTL"],
      { cmd: ["TTL", "k"], range: [199, 200] },
      ["SET", "missing", "v", "KEEPTTL"],
      ["TTL", "missing"],
    ],
  ],
  [
    "SET with EXAT or PXAT in the past leaves no key behind",
    [
      ["SET", "k", "v", "EXAT", "1"],
      ["GET", "k"],
      ["EXISTS", "k"],
      ["SET", "k", "v"],
      ["SET", "k", "w", "PXAT", "1", "GET"],
      ["GET", "k"],
      ["TTL", "k"],
      ["DBSIZE"],
    ],
  ],
  [
    "MGET returns values and nils in order",
    [
      ["MSET", "a", "1", "b", "2"],
      ["MGET", "a", "missing", "b", "a"],
      ["MGET", "missing"],
      ["MGET"],
      ["mget", "b"],
    ],
  ],
  [
    "MSET sets every pair and rejects an odd number of arguments",
    [
      ["MSET", "a", "1", "b", "2", "c", "3", "a", "4"],
      ["MGET", "a", "b", "c"],
      ["MSET", "a"],
      ["MSET", "a", "1", "b"],
      ["MSET"],
      ["MGET", "a", "b"],
      ["MSET", "", ""],
      ["MGET", ""],
    ],
  ],
  [
    "DEL and UNLINK count each existing key once",
    [
      ["MSET", "a", "1", "b", "2", "c", "3"],
      ["DEL", "a", "a", "missing"],
      ["DEL", "a"],
      ["UNLINK", "b", "b", "b"],
      ["UNLINK", "missing"],
      ["DEL", "c", "missing", "c"],
      ["DEL"],
      ["UNLINK"],
      ["DBSIZE"],
    ],
  ],
  [
    "EXISTS counts duplicates as many times as they exist",
    [
      ["SET", "a", "1"],
      ["EXISTS", "a", "a", "a"],
      ["EXISTS", "a", "missing", "a"],
      ["EXISTS", "missing"],
      ["EXISTS"],
    ],
  ],
  [
    "TTL and PTTL return -2 for a missing key and -1 for a key without expiry",
    [
      ["TTL", "k"],
      ["PTTL", "k"],
      ["SET", "k", "v"],
      ["TTL", "k"],
      ["PTTL", "k"],
      ["TTL"],
      ["PTTL", "a", "b"],
    ],
  ],
  [
    "EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT set timeouts and reply 0 for missing keys",
    [
      ["EXPIRE", "missing", "100"],
      ["PEXPIRE", "missing", "100"],
      ["EXPIREAT", "missing", future],
      ["PEXPIREAT", "missing", futureMs],
      ["SET", "k", "v"],
      ["EXPIRE", "k", "100"],
      { cmd: ["TTL", "k"], range: [99, 100] },
      ["PEXPIRE", "k", "200000"],
      { cmd: ["TTL", "k"], range: [199, 200] },
      ["EXPIREAT", "k", future],
      ["EXPIRETIME", "k"],
      ["PEXPIREAT", "k", futureMs],
      ["PEXPIRETIME", "k"],
      ["EXPIRETIME", "k"],
      ["EXPIRE", "k"],
      ["EXPIRE"],
      ["PEXPIREAT", "k"],
    ],
  ],
  [
    "EXPIRE with NX, XX, GT and LT options (Redis 7)",
    [
      ["SET", "k", "v"],
      ["EXPIRE", "k", "100", "XX"],
      ["EXPIRE", "k", "100", "GT"],
      ["TTL", "k"],
      ["EXPIRE", "k", "100", "NX"],
      ["EXPIRE", "k", "200", "NX"],
      { cmd: ["TTL", "k"], range: [99, 100] },
      ["EXPIRE", "k", "200", "XX"],
      { cmd: ["TTL", "k"], range: [199, 200] },
      ["EXPIRE", "k", "100", "GT"],
      ["EXPIRE", "k", "300", "GT"],
      { cmd: ["TTL", "k"], range: [299, 300] },
      ["EXPIRE", "k", "400", "LT"],
      ["EXPIRE", "k", "50", "LT"],
      { cmd: ["TTL", "k"], range: [49, 50] },
      ["PERSIST", "k"],
      ["EXPIRE", "k", "50", "LT"],
      { cmd: ["TTL", "k"], range: [49, 50] },
      ["EXPIRE", "k", "60", "xx", "gt"],
      ["EXPIRE", "k", "70", "LT", "LT"],
      ["EXPIREAT", "k", future, "NX"],
      ["PEXPIREAT", "k", futureMs, "GT"],
      ["PEXPIRETIME", "k"],
      ["PEXPIRE", "k", "1000000", "LT"],
      { cmd: ["TTL", "k"], range: [999, 1000] },
    ],
  ],
  [
    "EXPIRE with conflicting options replies with the compatibility errors",
    [
      ["SET", "k", "v"],
      ["EXPIRE", "k", "100", "NX", "XX"],
      ["EXPIRE", "k", "100", "NX", "GT"],
      ["EXPIRE", "k", "100", "LT", "NX"],
      ["EXPIRE", "k", "100", "GT", "LT"],
      ["PEXPIRE", "k", "100", "XX", "GT", "LT"],
      ["EXPIRE", "k", "100", "FOO"],
      ["EXPIRE", "k", "100", "NX", "BAR"],
      ["EXPIREAT", "k", future, "KEEPTTL"],
      ["EXPIRE", "missing", "100", "FOO"],
      ["EXPIRE", "k", "abc", "FOO"],
      ["EXPIRE", "k", "abc", "NX", "XX"],
      ["TTL", "k"],
    ],
  ],
  [
    "EXPIRE with invalid or overflowing times replies with the exact Redis error",
    [
      ["SET", "k", "v"],
      ["EXPIRE", "k", "abc"],
      ["EXPIRE", "missing", "abc"],
      ["EXPIRE", "k", "1.5"],
      ["EXPIRE", "k", "010"],
      ["EXPIRE", "k", "+10"],
      ["EXPIRE", "k", " 10"],
      ["EXPIRE", "k", "9223372036854775807"],
      ["EXPIRE", "k", "-9223372036854775808"],
      ["EXPIRE", "k", "9223372036854775"],
      ["PEXPIRE", "k", "9223372036854775807"],
      ["EXPIREAT", "k", "9223372036854775807"],
      ["EXPIREAT", "k", "99999999999999999999"],
      ["TTL", "k"],
    ],
  ],
  [
    "EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT with a past time delete the key",
    [
      ["MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6"],
      ["EXPIRE", "a", "-1"],
      ["PEXPIRE", "b", "0"],
      ["EXPIREAT", "c", "1"],
      ["PEXPIREAT", "d", "1"],
      ["EXPIRE", "e", "0", "NX"],
      ["EXPIRE", "f", "-100", "XX"],
      ["MGET", "a", "b", "c", "d", "e", "f"],
      ["EXISTS", "a", "b", "c", "d", "e", "f"],
      ["DBSIZE"],
    ],
  ],
  [
    "EXPIRETIME and PEXPIRETIME return -2 for missing and -1 for persistent keys",
    [
      ["EXPIRETIME", "k"],
      ["PEXPIRETIME", "k"],
      ["SET", "k", "v"],
      ["EXPIRETIME", "k"],
      ["PEXPIRETIME", "k"],
      ["EXPIRETIME"],
      ["PEXPIRETIME", "k", "x"],
    ],
  ],
  [
    "PEXPIREAT at the largest 64-bit time is reported exactly by PEXPIRETIME",
    [
      ["SET", "k", "v"],
      ["PEXPIREAT", "k", "9223372036854775807"],
      ["PEXPIRETIME", "k"],
      ["EXPIRETIME", "k"],
      ["TTL", "k"],
      ["EXPIREAT", "k", "9223372036854775"],
      ["PEXPIRETIME", "k"],
      ["SET", "k", "v", "PXAT", "9007199254740993"],
      ["PEXPIRETIME", "k"],
    ],
  ],
  [
    "PERSIST removes an expiry and replies 0 when there is none",
    [
      ["PERSIST", "missing"],
      ["SET", "k", "v"],
      ["PERSIST", "k"],
      ["EXPIRE", "k", "100"],
      ["PERSIST", "k"],
      ["TTL", "k"],
      ["PERSIST", "k"],
      ["PERSIST"],
      ["PERSIST", "k", "k"],
    ],
  ],
  [
    "STRLEN of missing, empty, text and binary values",
    [
      ["STRLEN", "missing"],
      ["SET", "empty", ""],
      ["STRLEN", "empty"],
      ["SET", "k", "hello"],
      ["STRLEN", "k"],
      ["SET", "bin", binary],
      ["STRLEN", "bin"],
      ["SET", "utf8", "héllo wörld ✓"],
      ["STRLEN", "utf8"],
      ["STRLEN"],
    ],
  ],
  [
    "GETRANGE against string value",
    [
      ["SET", "mykey", "Hello World"],
      ["GETRANGE", "mykey", "0", "3"],
      ["GETRANGE", "mykey", "0", "-1"],
      ["GETRANGE", "mykey", "-4", "-1"],
      ["GETRANGE", "mykey", "5", "3"],
      ["GETRANGE", "mykey", "5", "5000"],
      ["GETRANGE", "mykey", "-5000", "10000"],
      // Ends still before the first byte (0 -100, -100 -99, ...) follow Redis 8, not this
      // Redis 7: tests/integration/compat.test.ts checks them.
      ["GETRANGE", "mykey", "1", "-100"],
      ["GETRANGE", "mykey", "-1", "-100"],
      ["GETRANGE", "mykey", "-100", "-101"],
      ["GETRANGE", "mykey", "-1", "-1"],
      ["GETRANGE", "mykey", "-1", "-2"],
      ["GETRANGE", "mykey", "-2", "-1"],
      ["GETRANGE", "mykey", "10", "10"],
      ["GETRANGE", "mykey", "11", "11"],
      ["GETRANGE", "mykey", "11", "-1"],
      ["GETRANGE", "mykey", "-11", "0"],
      ["GETRANGE", "mykey", "-12", "0"],
      ["GETRANGE", "mykey", "0", "0"],
      ["GETRANGE", "mykey", "3", "-3"],
      ["GETRANGE", "mykey", "-3", "3"],
      ["GETRANGE", "mykey", "9223372036854775807", "9223372036854775807"],
      ["GETRANGE", "mykey", "-9223372036854775808", "9223372036854775807"],
      ["GETRANGE", "mykey", "0", "9223372036854775808"],
      ["GETRANGE", "mykey", "a", "1"],
      ["GETRANGE", "mykey", "0", "b"],
      ["GETRANGE", "mykey", "01", "3"],
      ["GETRANGE", "mykey", "+1", "3"],
      ["GETRANGE", "mykey", "-0", "3"],
      ["GETRANGE", "mykey", "1 ", "3"],
      ["GETRANGE", "mykey", "0"],
      ["GETRANGE", "mykey", "0", "1", "2"],
    ],
  ],
  [
    "GETRANGE against an empty string and a missing key",
    [
      ["SET", "empty", ""],
      ["GETRANGE", "empty", "0", "-1"],
      ["GETRANGE", "empty", "0", "0"],
      ["GETRANGE", "empty", "-1", "-1"],
      ["GETRANGE", "empty", "-1", "0"],
      ["GETRANGE", "empty", "1", "5"],
      ["GETRANGE", "missing", "0", "-1"],
      ["GETRANGE", "missing", "0", "5"],
      ["GETRANGE", "missing", "-1", "-5"],
      ["GETRANGE", "missing", "abc", "1"],
      ["SET", "one", "x"],
      ["GETRANGE", "one", "0", "0"],
      ["GETRANGE", "one", "-1", "-1"],
      ["GETRANGE", "one", "1", "1"],
      ["GETRANGE", "one", "-2", "0"],
      ["SET", "bin", binary],
      ["GETRANGE", "bin", "250", "-1"],
      ["GETRANGE", "bin", "-256", "3"],
    ],
  ],
  [
    "TYPE reports string or none",
    [["TYPE", "k"], ["SET", "k", "v"], ["TYPE", "k"], ["TYPE"], ["TYPE", "k", "k"]],
  ],
  [
    "DBSIZE counts keys and takes no arguments",
    [
      ["DBSIZE"],
      ["MSET", "a", "1", "b", "2", "c", "3"],
      ["DBSIZE"],
      ["DEL", "a"],
      ["DBSIZE"],
      ["DBSIZE", "x"],
    ],
  ],
  [
    "FLUSHDB and FLUSHALL remove every key and reject unknown arguments",
    [
      ["MSET", "a", "1", "b", "2"],
      ["FLUSHDB"],
      ["DBSIZE"],
      ["MSET", "a", "1", "b", "2"],
      ["FLUSHALL", "SYNC"],
      ["DBSIZE"],
      ["SET", "a", "1"],
      ["FLUSHDB", "async"],
      ["DBSIZE"],
      ["FLUSHALL", "ASYNC"],
      ["FLUSHDB", "sync"],
      ["FLUSHALL", "foo"],
      ["FLUSHDB", "foo"],
      ["FLUSHALL", "SYNC", "ASYNC"],
      ["FLUSHDB", "SYNC", "SYNC"],
      ["FLUSHALL", ""],
    ],
  ],
  [
    "PING with zero, one and two arguments",
    [
      ["PING"],
      ["ping"],
      ["PING", "hello"],
      ["PING", ""],
      ["PING", binary],
      ["PING", "a", "b"],
      ["PING", "a", "b", "c"],
    ],
  ],
  [
    "ECHO returns its argument",
    [["ECHO", "hello"], ["ECHO", ""], ["ECHO", binary], ["ECHO"], ["ECHO", "a", "b"]],
  ],
  [
    "SELECT accepts databases 0 to 15 and checks its argument like Redis",
    [
      ["SELECT", "0"],
      ["SELECT", "1"],
      ["SELECT", "15"],
      ["SELECT", "16"],
      ["SELECT", "2147483648"],
      ["SELECT", "-1"],
      ["SELECT", "abc"],
      ["SELECT", "00"],
      ["SELECT", "+0"],
      ["SELECT", "9999999999999999999999"],
      ["SELECT"],
      ["SELECT", "0", "1"],
      ["SELECT", "0"],
    ],
  ],
  [
    "Unknown commands reply with the command name and the first arguments",
    [
      ["FOO"],
      ["foo", "a", "b"],
      ["FOOBAR", "a b", "", "c"],
      [long],
      [long, long, long],
      ["FOO", "a".repeat(100), "b".repeat(100)],
      ["FOO", "a".repeat(126), "b", "c"],
      ["FOO", "line1\r\nline2", "x\ry\nz"],
      ["FOO\r\nBAR", "a"],
      ["", "a"],
      ["GETT", "k"],
    ],
  ],
  [
    "Unknown commands with non-ASCII arguments quote the raw bytes",
    [
      ["FOO", "héllo"],
      ["FOO", Buffer.from([0xff, 0xfe, 0x41])],
      ["FOO", "é".repeat(100)],
    ],
  ],
  [
    "Every core command replies wrong number of arguments with its lower-case name",
    [
      ["GET"],
      ["SET", "k"],
      ["MGET"],
      ["MSET", "k"],
      ["STRLEN"],
      ["GETRANGE", "k", "0"],
      ["DEL"],
      ["UNLINK"],
      ["EXISTS"],
      ["TTL"],
      ["PTTL"],
      ["EXPIRETIME"],
      ["PEXPIRETIME"],
      ["EXPIRE", "k"],
      ["PEXPIRE", "k"],
      ["EXPIREAT", "k"],
      ["PEXPIREAT", "k"],
      ["PERSIST"],
      ["TYPE"],
      ["SCAN"],
      ["KEYS"],
      ["RANDOMKEY", "x"],
      ["DBSIZE", "x"],
      ["ECHO"],
      ["SELECT"],
      ["AUTH"],
      ["TIME", "x"],
      ["RESET", "x"],
      ["CLIENT"],
      ["CONFIG"],
      ["CLIENT", "SETNAME"],
      ["CLIENT", "GETNAME", "x"],
      ["CLIENT", "ID", "x"],
      ["CLIENT", "KILL"],
      ["CONFIG", "GET"],
      ["CONFIG", "SET", "x"],
      ["CONFIG", "RESETSTAT", "x"],
      ["COMMAND", "COUNT", "x"],
      ["COMMAND", "GETKEYS"],
      ["StrLen"],
    ],
  ],
  [
    "Unknown subcommands point at the container's HELP",
    [
      ["CLIENT", "FOO"],
      ["CLIENT", "foo", "bar"],
      ["CONFIG", "FOO"],
      ["COMMAND", "FOO"],
    ],
  ],
  [
    "Integers with leading zeros, plus signs or spaces are not integers",
    [
      ["SET", "k", "hello"],
      ["EXPIRE", "k", "0100"],
      ["EXPIRE", "k", "+100"],
      ["EXPIRE", "k", "100 "],
      ["EXPIRE", "k", " 100"],
      ["EXPIRE", "k", "-0"],
      ["EXPIRE", "k", "1e3"],
      ["EXPIRE", "k", "0x10"],
      ["EXPIRE", "k", ""],
      ["GETRANGE", "k", "00", "1"],
      ["GETRANGE", "k", "0", "+1"],
      ["SET", "k", "v", "PX", "00100"],
      ["TTL", "k"],
      ["GETRANGE", "k", "0", "1"],
    ],
  ],
  [
    "Empty keys and empty values are ordinary keys and values",
    [
      ["SET", "", ""],
      ["GET", ""],
      ["EXISTS", ""],
      ["STRLEN", ""],
      ["TYPE", ""],
      ["SET", "", "v"],
      ["GET", ""],
      ["SET", "k", ""],
      ["GET", "k"],
      ["MGET", "", "k"],
      ["GETRANGE", "", "0", "-1"],
      ["EXPIRE", "", "100"],
      ["PERSIST", ""],
      ["DEL", ""],
      ["GET", ""],
      ["DBSIZE"],
    ],
  ],
  [
    "Binary keys and values round-trip byte for byte",
    [
      ["SET", binaryKey, binary],
      ["GET", binaryKey],
      ["EXISTS", binaryKey],
      ["STRLEN", binaryKey],
      ["GETRANGE", binaryKey, "10", "20"],
      ["MSET", binary, binaryKey, "plain", binary],
      ["MGET", binary, "plain", binaryKey],
      ["TYPE", binary],
      ["DEL", binaryKey, binary],
      ["KEYS", "plain"],
      ["DBSIZE"],
    ],
  ],
  [
    "KEYS and SCAN agree with Redis on single-key results and errors",
    [
      ["KEYS", "*"],
      ["SET", "hello", "1"],
      ["KEYS", "*"],
      ["KEYS", "h?llo"],
      ["KEYS", "nothing*"],
      ["SCAN", "0", "MATCH", "h*", "COUNT", "100"],
      ["SCAN", "abc"],
      ["SCAN", "1.5"],
      ["SCAN", "0", "COUNT", "0"],
      ["SCAN", "0", "COUNT", "-1"],
      ["SCAN", "0", "MATCH"],
      ["SCAN", "0", "FOO", "bar"],
      ["SCAN", "0", "TYPE", "hash"],
      ["SCAN", "0", "TYPE", "string", "COUNT", "100"],
      ["RANDOMKEY"],
      ["DEL", "hello"],
      ["RANDOMKEY"],
    ],
  ],
  [
    "SCAN COUNT that is not an integer replies with the integer error",
    [
      ["SCAN", "0", "COUNT", "abc"],
      ["SCAN", "0", "COUNT", "1.5"],
      ["SCAN", "0", "COUNT", "99999999999999999999"],
    ],
  ],
  [
    "SCAN takes any cursor up to 2^64 - 1",
    [
      ["SCAN", "18446744073709551615"],
      ["SCAN", "18446744073709551616"],
    ],
  ],
  [
    "Inline commands are split like Redis's sdssplitargs",
    [
      { inline: "SET k hello\r\n" },
      { inline: "GET k\r\n" },
      { inline: 'SET "a b" "c\\nd"\r\n' },
      { inline: 'GET "a b"\r\n' },
      { inline: "SET 'x y' 'it\\'s'\r\n" },
      { inline: "GET 'x y'\r\n" },
      { inline: 'SET hex "\\x41\\x42\\x7a"\r\n' },
      { inline: "GET hex\r\n" },
      { inline: "  PING   \r\n" },
      { inline: 'ECHO ""\r\n' },
      { inline: "PING\n" },
      { inline: 'EXISTS k\t"a b"\r\n' },
      { inline: "ping a b\r\n" },
    ],
  ],
  [
    "AUTH without a configured password replies like Redis",
    [
      ["AUTH", "secret"],
      ["AUTH", "default", "secret"],
      ["AUTH", "someone", "secret"],
      ["AUTH", "a", "b", "c"],
    ],
  ],
  [
    "CLIENT SETNAME and GETNAME round-trip and reject invalid names",
    [
      ["CLIENT", "GETNAME"],
      ["CLIENT", "SETNAME", "parity"],
      ["CLIENT", "GETNAME"],
      ["CLIENT", "SETNAME", "with space"],
      ["CLIENT", "SETNAME", "new\nline"],
      ["CLIENT", "GETNAME"],
      ["CLIENT", "SETNAME", ""],
      ["CLIENT", "GETNAME"],
      ["CLIENT", "NO-EVICT", "ON"],
    ],
  ],
  [
    "HELLO rejects unsupported protocol versions and bad options",
    [
      ["HELLO", "4"],
      ["HELLO", "1"],
      ["HELLO", "abc"],
      ["HELLO", "2", "FOO"],
      ["HELLO", "2", "SETNAME", "bad name"],
      ["HELLO", "3", "AUTH", "someone", "secret"],
    ],
  ],
  [
    "CONFIG GET returns the persistence settings tools ask for",
    [
      ["CONFIG", "GET", "save"],
      ["CONFIG", "GET", "appendonly"],
      ["CONFIG", "GET", "no-such-parameter"],
      ["CONFIG", "GET", "databases"],
    ],
  ],
];

/** Printable form of request or reply bytes, for readable diffs. */
function show(bytes: Uint8Array | string): string {
  const s = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("latin1");
  return JSON.stringify(s.length > 400 ? `${s.slice(0, 400)}...(${s.length} bytes)` : s);
}

function describeStep(step: Step): string {
  if (Array.isArray(step)) return step.map(show).join(" ");
  if ("inline" in step) return `inline ${show(step.inline)}`;
  return step.cmd.map(show).join(" ");
}

function integerOf(reply: Buffer): number {
  const text = reply.toString("latin1");
  if (!/^:-?\d+\r\n$/.test(text)) return Number.NaN;
  return Number(text.slice(1, -2));
}

let ours: RawClient;
let theirs: RawClient;

parityPair((pair) => {
  ({ ours, theirs } = pair);
});

async function send(client: RawClient, step: Step): Promise<Buffer> {
  if (Array.isArray(step)) return client.command(...step);
  if ("inline" in step) return client.send(step.inline);
  return client.command(...step.cmd);
}

describe("parity with redis-server", () => {
  for (const [name, steps] of scripts) {
    test(name, async () => {
      expect((await ours.command("FLUSHALL")).toString()).toBe("+OK\r\n");
      expect((await theirs.command("FLUSHALL")).toString()).toBe("+OK\r\n");
      const got: string[] = [];
      const want: string[] = [];
      for (const step of steps) {
        const [a, b] = await Promise.all([send(ours, step), send(theirs, step)]);
        const what = describeStep(step);
        if (!Array.isArray(step) && "near" in step) {
          const x = integerOf(a);
          const y = integerOf(b);
          const close = x > 0 && y > 0 && Math.abs(x - y) <= step.near;
          got.push(`${what} -> ${close ? `within ${step.near} of Redis` : show(a)}`);
          want.push(`${what} -> ${close ? `within ${step.near} of Redis` : show(b)}`);
        } else if (!Array.isArray(step) && "range" in step) {
          const [lo, hi] = step.range;
          const inRange = (n: number) => n >= lo && n <= hi;
          got.push(`${what} -> ${inRange(integerOf(a)) ? `in [${lo}, ${hi}]` : show(a)}`);
          want.push(`${what} -> ${inRange(integerOf(b)) ? `in [${lo}, ${hi}]` : show(b)}`);
        } else {
          got.push(`${what} -> ${show(a)}`);
          want.push(`${what} -> ${show(b)}`);
        }
      }
      expect(got).toEqual(want);
    });
  }
});
