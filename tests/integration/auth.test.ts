/**
 * AUTH, requirepass and HELLO AUTH, end to end: Redis's NOAUTH / WRONGPASS texts, which
 * commands run before AUTH (rows flagged no_auth), redis-cli -a, and passwords kept out of
 * MONITOR, SLOWLOG and CLIENT LIST.
 */
import { describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { RawClient } from "../helpers/redis-ref.ts";
import { resp, startTestServer } from "../helpers/server.ts";

const send = async (c: RawClient, ...args: string[]) => (await c.send(resp(...args))).toString();

describe("requirepass", () => {
  test("every command but AUTH, HELLO, QUIT and RESET gets NOAUTH until AUTH succeeds", async () => {
    await using srv = await startTestServer({ requirepass: "secret" });
    const c = await RawClient.connect({ port: srv.port });
    expect(await send(c, "PING")).toBe("-NOAUTH Authentication required.\r\n");
    expect(await send(c, "GET", "k")).toBe("-NOAUTH Authentication required.\r\n");
    expect(await send(c, "CLIENT", "SETNAME", "x")).toBe("-NOAUTH Authentication required.\r\n");
    // As in Redis, an unknown command or a wrong arity is reported before NOAUTH.
    expect(await send(c, "NOSUCH")).toStartWith("-ERR unknown command 'NOSUCH'");
    expect(await send(c, "GET")).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(await send(c, "AUTH", "wrong")).toBe(
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    expect(await send(c, "AUTH", "secret")).toBe("+OK\r\n");
    expect(await send(c, "PING")).toBe("+PONG\r\n");
    expect(await send(c, "AUTH", "default", "secret")).toBe("+OK\r\n");
  });

  test("HELLO needs AUTH first, and HELLO 3 AUTH default <pass> authenticates", async () => {
    await using srv = await startTestServer({ requirepass: "secret" });
    const c = await RawClient.connect({ port: srv.port });
    expect(await send(c, "HELLO", "3")).toBe(
      "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n",
    );
    expect(await send(c, "HELLO", "3", "AUTH", "default", "nope")).toStartWith("-WRONGPASS");
    expect(await send(c, "HELLO", "3", "AUTH", "default", "secret")).toStartWith("%7\r\n");
    expect(await send(c, "PING")).toBe("+PONG\r\n");
  });

  test("RESET logs the client out again", async () => {
    await using srv = await startTestServer({ requirepass: "secret" });
    const c = await RawClient.connect({ port: srv.port });
    await send(c, "AUTH", "secret");
    expect(await send(c, "RESET")).toBe("+RESET\r\n");
    expect(await send(c, "PING")).toBe("-NOAUTH Authentication required.\r\n");
  });

  test("redis-cli PING gets NOAUTH and redis-cli -a secret PING gets PONG", async () => {
    await using srv = await startTestServer({ requirepass: "secret" });
    const cli = (args: string[]) =>
      Bun.spawn(["redis-cli", "-p", String(srv.port), "--no-auth-warning", ...args], {
        stdout: "pipe",
      });
    const plain = cli(["PING"]);
    expect((await new Response(plain.stdout).text()).trim()).toBe(
      "NOAUTH Authentication required.",
    );
    const authed = cli(["-a", "secret", "PING"]);
    expect((await new Response(authed.stdout).text()).trim()).toBe("PONG");
  });

  test("ioredis with a password connects and runs commands", async () => {
    await using srv = await startTestServer({ requirepass: "secret" });
    const r = new Redis({
      port: srv.port,
      host: "127.0.0.1",
      password: "secret",
      lazyConnect: true,
    });
    await r.connect();
    expect(await r.set("k", "v")).toBe("OK");
    expect(await r.get("k")).toBe("v");
    r.disconnect();
  });

  test("requirepass_env reads the password from the environment", async () => {
    process.env.BLOBASAUR_TEST_PASSWORD = "from-env";
    try {
      await using srv = await startTestServer({ requirepassEnv: "BLOBASAUR_TEST_PASSWORD" });
      const c = await RawClient.connect({ port: srv.port });
      expect(await send(c, "PING")).toBe("-NOAUTH Authentication required.\r\n");
      expect(await send(c, "AUTH", "from-env")).toBe("+OK\r\n");
    } finally {
      delete process.env.BLOBASAUR_TEST_PASSWORD;
    }
  });

  test('CONFIG SET requirepass turns authentication on and "" turns it off', async () => {
    await using srv = await startTestServer();
    const admin = await RawClient.connect({ port: srv.port });
    expect(await send(admin, "AUTH", "x")).toStartWith(
      "-ERR AUTH <password> called without any password configured",
    );
    expect(await send(admin, "CONFIG", "SET", "requirepass", "s3")).toBe("+OK\r\n");
    const c = await RawClient.connect({ port: srv.port });
    expect(await send(c, "PING")).toBe("-NOAUTH Authentication required.\r\n");
    expect(await send(admin, "CONFIG", "GET", "requirepass")).toBe(
      "*2\r\n$11\r\nrequirepass\r\n$2\r\ns3\r\n",
    );
    expect(await send(admin, "CONFIG", "SET", "requirepass", "")).toBe("+OK\r\n");
    const d = await RawClient.connect({ port: srv.port });
    expect(await send(d, "PING")).toBe("+PONG\r\n");
  });
});

describe("passwords stay secret", () => {
  test("MONITOR shows AUTH and HELLO AUTH redacted and never a password", async () => {
    await using srv = await startTestServer({ requirepass: "topsecret" });
    const mon = await RawClient.connect({ port: srv.port });
    await send(mon, "AUTH", "topsecret");
    expect(await send(mon, "MONITOR")).toBe("+OK\r\n");
    const c = await RawClient.connect({ port: srv.port });
    await send(c, "AUTH", "topsecret");
    await send(c, "HELLO", "2", "AUTH", "default", "topsecret");
    await send(c, "ACL", "SETUSER", "bob", "on", ">bobpass");
    await send(c, "CONFIG", "SET", "requirepass", "topsecret");
    await send(c, "GET", "last");
    // Admin commands (ACL, CONFIG) never reach MONITOR, as in Redis; read up to the GET.
    let seen = "";
    while (!seen.includes('"GET" "last"')) seen += (await mon.receive()).toString();
    expect(seen).not.toContain("topsecret");
    expect(seen).not.toContain("bobpass");
    expect(seen).toContain('"AUTH" "(redacted)"');
    expect(seen).toContain('"HELLO" "2" "AUTH" "(redacted)" "(redacted)"');
  });

  test("SLOWLOG and CLIENT LIST never show a password", async () => {
    await using srv = await startTestServer({ requirepass: "topsecret" });
    const c = await RawClient.connect({ port: srv.port });
    await send(c, "AUTH", "topsecret");
    await send(c, "CONFIG", "SET", "slowlog-log-slower-than", "0");
    await send(c, "AUTH", "default", "topsecret");
    await send(c, "ACL", "SETUSER", "carol", ">carolpass");
    const slowlog = await send(c, "SLOWLOG", "GET", "10");
    expect(slowlog).toContain("(redacted)");
    expect(slowlog).not.toContain("topsecret");
    expect(slowlog).not.toContain("carolpass");
    const list = await send(c, "CLIENT", "LIST");
    expect(list).toContain("user=default");
    expect(list).not.toContain("topsecret");
  });
});
