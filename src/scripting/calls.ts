/**
 * What redis.call may run, with Redis 7's refusals: unknown commands, wrong arity, commands
 * flagged noscript, and writes from read-only scripts (EVAL_RO, FCALL_RO, no-writes). The
 * script's commands run on their own client view (Redis's script client): SELECT inside a
 * script changes the script's database only, and the reply protocol is the script's setresp().
 */
import type { ClientState } from "../commands/client-state.ts";
import type { CommandRow, CommandTableOf } from "../commands/row.ts";
import { RespError } from "../errors.ts";
import type { Reply } from "../protocol/reply.ts";
import type { ScriptCtx } from "./host.ts";
import type { RunState } from "./runner.ts";

export type Execute = (
  ctx: ScriptCtx,
  spec: CommandRow,
  args: Uint8Array[],
) => Reply | Promise<Reply>;

/**
 * The ctx commands of one run see: a child of the caller's client with its own db, no MULTI
 * queue, and the script's protocol (kept in step with setresp() by commandRunner).
 */
export function scriptCtx(ctx: ScriptCtx, run: ScriptCtx["run"]): ScriptCtx {
  const client = Object.create(ctx.client) as ClientState;
  client.tx = null;
  client.protocol = 2;
  return { server: ctx.server, client, inExec: true, run };
}

export function commandRunner(
  table: CommandTableOf,
  execute: Execute,
  ctx: ScriptCtx,
  state: RunState,
  readOnly: boolean,
): (args: Uint8Array[]) => Reply | Promise<Reply> {
  return (args) => {
    const spec = resolve(table, args);
    if (spec instanceof RespError) return spec;
    if (spec.flags.includes("noscript")) {
      return new RespError("ERR", "This Redis command is not allowed from script");
    }
    if (spec.flags.includes("write")) {
      if (readOnly) {
        return new RespError("ERR", "Write commands are not allowed from read-only scripts.");
      }
      state.wrote = true;
      state.beginWrites();
    }
    ctx.client.protocol = state.resp;
    return execute(ctx, spec, args);
  };
}

function resolve(table: CommandTableOf, args: Uint8Array[]): CommandRow | RespError {
  const spec = table.get(lower(args[0]!));
  if (!spec) return unknownCommand();
  if (!arityOk(spec.arity, args.length)) return wrongArity();
  if (!spec.subcommands) return spec;
  if (args.length < 2) return spec.handler ? spec : wrongArity();
  const sub = table.sub(spec, lower(args[1]!));
  if (!sub) return unknownCommand();
  if (!arityOk(sub.arity, args.length)) return wrongArity();
  return sub;
}

const unknownCommand = () => new RespError("ERR", "Unknown Redis command called from script");
const wrongArity = () =>
  new RespError("ERR", "Wrong number of args calling Redis command from script");

function arityOk(arity: number, argc: number): boolean {
  return arity > 0 ? argc === arity : argc >= -arity;
}

/** Lower-case ASCII name of a command (names are short; longer input matches nothing). */
function lower(bytes: Uint8Array): string {
  if (bytes.length > 64) return "";
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    out += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return out;
}
