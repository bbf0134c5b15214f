/**
 * Property-based tests (fast-check) over the RESP parser and, through a live in-process
 * server, over every command's argument parsing: no input crashes the parser or the server,
 * none hangs, a chunking of the input never changes what is parsed, and every request gets
 * either an error or a well-formed reply. The long run against a live server is
 * `npm run fuzz` (scripts/fuzz.ts); this suite is the CI-sized version.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ProtocolError } from "../../../src/errors.ts";
import { type Command, RespParser } from "../../../src/protocol/parser.ts";
import { RawClient, replyEnd } from "../../helpers/redis-ref.ts";
import { resp, startTestServer } from "../../helpers/server.ts";

type Outcome = { commands: string[]; error: string | null };

/** Feeds `pieces` in order; collects commands (as JSON) and the first protocol error. */
function parse(pieces: Uint8Array[]): Outcome {
  const parser = new RespParser({
    bulkBytesMax: 1 << 20,
    argsCountMax: 1 << 12,
    inlineBytesMax: 1 << 12,
  });
  const out: Command[] = [];
  let error: string | null = null;
  for (const piece of pieces) {
    try {
      parser.feed(piece, out);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      error = e.message;
      break;
    }
  }
  const commands = out.map((c) => JSON.stringify(c.map((a) => Buffer.from(a).toString("hex"))));
  return { commands, error };
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.slice(at, p));
    at = p;
  }
  out.push(bytes.slice(at));
  return out;
}

const encode = (args: Uint8Array[]) => {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args)
    parts.push(Buffer.from(`$${a.length}\r\n`), Buffer.from(a), Buffer.from("\r\n"));
  return new Uint8Array(Buffer.concat(parts));
};

const argument = fc.uint8Array({ maxLength: 40 });
const command = fc.array(argument, { minLength: 1, maxLength: 6 });

/** Valid frames with a few bytes flipped, inserted or cut: the shapes hostile input takes. */
const mutatedFrames = fc
  .tuple(
    fc.array(command, { minLength: 1, maxLength: 4 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })), {
      maxLength: 6,
    }),
  )
  .map(([cmds, edits]) => {
    const bytes = [...Buffer.concat(cmds.map((c) => Buffer.from(encode(c))))];
    for (const [pos, byte, kind] of edits) {
      const at = pos % (bytes.length + 1);
      if (kind === 0 && at < bytes.length) bytes[at] = byte;
      else if (kind === 1) bytes.splice(at, 0, byte);
      else bytes.splice(at, 1);
    }
    return new Uint8Array(bytes);
  });

describe("RESP parser properties", () => {
  test("any bytes: the parser returns or throws ProtocolError, never anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        parse([bytes]);
      }),
      { numRuns: 3000 },
    );
  });

  test("valid commands round-trip exactly, however the bytes are split", () => {
    fc.assert(
      fc.property(
        fc.array(command, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (cmds, cuts) => {
          const bytes = new Uint8Array(Buffer.concat(cmds.map((c) => Buffer.from(encode(c)))));
          const got = parse(splitAt(bytes, cuts));
          expect(got.error).toBeNull();
          expect(got.commands).toEqual(
            cmds.map((c) => JSON.stringify(c.map((a) => Buffer.from(a).toString("hex")))),
          );
        },
      ),
      { numRuns: 1500 },
    );
  });

  test("mutated frames parse the same whole, byte by byte and split anywhere", () => {
    fc.assert(
      fc.property(mutatedFrames, fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        const whole = parse([bytes]);
        expect(parse(splitAt(bytes, cuts))).toEqual(whole);
        const single = [...bytes].map((b) => Uint8Array.of(b));
        expect(parse(single)).toEqual(whole);
      }),
      { numRuns: 1500 },
    );
  });
});

/**
 * Commands the argument fuzz must not send: they stop the server, change the connection's
 * mode, reach other hosts, or answer one request with several replies (UNSUBSCRIBE family);
 * everything else in the table is fair game.
 */
const excluded = new Set([
  "shutdown",
  "monitor",
  "quit",
  "reset",
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "migrate",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "debug",
  "client",
  "cluster",
  "multi",
  "exec",
  "watch",
  "blobasaur.vacuum",
  "acl",
  "config",
  "function",
  "eval",
  "evalsha",
  "eval_ro",
  "evalsha_ro",
  "fcall",
  "fcall_ro",
  "script",
  "wait",
  "waitaof",
  "hello",
  "select",
  "failover",
  "replicaof",
  "slaveof",
  "sync",
  "psync",
]);

describe("command argument properties", () => {
  test("random arguments to every command get an error or a well-formed reply, promptly", async () => {
    await using srv = await startTestServer();
    const names = srv.handle.context.table.all.map((r) => r.name).filter((n) => !excluded.has(n));
    const client = await RawClient.connect({ port: srv.port });
    const word = fc.oneof(
      fc.constantFrom(
        "0",
        "1",
        "-1",
        "10",
        "EX",
        "PX",
        "NX",
        "XX",
        "GET",
        "KEEPTTL",
        "COUNT",
        "MATCH",
        "FIELDS",
        "WITHVALUES",
        "inf",
        "-inf",
        "1.5",
        "9223372036854775808",
        "k",
        "h",
        "*",
        "",
      ),
      fc.string({ maxLength: 12 }),
      fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b).toString("latin1")),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.array(word, { maxLength: 7 }),
        async (name, args) => {
          const reply = await Promise.race([
            client.send(resp(name, ...args)),
            Bun.sleep(5000).then(() => {
              throw new Error(`no reply within 5 s to ${name} ${JSON.stringify(args)}`);
            }),
          ]);
          expect(replyEnd(reply)).toBe(reply.length);
        },
      ),
      { numRuns: 1500 },
    );
    const last = (await client.send(resp("PING"))).toString();
    expect(last).toBe("+PONG\r\n");
  }, 120_000);
});
