/**
 * TLS beside the plain port, as Redis's tls-port: redis-cli --tls and ioredis over TLS with a
 * CA generated at test time (openssl), client certificates (tls.auth_clients), the minimum
 * version (tls.protocols), and the metrics endpoint over HTTPS with a bearer token.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { startTestServer, tempDir } from "../helpers/server.ts";

let dir = "";
const file = (name: string) => join(dir, name);

function openssl(args: string[]): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd: dir, stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr.toString()}`);
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by it. */
beforeAll(() => {
  dir = tempDir("blobasaur-tls-");
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=Test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
  ]);
  for (const who of ["server", "client"]) {
    openssl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${who}`,
      "-keyout",
      `${who}.key`,
      "-out",
      `${who}.csr`,
    ]);
    Bun.write(
      file(`${who}.ext`),
      who === "server"
        ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
        : "extendedKeyUsage=clientAuth\n",
    );
    openssl([
      "x509",
      "-req",
      "-in",
      `${who}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-out",
      `${who}.crt`,
      "-extfile",
      `${who}.ext`,
    ]);
  } // A client certificate from a CA the server does not trust.
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=Rogue",
    "-keyout",
    "rogue.key",
    "-out",
    "rogue.crt",
  ]);
});

const tlsConfig = (authClients: "yes" | "no" | "optional", protocols = "TLSv1.2 TLSv1.3") => ({
  tls: {
    port: 0,
    certFile: file("server.crt"),
    keyFile: file("server.key"),
    caCertFile: file("ca.crt"),
    authClients,
    protocols,
  },
});

async function cli(port: number, extra: string[], command: string[]): Promise<string> {
  const p = Bun.spawn(
    [
      "redis-cli",
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "--tls",
      "--cacert",
      file("ca.crt"),
      ...extra,
      ...command,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = await new Response(p.stdout).text();
  const err = await new Response(p.stderr).text();
  await p.exited;
  return (out + err).trim();
}

describe("TLS port", () => {
  test("redis-cli --tls --cacert connects, and the plain port keeps working beside it", async () => {
    await using srv = await startTestServer(tlsConfig("no"));
    const port = srv.handle.tlsPort!;
    expect(port).toBeGreaterThan(0);
    expect(await cli(port, [], ["SET", "k", "over-tls"])).toBe("OK");
    const plain = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true });
    await plain.connect();
    expect(await plain.get("k")).toBe("over-tls");
    plain.disconnect();
  });

  test("ioredis connects over TLS with the test CA", async () => {
    await using srv = await startTestServer(tlsConfig("no"));
    const r = new Redis({
      port: srv.handle.tlsPort!,
      host: "127.0.0.1",
      lazyConnect: true,
      tls: { ca: readFileSync(file("ca.crt")), servername: "localhost" },
    });
    await r.connect();
    expect(await r.set("a", "1")).toBe("OK");
    expect(await r.get("a")).toBe("1");
    r.disconnect();
  });

  test("with auth_clients = yes a client without a certificate is refused, one with it served", async () => {
    await using srv = await startTestServer(tlsConfig("yes"));
    const port = srv.handle.tlsPort!;
    expect(await cli(port, [], ["PING"])).not.toBe("PONG");
    expect(
      await cli(port, ["--cert", file("client.crt"), "--key", file("client.key")], ["PING"]),
    ).toBe("PONG");
  });

  test("with auth_clients = optional no certificate is fine but an untrusted one is refused", async () => {
    await using srv = await startTestServer(tlsConfig("optional"));
    const port = srv.handle.tlsPort!;
    expect(await cli(port, [], ["PING"])).toBe("PONG");
    expect(
      await cli(port, ["--cert", file("client.crt"), "--key", file("client.key")], ["PING"]),
    ).toBe("PONG");
    expect(
      await cli(port, ["--cert", file("rogue.crt"), "--key", file("rogue.key")], ["PING"]),
    ).not.toBe("PONG");
  });

  test("with protocols = TLSv1.3 a TLS 1.2 client cannot connect", async () => {
    await using srv = await startTestServer(tlsConfig("no", "TLSv1.3"));
    const port = srv.handle.tlsPort!;
    // Asynchronous: the server runs in this process, so a blocking spawn would stall it.
    const handshake = async (flag: string) => {
      const p = Bun.spawn(
        ["openssl", "s_client", flag, "-connect", `127.0.0.1:${port}`, "-CAfile", file("ca.crt")],
        { stdin: new TextEncoder().encode("PING\r\n"), stdout: "pipe", stderr: "pipe" },
      );
      const out = await new Response(p.stdout).text();
      return { code: await p.exited, out };
    };
    expect((await handshake("-tls1_2")).code).not.toBe(0);
    const ok = await handshake("-tls1_3");
    expect(ok.out).toContain("TLSv1.3");
  });
});

describe("metrics endpoint", () => {
  test("serves HTTPS and requires the bearer token when one is set", async () => {
    await using srv = await startTestServer({
      ...tlsConfig("no"),
      tls: { ...tlsConfig("no").tls, port: null },
      metrics: {
        enabled: true,
        addr: { host: "127.0.0.1", port: 0 },
        tls: true,
        bearerToken: "tok",
      },
    } as never);
    const url = `${srv.handle.context.metrics!.endpoint}/metrics`;
    expect(url.startsWith("https://127.0.0.1:")).toBe(true);
    const tls = { ca: readFileSync(file("ca.crt"), "utf8") };
    const denied = await fetch(url, { tls } as RequestInit);
    expect(denied.status).toBe(401);
    expect(denied.headers.get("www-authenticate")).toContain("Bearer");
    const ok = await fetch(url, { tls, headers: { authorization: "Bearer tok" } } as RequestInit);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("# TYPE");
  });

  test("basic auth protects /health over plain HTTP", async () => {
    await using srv = await startTestServer({
      metrics: { enabled: true, addr: { host: "127.0.0.1", port: 0 }, basicAuth: "prom:pw" },
    } as never);
    const url = `${srv.handle.context.metrics!.endpoint}/health`;
    expect((await fetch(url)).status).toBe(401);
    const wrong = `Basic ${Buffer.from("prom:nope").toString("base64")}`;
    expect((await fetch(url, { headers: { authorization: wrong } })).status).toBe(401);
    const right = `Basic ${Buffer.from("prom:pw").toString("base64")}`;
    expect((await fetch(url, { headers: { authorization: right } })).status).toBe(200);
  });
});
