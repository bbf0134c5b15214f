/**
 * Running commands with no other client's command interleaved: EXEC's queue, and the host
 * the Lua engine runs scripts through (scripting/host.ts). Both hold every other client at the
 * connection gate and commit their writes together through the store's overlay.
 */

import type { Cluster } from "../cluster/cluster.ts";
import { keySlot } from "../cluster/slots.ts";
import type {
  ClientState,
  CommandSpec,
  Ctx,
  QueuedCommand,
  ServerContext,
} from "../commands/spec.ts";
import { keyPositionsOf } from "../commands/table.ts";
import { errors, RespError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Reply } from "../protocol/reply.ts";
import type { ScriptCtx, ScriptHost } from "../scripting/host.ts";
import type { Store } from "../storage/api.ts";
import type { ExecGate } from "./connection.ts";
import type { Dispatcher } from "./dispatch.ts";

/**
 * EXEC: runs the queue with every other client held at the gate, every write going through
 * the store's overlay (so later commands see earlier ones), then commits them together.
 */
export function execRunner(
  context: ServerContext,
  store: Store,
  dispatcher: Dispatcher,
  gate: ExecGate,
): (ctx: Ctx, queued: readonly QueuedCommand[]) => Promise<Reply> {
  return async (ctx, queued) => {
    gate.owner = ctx.client;
    try {
      const { result, failed } = await store.exclusive(async () => {
        const replies: Reply[] = [];
        const execCtx = { ...ctx, inExec: true };
        for (const { spec, args } of queued) {
          // ACL rules are checked again at EXEC, as Redis does (they may have changed).
          const denied = context.security?.recheck(ctx.client, spec, args) ?? null;
          replies.push(denied ?? (await dispatcher.execute(execCtx, spec, args)));
        }
        return replies;
      });
      return failed ? errors.storage() : result;
    } finally {
      gate.owner = null;
      for (const wake of gate.waiters.splice(0)) wake();
    }
  };
}

/**
 * Scripts run like EXEC: once a script waits (for a command's reply or to let the loop turn
 * when busy), every other client is held at the gate, its own later requests too (the gate's
 * owner is a stand-in for the script); from its first write, its writes go through the
 * overlay and commit together. A script that neither waits nor writes runs as one plain
 * synchronous call, which nothing can interleave with. Inside EXEC the transaction already
 * holds the gate.
 */
export function scriptHost(
  store: Store,
  dispatcher: Dispatcher,
  gate: ExecGate,
  log: Logger,
  cluster?: Cluster,
): ScriptHost {
  // Per run (keyed by the run's client view): the slot its keys must hash to in cluster mode.
  const runs = new WeakMap<object, { slot: number; crossSlot: boolean }>();
  return {
    atomically: (ctx, body) => {
      if (ctx.inExec) return body(() => {});
      let section: Promise<{ failed: boolean }> | null = null;
      let endSection = () => {};
      const beginWrites = () => {
        if (section) return;
        section = store.exclusive(
          () =>
            new Promise<void>((resolve) => {
              endSection = resolve;
            }),
        );
      };
      let result: Reply | Promise<Reply>;
      try {
        result = body(beginWrites);
      } catch (error) {
        endSection();
        throw error;
      }
      // A script that neither waited nor wrote ran with nothing else interleaved: done.
      if (!(result instanceof Promise) && !section) return result;
      gate.owner = Object.create(ctx.client) as ClientState;
      return (async () => {
        try {
          const reply = await result;
          endSection();
          // (A cast: TypeScript cannot see that beginWrites may have set it.)
          const pending = section as Promise<{ failed: boolean }> | null;
          const failed = pending ? (await pending).failed : false;
          return failed ? errors.storage() : reply;
        } finally {
          endSection();
          gate.owner = null;
          gate.busy = null;
          for (const wake of gate.waiters.splice(0)) wake();
        }
      })();
    },
    execute: (scriptCtx, row, args) => {
      // Scripting hands back only the Ctx it was given (or its child made by scriptCtx())
      // and rows of this server's table (scripting/host.ts), so these are the full types.
      const ctx = scriptCtx as Ctx;
      const spec = row as CommandSpec;
      const admitted = dispatcher.authorize(ctx, spec, args);
      if (admitted instanceof RespError) return admitted;
      if (cluster) {
        const refused = clusterCheck(cluster, runs, scriptCtx, spec, args);
        if (refused !== null) return refused;
      }
      return dispatcher.execute(ctx, spec, args);
    },
    busy: (ctx, error) => {
      gate.busy = error ? { error, client: ctx.client } : null;
      // Held clients get BUSY now rather than after the script; woken once the script has
      // yielded (this runs inside it), never from within it.
      if (error)
        queueMicrotask(() => {
          for (const wake of gate.waiters.splice(0)) wake();
        });
    },
    log: (level, text) => {
      if (level >= 3) log.warn(`script: ${text}`);
      else if (level === 2) log.info(`script: ${text}`);
      else log.debug(`script: ${text}`);
    },
  };
}

/** The keys of one command a script runs, checked as Redis's scriptVerifyClusterState does. */
function clusterCheck(
  cluster: Cluster,
  runs: WeakMap<object, { slot: number; crossSlot: boolean }>,
  scriptCtx: ScriptCtx,
  spec: CommandSpec,
  args: Uint8Array[],
): RespError | null {
  const keys = keyPositionsOf(spec, args).map((i) => args[i]!);
  if (keys.length === 0) return null;
  let run = runs.get(scriptCtx.client);
  if (!run) {
    // The declared keys were routed with EVAL/FCALL itself: one slot, served here.
    const declared = scriptCtx.run?.declaredKeys ?? [];
    run = {
      slot: declared.length > 0 ? keySlot(declared[0]!) : -1,
      crossSlot: scriptCtx.run?.crossSlot ?? false,
    };
    runs.set(scriptCtx.client, run);
  }
  return cluster.scriptRoute(spec.name, keys, run);
}
