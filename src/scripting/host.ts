/**
 * The narrow interface scripting needs from the server (server/server.ts provides it), so the
 * Lua side never imports the server: run a body with no other client interleaved and its
 * writes committed together (EXEC's gate + Store.exclusive), run one command row as dispatch
 * does, and tell the connections when a script turns busy (they answer BUSY) or finishes.
 */
import type { ClientState } from "../commands/client-state.ts";
import type { CommandRow, CommandTableOf } from "../commands/row.ts";
import type { RespError } from "../errors.ts";
import type { Reply } from "../protocol/reply.ts";

/**
 * What scripting sees of the context a command runs in: the command table and the client.
 * The commands' ScriptCtx satisfies it; every ScriptCtx scripting hands back to the host (execute,
 * atomically, busy) is the caller's ScriptCtx or scriptCtx()'s child of it, never one made here.
 */
export interface ScriptCtx {
  readonly server: { readonly table: CommandTableOf };
  readonly client: ClientState;
  readonly inExec?: boolean;
  /**
   * Set on the ctx a run's commands see: the keys the script declared (EVAL's and FCALL's
   * numkeys) and whether its flags allow keys of other slots (allow-cross-slot-keys), for the
   * host's cluster checks (Redis's scriptVerifyClusterState).
   */
  readonly run?: { readonly declaredKeys: readonly Uint8Array[]; readonly crossSlot: boolean };
}

export interface ScriptHost {
  /**
   * Runs `body` with no other client's command interleaved. `body` calls `beginWrites()` before
   * its first write: from then on its writes go through the store's overlay and commit together
   * (EXEC's mechanism). A body that never waits and never writes runs as a plain synchronous
   * call, and its reply is returned as is.
   */
  atomically(
    ctx: ScriptCtx,
    body: (beginWrites: () => void) => Reply | Promise<Reply>,
  ): Reply | Promise<Reply>;
  execute(ctx: ScriptCtx, spec: CommandRow, args: Uint8Array[]): Reply | Promise<Reply>;
  /**
   * The script started by `ctx` went past the busy threshold (`error` is the BUSY others get),
   * or finished (null). Called from inside the running script: must not run other commands.
   */
  busy(ctx: ScriptCtx, error: RespError | null): void;
  log(level: number, text: string): void;
}

/** BUSY, as Redis words it for EVAL scripts and for functions. */
export const BUSY_SCRIPT =
  "Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
export const BUSY_FUNCTION =
  "Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
