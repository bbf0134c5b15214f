/**
 * ACL users end to end: users from config and from an ACL file, command categories and key
 * patterns, NOPERM in Redis 7.2+/8's words, ACL LOG, and the ACL subcommands.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RawClient, startRedisRef } from "../helpers/redis-ref.ts";
import { resp, startTestServer, tempDir } from "../helpers/server.ts";

const send = async (c: RawClient, ...args: string[]) => (await c.send(resp(...args))).toString();

async function as(port: number, user: string, pass: string): Promise<RawClient> {
  const c = await RawClient.connect({ port });
  expect(await send(c, "AUTH", user, pass)).toBe("+OK\r\n");
  return c;
}

describe("a read-only user", () => {
  test("can GET but gets NOPERM on SET, FLUSHALL and BLOBASAUR.VACUUM", async () => {
    await using srv = await startTestServer({
      users: ["reader on >rpw ~* +@read"],
    });
    const admin = await RawClient.connect({ port: srv.port });
    await send(admin, "SET", "k", "v");
    const r = await as(srv.port, "reader", "rpw");
    expect(await send(r, "GET", "k")).toBe("$1\r\nv\r\n");
    expect(await send(r, "HGETALL", "h")).toBe("*0\r\n");
    expect(await send(r, "SET", "k", "w")).toBe(
      "-NOPERM User reader has no permissions to run the 'set' command\r\n",
    );
    expect(await send(r, "FLUSHALL")).toBe(
      "-NOPERM User reader has no permissions to run the 'flushall' command\r\n",
    );
    expect(
      await send(r, "BLOBASAUR.VACUUM", "SHARD", "0", "MODE", "FULL", "ASYNC", "NO"),
    ).toStartWith(
      "-NOPERM User reader has no permissions to run the 'blobasaur.vacuum' command\r\n",
    );
    expect(await send(r, "CONFIG", "SET", "timeout", "5")).toBe(
      "-NOPERM User reader has no permissions to run the 'config|set' command\r\n",
    );
    expect(await send(admin, "GET", "k")).toBe("$1\r\nv\r\n");
  });

  test("a denial inside MULTI dooms the transaction", async () => {
    await using srv = await startTestServer({ users: ["reader on >rpw ~* +@read +@transaction"] });
    const r = await as(srv.port, "reader", "rpw");
    expect(await send(r, "MULTI")).toBe("+OK\r\n");
    expect(await send(r, "SET", "k", "v")).toStartWith("-NOPERM");
    expect(await send(r, "EXEC")).toStartWith("-EXECABORT");
  });
});

describe("key patterns", () => {
  test("~pattern, %R~ and %W~ grant keys by pattern and by read or write", async () => {
    await using srv = await startTestServer({
      users: ["app on >pw ~cache:* %R~ro:* %W~wo:* +@all"],
    });
    const c = await as(srv.port, "app", "pw");
    expect(await send(c, "SET", "cache:1", "a")).toBe("+OK\r\n");
    expect(await send(c, "GET", "cache:1")).toBe("$1\r\na\r\n");
    expect(await send(c, "SET", "other", "a")).toBe("-NOPERM No permissions to access a key\r\n");
    expect(await send(c, "GET", "ro:1")).toBe("$-1\r\n");
    expect(await send(c, "SET", "ro:1", "x")).toBe("-NOPERM No permissions to access a key\r\n");
    expect(await send(c, "SET", "wo:1", "x")).toBe("+OK\r\n");
    expect(await send(c, "GET", "wo:1")).toBe("-NOPERM No permissions to access a key\r\n");
    expect(await send(c, "MGET", "cache:1", "secret")).toBe(
      "-NOPERM No permissions to access a key\r\n",
    );
  });
});

describe("ACL subcommands", () => {
  test("SETUSER, GETUSER, LIST, USERS, WHOAMI, DELUSER", async () => {
    await using srv = await startTestServer();
    const c = await RawClient.connect({ port: srv.port });
    expect(await send(c, "ACL", "WHOAMI")).toBe("$7\r\ndefault\r\n");
    expect(
      await send(c, "ACL", "SETUSER", "alice", "on", ">p1", "~cache:*", "+@read", "+set"),
    ).toBe("+OK\r\n");
    expect(await send(c, "ACL", "SETUSER", "alice", "foo")).toBe(
      "-ERR Error in ACL SETUSER modifier 'foo': Syntax error\r\n",
    );
    expect(await send(c, "ACL", "SETUSER", "alice", "+nosuch")).toBe(
      "-ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL\r\n",
    );
    const list = await send(c, "ACL", "LIST");
    expect(list).toContain("user default on nopass ~* &* +@all");
    expect(list).toContain(
      "user alice on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a ~cache:* resetchannels -@all +@read +set",
    );
    expect(await send(c, "ACL", "USERS")).toBe("*2\r\n$5\r\nalice\r\n$7\r\ndefault\r\n");
    const getuser = await send(c, "ACL", "GETUSER", "alice");
    expect(getuser).toContain("$9\r\npasswords\r\n*1\r\n$64\r\nf64551fc");
    expect(getuser).toContain("$4\r\nkeys\r\n$8\r\n~cache:*\r\n");
    expect(await send(c, "ACL", "GETUSER", "nobody")).toBe("$-1\r\n");
    expect(await send(c, "ACL", "SETUSER", "alice", "+acl|whoami")).toBe("+OK\r\n");
    const a = await as(srv.port, "alice", "p1");
    expect(await send(a, "ACL", "WHOAMI")).toBe("$5\r\nalice\r\n");
    expect(await send(c, "ACL", "DELUSER", "alice", "ghost")).toBe(":1\r\n");
    // Deleting a user disconnects its clients, as in Redis.
    await expect(a.send(resp("PING"))).rejects.toThrow("connection closed");
    expect(await send(c, "ACL", "DELUSER", "default")).toBe(
      "-ERR The 'default' user cannot be removed\r\n",
    );
  });

  test("a disabled user or a wrong password gets WRONGPASS and an ACL LOG entry", async () => {
    await using srv = await startTestServer({ users: ["off1 off >pw +@all ~*"] });
    const c = await RawClient.connect({ port: srv.port });
    expect(await send(c, "AUTH", "off1", "pw")).toStartWith("-WRONGPASS");
    expect(await send(c, "AUTH", "ghost", "pw")).toStartWith("-WRONGPASS");
    const log = await send(c, "ACL", "LOG");
    expect(log).toContain("$6\r\nreason\r\n$4\r\nauth\r\n");
    expect(log).toContain("$8\r\nusername\r\n$5\r\nghost\r\n");
    expect(log).toContain("$8\r\nentry-id\r\n");
    expect(await send(c, "ACL", "LOG", "RESET")).toBe("+OK\r\n");
    expect(await send(c, "ACL", "LOG")).toBe("*0\r\n");
  });

  test("ACL LOG records command and key denials, counting repeats in one entry", async () => {
    await using srv = await startTestServer({ users: ["r on >pw ~a* +@read"] });
    const r = await as(srv.port, "r", "pw");
    await send(r, "SET", "a", "1");
    await send(r, "SET", "a", "1");
    await send(r, "GET", "b");
    const admin = await RawClient.connect({ port: srv.port });
    const log = await send(admin, "ACL", "LOG");
    expect(log.startsWith("*2\r\n")).toBe(true);
    expect(log).toContain("$6\r\nobject\r\n$1\r\nb\r\n");
    expect(log).toContain("$6\r\nreason\r\n$3\r\nkey\r\n");
    expect(log).toContain("$5\r\ncount\r\n:2\r\n$6\r\nreason\r\n$7\r\ncommand\r\n");
    expect(await send(admin, "ACL", "LOG", "1")).toStartWith("*1\r\n");
  });

  test("CAT lists categories and the commands in one; DRYRUN answers without running", async () => {
    await using srv = await startTestServer({ users: ["r on >pw ~a* +@read"] });
    const c = await RawClient.connect({ port: srv.port });
    const cats = await send(c, "ACL", "CAT");
    for (const name of ["keyspace", "read", "write", "admin", "dangerous", "bitmap"])
      expect(cats).toContain(`\r\n${name}\r\n`);
    const dangerous = await send(c, "ACL", "CAT", "dangerous");
    for (const name of ["flushall", "blobasaur.vacuum", "config|set", "shutdown", "monitor"])
      expect(dangerous).toContain(`\r\n${name}\r\n`);
    expect(dangerous).not.toContain("\r\nget\r\n");
    expect(await send(c, "ACL", "CAT", "nope")).toBe("-ERR Unknown category 'nope'\r\n");
    expect(await send(c, "ACL", "DRYRUN", "r", "GET", "a1")).toBe("+OK\r\n");
    expect(await send(c, "ACL", "DRYRUN", "r", "GET", "b")).toEndWith(
      "\r\nUser r has no permissions to access the 'b' key\r\n",
    );
    expect(await send(c, "ACL", "DRYRUN", "r", "SET", "a", "1")).toEndWith(
      "\r\nUser r has no permissions to run the 'set' command\r\n",
    );
  });

  test("COMMAND INFO shows Redis's ACL categories", async () => {
    await using srv = await startTestServer();
    const c = await RawClient.connect({ port: srv.port });
    expect(await send(c, "COMMAND", "INFO", "get")).toContain(
      "*3\r\n+@read\r\n+@string\r\n+@fast\r\n",
    );
    expect(await send(c, "COMMAND", "INFO", "flushall")).toContain(
      "*4\r\n+@keyspace\r\n+@write\r\n+@slow\r\n+@dangerous\r\n",
    );
    expect(await send(c, "COMMAND", "INFO", "setbit")).toContain(
      "*3\r\n+@write\r\n+@bitmap\r\n+@slow\r\n",
    );
    expect(await send(c, "COMMAND", "INFO", "blobasaur.vacuum")).toContain(
      "+@admin\r\n+@slow\r\n+@dangerous\r\n",
    );
  });
});

describe("ACL file", () => {
  test("users load from an ACL file; SAVE writes hashes only and LOAD reads them back", async () => {
    const dir = tempDir();
    const file = join(dir, "users.acl");
    writeFileSync(
      file,
      "# team\nuser ops on >opspw ~* +@all\nuser default on >defpw ~* &* +@all\n",
    );
    await using srv = await startTestServer({ aclfile: file });
    const c = await RawClient.connect({ port: srv.port });
    expect(await send(c, "PING")).toBe("-NOAUTH Authentication required.\r\n");
    expect(await send(c, "AUTH", "ops", "opspw")).toBe("+OK\r\n");
    expect(await send(c, "ACL", "SETUSER", "temp", "on", ">tpw", "+get", "~t:*")).toBe("+OK\r\n");
    expect(await send(c, "ACL", "SAVE")).toBe("+OK\r\n");
    const saved = readFileSync(file, "utf8");
    expect(saved).toContain("user temp on #");
    expect(saved).not.toContain("tpw");
    expect(saved).not.toContain("opspw");
    expect(await send(c, "ACL", "DELUSER", "temp")).toBe(":1\r\n");
    expect(await send(c, "ACL", "LOAD")).toBe("+OK\r\n");
    const t = await as(srv.port, "temp", "tpw");
    expect(await send(t, "GET", "t:1")).toBe("$-1\r\n");
  });

  test("a bad line in the ACL file is refused at startup, naming the file and line", async () => {
    const dir = tempDir();
    const file = join(dir, "users.acl");
    writeFileSync(file, "user ok on nopass\nuser bad on +nosuch\n");
    await expect(startTestServer({ aclfile: file })).rejects.toThrow(
      `${file}:2: Error in user declaration '+nosuch': Unknown command or category name in ACL`,
    );
  });

  test("ACL SAVE without an ACL file gives Redis's error", async () => {
    await using srv = await startTestServer();
    const c = await RawClient.connect({ port: srv.port });
    expect(await send(c, "ACL", "SAVE")).toStartWith(
      "-ERR This Redis instance is not configured to use an ACL file.",
    );
  });
});

describe("channel permissions", () => {
  test("&pattern gates PUBLISH, SPUBLISH, SUBSCRIBE, SSUBSCRIBE; PSUBSCRIBE matches literally", async () => {
    await using srv = await startTestServer({
      users: ["chat on >pw ~* &news.* &room:? +@all", "mute on >pw ~* +@all"],
    });
    const c = await as(srv.port, "chat", "pw");
    const denied = "-NOPERM No permissions to access a channel\r\n";
    expect(await send(c, "PUBLISH", "news.a", "m")).toBe(":0\r\n");
    expect(await send(c, "PUBLISH", "sport", "m")).toBe(denied);
    expect(await send(c, "SPUBLISH", "room:1", "m")).toBe(":0\r\n");
    expect(await send(c, "SPUBLISH", "room:12", "m")).toBe(denied);
    // PSUBSCRIBE: the pattern itself must equal a rule's pattern, as in Redis.
    expect(await send(c, "PSUBSCRIBE", "news.x*")).toBe(denied);
    const s = await as(srv.port, "chat", "pw");
    expect(await send(s, "SUBSCRIBE", "news.a", "other")).toBe(denied);
    expect(await send(s, "SSUBSCRIBE", "room:9")).toStartWith("*3\r\n$10\r\nssubscribe\r\n");
    const p = await as(srv.port, "chat", "pw");
    expect(await send(p, "PSUBSCRIBE", "news.*")).toStartWith("*3\r\n$10\r\npsubscribe\r\n");
    // A new user has no channels (Redis 7's acl-pubsub-default resetchannels).
    const m = await as(srv.port, "mute", "pw");
    expect(await send(m, "PUBLISH", "x", "m")).toBe(denied);
    const admin = await RawClient.connect({ port: srv.port });
    const log = await send(admin, "ACL", "LOG", "1");
    expect(log).toContain("$6\r\nreason\r\n$7\r\nchannel\r\n");
    expect(log).toContain("$6\r\nobject\r\n$1\r\nx\r\n");
    expect(await send(admin, "ACL", "DRYRUN", "chat", "PUBLISH", "sport", "m")).toBe(
      "$58\r\nUser chat has no permissions to access the 'sport' channel\r\n",
    );
    expect(await send(admin, "ACL", "DRYRUN", "chat", "PUBLISH", "news.b", "m")).toBe("+OK\r\n");
    expect(await send(admin, "ACL", "SETUSER", "mute", "allchannels")).toBe("+OK\r\n");
    expect(await send(m, "PUBLISH", "x", "m")).toBe(":0\r\n");
  });

  test("allow and deny like redis-server 7.0 (its default resetchannels for new users)", async () => {
    await using ref = await startRedisRef();
    await using ours = await startTestServer();
    const script: string[][] = [
      ["ACL", "SETUSER", "u", "on", ">pw", "~*", "+@all", "&a*"],
      ["ACL", "SETUSER", "v", "on", ">pw", "~*", "+@all"],
    ];
    const theirs = await RawClient.connect({ unix: ref.socket });
    const mine = await RawClient.connect({ port: ours.port });
    for (const cmd of script) expect(await send(mine, ...cmd)).toBe(await send(theirs, ...cmd));
    const checks: [string, string[]][] = [
      ["u", ["PUBLISH", "ab", "m"]],
      ["u", ["PUBLISH", "b", "m"]],
      ["u", ["SPUBLISH", "b", "m"]],
      ["u", ["PSUBSCRIBE", "a?"]],
      ["v", ["PUBLISH", "ab", "m"]],
      ["u", ["SUBSCRIBE", "b"]],
    ];
    for (const [user, cmd] of checks) {
      const t = await RawClient.connect({ unix: ref.socket });
      const o = await RawClient.connect({ port: ours.port });
      await send(t, "AUTH", user, "pw");
      await send(o, "AUTH", user, "pw");
      const want = (await send(t, ...cmd)).startsWith("-NOPERM") ? "denied" : "allowed";
      const got = (await send(o, ...cmd)).startsWith("-NOPERM") ? "denied" : "allowed";
      expect(`${user} ${cmd.join(" ")}: ${got}`).toBe(`${user} ${cmd.join(" ")}: ${want}`);
    }
  });
});

describe("EXEC re-checks ACL rules", () => {
  test("a command denied since it was queued gets Redis 7.0's NOPERM in EXEC's reply", async () => {
    await using ref = await startRedisRef();
    await using ours = await startTestServer();
    const replies: string[][] = [];
    for (const [connect, admin] of [
      [
        () => RawClient.connect({ unix: ref.socket }),
        await RawClient.connect({ unix: ref.socket }),
      ],
      [() => RawClient.connect({ port: ours.port }), await RawClient.connect({ port: ours.port })],
    ] as const) {
      const out: string[] = [];
      out.push(await send(admin, "ACL", "SETUSER", "w", "on", ">pw", "~*", "&*", "+@all"));
      const c = await connect();
      out.push(await send(c, "AUTH", "w", "pw"));
      out.push(await send(c, "MULTI"));
      out.push(await send(c, "SET", "k", "v"));
      out.push(await send(c, "GET", "k"));
      out.push(await send(c, "PUBLISH", "ch", "m"));
      out.push(await send(admin, "ACL", "SETUSER", "w", "-set", "resetchannels"));
      out.push(await send(c, "EXEC"));
      const log = await send(admin, "ACL", "LOG");
      out.push(log.includes("$7\r\ncontext\r\n$5\r\nmulti\r\n") ? "multi logged" : log);
      replies.push(out);
    }
    expect(replies[1]).toEqual(replies[0]!);
    expect(replies[1]![7]).toContain("-NOPERM ACLs rules changed between the moment");
    expect(replies[1]![7]).toContain("\r\n$-1\r\n");
    expect(replies[1]![8]).toBe("multi logged");
  });
});

describe("acllog-max-len", () => {
  test("CONFIG GET/SET acllog-max-len bounds ACL LOG", async () => {
    await using srv = await startTestServer({ users: ["r on >pw ~* +@read"] });
    const admin = await RawClient.connect({ port: srv.port });
    expect(await send(admin, "CONFIG", "GET", "acllog-max-len")).toBe(
      "*2\r\n$14\r\nacllog-max-len\r\n$3\r\n128\r\n",
    );
    expect(await send(admin, "CONFIG", "SET", "acllog-max-len", "2")).toBe("+OK\r\n");
    expect(await send(admin, "CONFIG", "GET", "acllog-max-len")).toBe(
      "*2\r\n$14\r\nacllog-max-len\r\n$1\r\n2\r\n",
    );
    const r = await as(srv.port, "r", "pw");
    for (const cmd of ["SET", "DEL", "INCR", "DECR"]) await send(r, cmd, "k");
    expect(await send(admin, "ACL", "LOG")).toStartWith("*2\r\n");
  });
});
