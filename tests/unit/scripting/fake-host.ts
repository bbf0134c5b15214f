/**
 * A ScriptEngine on a tiny in-memory command table, for unit tests of the Lua side without a
 * server: GET/SET/DEL/INCR, HGETALL (a map reply) and a DOUBLE command (a double reply).
 */

import type { CommandSpec, Ctx } from "../../../src/commands/spec.ts";
import { buildTable } from "../../../src/commands/table.ts";
import { RespError } from "../../../src/errors.ts";
import { double, map, OK, type Reply } from "../../../src/protocol/reply.ts";
import { ScriptEngine } from "../../../src/scripting/engine.ts";

const dec = new TextDecoder();

export interface FakeServer {
  engine: ScriptEngine;
  ctx: Ctx;
  data: Map<string, Uint8Array>;
  busy: (RespError | null)[];
  run(src: string, keys?: string[], argv?: string[]): Promise<Reply>;
}

function row(
  name: string,
  arity: number,
  flags: CommandSpec["flags"],
  handler: CommandSpec["handler"],
): CommandSpec {
  return {
    name,
    arity,
    flags,
    keys: null,
    group: "string",
    summary: "",
    syntax: "",
    since: "1",
    handler,
  };
}

export function fakeServer(dataDir: string | null = null): FakeServer {
  const data = new Map<string, Uint8Array>();
  const table = buildTable([
    row("get", 2, ["readonly"], (_c, a) => data.get(dec.decode(a[1])) ?? null),
    row("set", -3, ["write"], async (_c, a) => {
      data.set(dec.decode(a[1]), a[2]!.slice());
      return OK;
    }),
    row("del", -2, ["write"], (_c, a) => (data.delete(dec.decode(a[1])) ? 1 : 0)),
    row("incr", 2, ["write"], async (_c, a) => {
      const v = Number(dec.decode(data.get(dec.decode(a[1])) ?? new Uint8Array([48])));
      if (!Number.isInteger(v))
        throw new RespError("ERR", "value is not an integer or out of range");
      data.set(dec.decode(a[1]), new TextEncoder().encode(String(v + 1)));
      return v + 1;
    }),
    row("hgetall", 2, ["readonly"], () => map([["f", "v"]])),
    row("double", 1, ["readonly"], () => double(1.5)),
    row("multi", 1, ["noscript"], () => OK),
  ]);
  const busy: (RespError | null)[] = [];
  const engine = new ScriptEngine({
    table,
    version: "7.0.15",
    dataDir,
    host: {
      atomically: async (_ctx, body) => await body(() => {}),
      execute: (ctx, row, args) => {
        try {
          // Rows of the table above, so their handler is a Handler.
          return (row as CommandSpec).handler!(ctx as Ctx, args);
        } catch (error) {
          if (error instanceof RespError) return error;
          throw error;
        }
      },
      busy: (_ctx, error) => busy.push(error),
      log: () => {},
    },
  });
  const ctx = { server: { table }, client: { protocol: 2, db: 0 } } as unknown as Ctx;
  const enc = (s: string) => new TextEncoder().encode(s);
  return {
    engine,
    ctx,
    data,
    busy,
    run: async (src, keys = [], argv = []) =>
      engine.eval(ctx, enc(src), keys.map(enc), argv.map(enc), false),
  };
}

/** A reply as comparable plain data: bytes as text, errors as their wire line. */
export function plain(reply: Reply): unknown {
  if (reply instanceof Uint8Array) return dec.decode(reply);
  if (reply instanceof RespError) return `-${reply.wireText}`;
  if (Array.isArray(reply)) return reply.map(plain);
  return reply;
}
