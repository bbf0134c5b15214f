/**
 * What the EVAL and FCALL families share: the server's ScriptEngine, and the
 * `numkeys key... arg...` split with Redis's checks (also used for their key positions).
 */
import { RespError } from "../../errors.ts";
import type { ScriptEngine } from "../../scripting/engine.ts";
import { integer } from "../args.ts";
import type { ScriptAdminCtx } from "../spec.ts";

export function engine(ctx: ScriptAdminCtx): ScriptEngine {
  const scripting = ctx.server.scripting;
  if (!scripting) throw new RespError("ERR", "scripting is not available on this server");
  return scripting;
}

/** Splits `numkeys key... arg...` (args[2] on) as EVAL and FCALL do. */
export function splitKeys(args: Uint8Array[]): { keys: Uint8Array[]; argv: Uint8Array[] } {
  const numkeys = integer(args[2]!);
  if (numkeys < 0) throw new RespError("ERR", "Number of keys can't be negative");
  if (numkeys > args.length - 3) {
    throw new RespError("ERR", "Number of keys can't be greater than number of args");
  }
  return { keys: args.slice(3, 3 + numkeys), argv: args.slice(3 + numkeys) };
}

/** Key positions of a numkeys command (COMMAND GETKEYS, cluster routing): args[3 .. 3+numkeys). */
export function numkeysPositions(args: readonly Uint8Array[]): number[] {
  if (args.length < 3) return [];
  let numkeys: number;
  try {
    numkeys = integer(args[2]!);
  } catch {
    return [];
  }
  if (numkeys < 0 || numkeys > args.length - 3) return [];
  return Array.from({ length: numkeys }, (_, i) => 3 + i);
}
