/**
 * MonitorFeed without sockets: line format, escaping, what is hidden, and the disconnect of a
 * monitor that has fallen too far behind (which would take 64 MiB of real traffic to reach).
 */
import { describe, expect, test } from "bun:test";
import type { ClientState, CommandSpec } from "../../../src/commands/spec.ts";
import { limits } from "../../../src/limits.ts";
import type { Reply } from "../../../src/protocol/reply.ts";
import { MonitorFeed, monitorLine, quoted } from "../../../src/server/monitor.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const spec = (name: string, flags: CommandSpec["flags"] = []): CommandSpec => ({
  name,
  arity: -1,
  flags,
  keys: null,
  group: "server",
  summary: "",
  syntax: "",
  since: "1.0.0",
});

function watcher(id: number, backlog = 0) {
  const got: Reply[] = [];
  let killed = false;
  const client = {
    id,
    addr: `127.0.0.1:${1000 + id}`,
    monitoring: true,
    deliver: (r: Reply) => got.push(r),
    outputBytes: () => backlog,
    kill: () => {
      killed = true;
    },
  } as unknown as ClientState;
  return { client, got, killed: () => killed };
}

describe("monitor lines", () => {
  test("time has six digits of microseconds, then db 0 and the address", () => {
    expect(monitorLine(1_795_660_720_000_042, "127.0.0.1:5", [bytes("get"), bytes("k")])).toBe(
      '1795660720.000042 [0 127.0.0.1:5] "get" "k"',
    );
  });

  test("quoted() escapes like sdscatrepr", () => {
    expect(quoted(new Uint8Array([0x5c, 0x22, 10, 13, 9, 7, 8, 0, 0x1f, 0x7f, 0x80, 0xff]))).toBe(
      '"\\\\\\"\\n\\r\\t\\a\\b\\x00\\x1f\\x7f\\x80\\xff"',
    );
    expect(quoted(bytes(" ~a"))).toBe('" ~a"');
  });
});

describe("MonitorFeed", () => {
  test("feeds every watcher, hides admin commands, and is inactive when empty", () => {
    const feed = new MonitorFeed();
    expect(feed.active).toBe(false);
    const a = watcher(1);
    const b = watcher(2);
    feed.add(a.client);
    feed.add(b.client);
    expect(feed.active).toBe(true);
    const sender = watcher(3).client;
    feed.feed(sender, spec("config|get", ["admin"]), [bytes("CONFIG"), bytes("GET"), bytes("x")]);
    feed.feed(sender, spec("set", ["write"]), [bytes("SET"), bytes("k"), bytes("v")]);
    expect(a.got).toHaveLength(1);
    expect(b.got).toHaveLength(1);
    expect((a.got[0] as { text: string }).text).toMatch(/ \[0 127\.0\.0\.1:1003\] "SET" "k" "v"$/);
    feed.remove(a.client);
    feed.remove(b.client);
    expect(feed.active).toBe(false);
  });

  test("a monitor that stopped reading is disconnected instead of buffering without end", () => {
    const feed = new MonitorFeed();
    const slow = watcher(1, limits.monitorOutputMaxBytes + 1);
    const fine = watcher(2, limits.monitorOutputMaxBytes);
    feed.add(slow.client);
    feed.add(fine.client);
    feed.feed(watcher(3).client, spec("ping"), [bytes("PING")]);
    expect(slow.killed()).toBe(true);
    expect(slow.got).toHaveLength(0);
    expect(fine.killed()).toBe(false);
    expect(fine.got).toHaveLength(1);
  });

  test("AUTH is redacted whole; HELLO only after its AUTH token", () => {
    const feed = new MonitorFeed();
    const w = watcher(1);
    feed.add(w.client);
    const sender = watcher(2).client;
    feed.feed(sender, spec("auth"), [bytes("auth"), bytes("u"), bytes("p")]);
    feed.feed(sender, spec("hello"), [
      bytes("HELLO"),
      bytes("3"),
      bytes("auth"),
      bytes("u"),
      bytes("p"),
    ]);
    const texts = w.got.map((r) => (r as { text: string }).text.replace(/^.*\] /, ""));
    expect(texts).toEqual([
      '"auth" "(redacted)" "(redacted)"',
      '"HELLO" "3" "auth" "(redacted)" "(redacted)"',
    ]);
  });
});
