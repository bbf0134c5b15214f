/**
 * Per-request checks of a connection that need only the client and the command row: BUSY
 * while a script runs, queueing inside MULTI, and the refusals Redis gives a monitoring
 * client and a RESP2 subscriber.
 */
import type { ClientState as AnyClient } from "../commands/client-state.ts";
import type { CommandRow } from "../commands/row.ts";
import type { ClientState, CommandSpec } from "../commands/spec.ts";
import { RespError } from "../errors.ts";
import type { Command } from "../protocol/parser.ts";
import { QUEUED, type Reply } from "../protocol/reply.ts";
import type { Dispatcher } from "./dispatch.ts";

/**
 * A monitoring client may not touch the keyspace; Redis refuses it with this error because
 * it treats a monitor as a replica.
 */
export function refuseForMonitor<S extends CommandRow>(
  client: AnyClient,
  spec: S | RespError,
): S | RespError {
  if (!client.monitoring || spec instanceof RespError) return spec;
  if (!spec.flags.includes("write") && !spec.flags.includes("readonly")) return spec;
  return new RespError("ERR", "Replica can't interact with the keyspace");
}

/**
 * RESP2 subscriber mode: a client with subscriptions may only send rows marked
 * whileSubscribed ((un)subscribe, PING, QUIT, RESET); Redis's error names the command
 * (`client|id` for a subcommand).
 */
export function refuseForSubscriber<S extends CommandRow>(
  client: AnyClient,
  spec: S | RespError,
): S | RespError {
  if (!client.subscriptions || client.protocol !== 2) return spec;
  if (spec instanceof RespError || spec.whileSubscribed) return spec;
  return new RespError(
    "ERR",
    `Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
  );
}

/**
 * While a script is busy (`busy` set by the scripting host): the next request's BUSY error
 * (or its own lookup error), null for an allow_busy command that may run now, "wait" when no
 * script is busy or this is the script's own client (they wait for the gate as usual).
 */
export function busyRefusal(
  busy: { readonly error: RespError; readonly client: AnyClient } | null | undefined,
  client: AnyClient,
  dispatcher: Dispatcher,
  args: Command,
): Reply | "wait" | null {
  if (!busy || busy.client === client) return "wait";
  const found = dispatcher.lookup(args[0]!);
  const spec = dispatcher.resolve(found, args);
  if (spec instanceof RespError) return dispatcher.rejected(found, spec);
  if (spec.flags.includes("allow_busy")) return null;
  return dispatcher.rejected(found, busy.error);
}

/**
 * Inside MULTI a command is checked, not run: a bad one (unknown, wrong arity, not allowed)
 * is refused and dooms the transaction, as in Redis; a good one is queued.
 */
export function queueInMulti(
  client: ClientState,
  dispatcher: Dispatcher,
  found: CommandSpec | undefined,
  spec: CommandSpec | RespError,
  args: Uint8Array[],
): Reply {
  const tx = client.tx!;
  if (spec instanceof RespError) {
    tx.failed = true;
    return dispatcher.rejected(found, spec);
  }
  if (spec.flags.includes("no_multi")) {
    tx.failed = true;
    return dispatcher.rejected(
      found,
      new RespError("ERR", "Command not allowed inside a transaction"),
    );
  }
  tx.queued.push({ spec, args });
  return QUEUED;
}
