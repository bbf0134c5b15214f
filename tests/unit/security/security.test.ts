/**
 * The security room's pure parts: ACL rules on a user, categories derived from rows, secrets
 * redacted from arguments, Redis-style sizes, the client reaper's rules, and HTTP auth.
 */
import { describe, expect, test } from "bun:test";
import { commandRows } from "../../../src/commands/index.ts";
import type { ClientState } from "../../../src/commands/spec.ts";
import { buildTable } from "../../../src/commands/table.ts";
import { defaultConfig } from "../../../src/config/index.ts";
import { categoriesOf, leafRows } from "../../../src/security/categories.ts";
import { keysOf, permission } from "../../../src/security/guard.ts";
import { checkHttpAuth } from "../../../src/security/http-auth.ts";
import { ClientReaper, type Reapable } from "../../../src/security/reaper.ts";
import { redactArgs } from "../../../src/security/redact.ts";
import { isLoopback } from "../../../src/security/security.ts";
import { ClientLimits, parseMemory, parseOutputLimit } from "../../../src/security/settings.ts";
import { protocolMask } from "../../../src/security/tls.ts";
import { AclRuleError, AclUser, sha256Hex } from "../../../src/security/user.ts";

const table = buildTable(commandRows);
const enc = (s: string) => new TextEncoder().encode(s);
const args = (...a: string[]) => a.map(enc);
const row = (name: string) => {
  const [p, sub] = name.split("|");
  const parent = table.get(p!)!;
  return sub ? table.sub(parent, sub)! : parent;
};

function user(...rules: string[]): AclUser {
  const u = new AclUser("u");
  for (const r of rules) u.apply(r, table);
  return u;
}

describe("ACL rules", () => {
  test("a new user is off, has no passwords, no commands and no keys", () => {
    const u = new AclUser("n");
    expect(u.enabled).toBe(false);
    expect(u.checkPassword("x")).toBe(false);
    expect(u.canRun(row("get"))).toBe(false);
    expect(u.describe()).toBe("off resetchannels -@all");
  });

  test("passwords are stored as SHA-256 and removed with < and resetpass", () => {
    const u = user("on", ">p1", ">p2");
    expect([...u.passwords]).toEqual([sha256Hex("p1"), sha256Hex("p2")]);
    expect(u.checkPassword("p2")).toBe(true);
    u.apply("<p2", table);
    expect(u.checkPassword("p2")).toBe(false);
    u.apply("resetpass", table);
    expect(u.checkPassword("p1")).toBe(false);
    u.apply("nopass", table);
    expect(u.checkPassword("anything")).toBe(true);
    u.apply(`#${sha256Hex("h")}`, table);
    expect(u.nopass).toBe(false);
    expect(u.checkPassword("h")).toBe(true);
  });

  test("categories and single commands are applied in order; subcommands by name", () => {
    const u = user("+@read", "-get", "+config|get");
    expect(u.canRun(row("get"))).toBe(false);
    expect(u.canRun(row("hget"))).toBe(true);
    expect(u.canRun(row("config|get"))).toBe(true);
    expect(u.canRun(row("config|set"))).toBe(false);
    u.apply("+@all", table);
    u.apply("-@dangerous", table);
    expect(u.canRun(row("flushall"))).toBe(false);
    expect(u.canRun(row("blobasaur.vacuum"))).toBe(false);
    expect(u.canRun(row("set"))).toBe(true);
  });

  test("unknown rules, commands and categories are refused with Redis's reasons", () => {
    expect(() => user("bogus")).toThrow(new AclRuleError("bogus", "Syntax error"));
    expect(() => user("+nosuch")).toThrow("Unknown command or category name in ACL");
    expect(() => user("+@nosuch")).toThrow("Unknown command or category name in ACL");
    expect(() => user("%X~k")).toThrow("Syntax error");
    expect(() => user("#abc")).toThrow("The password hash must be exactly 64 characters");
  });

  test("full (the fast path that skips every check) needs every command, key and channel", () => {
    expect(user("on", "+@all", "~*", "&*").full).toBe(true);
    // Redis 7's acl-pubsub-default is resetchannels: without &* channels must be checked.
    expect(user("on", "+@all", "~*").full).toBe(false);
    expect(user("on", "+@all", "~a*", "&*").full).toBe(false);
    expect(user("on", "+@read", "allkeys", "allchannels").full).toBe(false);
    expect(user("on", "allcommands", "allkeys", "allchannels").full).toBe(true);
  });

  test("key permissions follow the row's read/write flags and key range", () => {
    const u = user("on", "+@all", "%R~r:*", "%W~w:*", "~rw:*");
    expect(permission(u, row("get"), args("get", "r:1"))).toBeNull();
    expect(permission(u, row("set"), args("set", "r:1", "v"))?.reason).toBe("key");
    expect(permission(u, row("set"), args("set", "w:1", "v"))).toBeNull();
    expect(permission(u, row("mset"), args("mset", "rw:1", "v", "x", "v"))?.object).toBe("x");
    expect(
      keysOf(row("mset"), args("mset", "a", "1", "b", "2")).map((k) => new TextDecoder().decode(k)),
    ).toEqual(["a", "b"]);
  });
});

describe("categories", () => {
  test("rows get Redis's categories from flags, group and their acl list", () => {
    expect(categoriesOf(row("get"))).toEqual(["read", "string", "fast"]);
    expect(categoriesOf(row("flushall"))).toEqual(["keyspace", "write", "slow", "dangerous"]);
    expect(categoriesOf(row("setbit"))).toEqual(["write", "bitmap", "slow"]);
    expect(categoriesOf(row("config|set"))).toContain("dangerous");
    expect(categoriesOf(row("blobasaur.vacuum"))).toEqual(["admin", "slow", "dangerous"]);
  });

  test("every leaf row has a speed category, so +@fast/+@slow cover the table", () => {
    for (const r of leafRows(table.all)) {
      const c = categoriesOf(r);
      expect(c.includes("fast") !== c.includes("slow"), r.name).toBe(true);
    }
  });

  test("every admin row is @admin and @dangerous, so -@admin/-@dangerous deny it", () => {
    for (const r of leafRows(table.all).filter((x) => x.flags.includes("admin"))) {
      expect(categoriesOf(r), r.name).toContain("dangerous");
    }
  });
});

describe("redaction", () => {
  const show = (name: string, ...a: string[]) =>
    redactArgs(row(name), args(...a)).map((x) => new TextDecoder().decode(x));
  test("AUTH, HELLO AUTH, ACL SETUSER, MIGRATE AUTH2 and CONFIG SET requirepass hide secrets", () => {
    expect(show("auth", "AUTH", "u", "p")).toEqual(["AUTH", "(redacted)", "(redacted)"]);
    expect(show("hello", "HELLO", "3", "AUTH", "u", "p", "SETNAME", "n")).toEqual([
      "HELLO",
      "3",
      "AUTH",
      "(redacted)",
      "(redacted)",
      "SETNAME",
      "n",
    ]);
    expect(show("acl|setuser", "ACL", "SETUSER", "bob", ">pw")).toEqual([
      "ACL",
      "SETUSER",
      "(redacted)",
      "(redacted)",
    ]);
    expect(show("config|set", "CONFIG", "SET", "requirepass", "pw", "timeout", "5")).toEqual([
      "CONFIG",
      "SET",
      "requirepass",
      "(redacted)",
      "timeout",
      "5",
    ]);
  });
  test("other commands are passed through untouched (the same array)", () => {
    const a = args("SET", "k", "v");
    expect(redactArgs(row("set"), a)).toBe(a);
  });
});

describe("settings", () => {
  test("sizes parse like Redis's memtoull", () => {
    expect(parseMemory("1gb")).toBe(1024 ** 3);
    expect(parseMemory("1g")).toBe(1e9);
    expect(parseMemory("64KB")).toBe(65536);
    expect(parseMemory("12")).toBe(12);
    expect(parseMemory("1tb")).toBeNull();
    expect(parseMemory("-1")).toBeNull();
  });
  test("output limits parse as hard, soft, seconds", () => {
    expect(parseOutputLimit("256mb 64mb 60")).toEqual({
      hardBytes: 256 * 1024 * 1024,
      softBytes: 64 * 1024 * 1024,
      softSeconds: 60,
    });
    expect(parseOutputLimit("1 2")).toBeNull();
  });
  test("loopback addresses are recognised in IPv4, IPv6 and mapped form", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"])
      expect(isLoopback(a)).toBe(true);
    for (const a of ["10.0.0.1", "::ffff:10.0.0.1", "fd00::2"]) expect(isLoopback(a)).toBe(false);
  });
  test("tls protocols become the SSL_OP_NO_* mask of the versions left out", () => {
    expect(protocolMask("TLSv1.2 TLSv1.3")).not.toBe(protocolMask("TLSv1.3"));
    expect(() => protocolMask("SSLv3")).toThrow("unknown TLS version");
  });
});

describe("client reaper", () => {
  function fake(
    partialSince: number,
    frameBytes: number,
    lastInteraction: number,
    monitoring = false,
  ) {
    const c = { aborted: false } as { aborted: boolean } & Reapable;
    Object.assign(c, {
      partialSince,
      frameBytes,
      client: { lastInteraction, monitoring } as ClientState,
      abort() {
        c.aborted = true;
      },
    });
    return c;
  }
  const limits = () => {
    const l = new ClientLimits(defaultConfig());
    l.timeoutSec = 10;
    l.frameTimeoutMs = 1000;
    return l;
  };

  test("closes idle clients past timeout, but never a MONITOR client", () => {
    const idle = fake(0, 0, 0);
    const monitor = fake(0, 0, 0, true);
    const busy = fake(0, 0, 9_500);
    new ClientReaper(limits(), () => [idle, monitor, busy]).sweep(10_001);
    expect([idle.aborted, monitor.aborted, busy.aborted]).toEqual([true, false, false]);
  });

  test("closes a trickled half-sent frame, but not a large upload arriving steadily", () => {
    const slowloris = fake(1, 10, 5_000);
    const upload = fake(1, 100 * 1024 * 1024, 5_000);
    new ClientReaper(limits(), () => [slowloris, upload]).sweep(5_000);
    expect([slowloris.aborted, upload.aborted]).toEqual([true, false]);
  });
});

describe("metrics HTTP auth", () => {
  const req = (auth?: string) =>
    new Request("http://x/metrics", auth ? { headers: { authorization: auth } } : {});
  test("no credentials configured lets everything through", () => {
    expect(checkHttpAuth({ bearerToken: null, basicAuth: null }, req())).toBeNull();
  });
  test("a bearer token or basic credentials are required when configured", () => {
    const creds = { bearerToken: "t", basicAuth: "u:p" };
    expect(checkHttpAuth(creds, req())?.status).toBe(401);
    expect(checkHttpAuth(creds, req("Bearer t"))).toBeNull();
    expect(checkHttpAuth(creds, req("Bearer tt"))?.status).toBe(401);
    expect(checkHttpAuth(creds, req(`Basic ${btoa("u:p")}`))).toBeNull();
    expect(checkHttpAuth(creds, req(`Basic ${btoa("u:x")}`))?.status).toBe(401);
  });
});
