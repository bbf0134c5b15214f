/**
 * The per-command permission check dispatch runs once per request (design rule 2): NOAUTH
 * until the client has authenticated (rows flagged `no_auth` excepted), then the user's
 * command, key and channel permissions, with denials recorded in ACL LOG. It reads the row's
 * flags, key range and channel arguments, never command names. A client of a user allowed
 * everything costs one branch.
 */
import type { ClientState } from "../commands/client-state.ts";
import type { CommandRow } from "../commands/row.ts";
import { RespError } from "../errors.ts";
import type { Acl } from "./acl.ts";
import type { AclUser } from "./user.ts";

export const NOAUTH = new RespError("NOAUTH", "Authentication required.");
export const NOPERM_KEY = new RespError("NOPERM", "No permissions to access a key");
/** Redis 7.2+/8's text (7.0: "this user has no permissions to access one of the channels …"). */
export const NOPERM_CHANNEL = new RespError("NOPERM", "No permissions to access a channel");

export function noPermCommand(user: AclUser, spec: CommandRow): RespError {
  return new RespError(
    "NOPERM",
    `User ${user.name} has no permissions to run the '${spec.name}' command`,
  );
}

/** The key arguments of a row, by its {first, last, step} range. */
export function keysOf(spec: CommandRow, args: readonly Uint8Array[]): Uint8Array[] {
  const k = spec.keys;
  if (!k) return [];
  const last = k.last < 0 ? args.length + k.last : k.last;
  const out: Uint8Array[] = [];
  for (let i = k.first; i <= last && i < args.length; i += k.step) out.push(args[i]!);
  return out;
}

export type Denial = { reason: "command" | "key" | "channel"; object: string; error: RespError };

/** Why `user` may not run this request, or null. Pure: logging is the caller's choice. */
export function permission(
  user: AclUser,
  spec: CommandRow,
  args: readonly Uint8Array[],
): Denial | null {
  if (user.full || spec.flags.includes("no_auth")) return null;
  if (!user.canRun(spec))
    return { reason: "command", object: spec.name, error: noPermCommand(user, spec) };
  const ch = spec.channels;
  if (ch !== undefined) {
    const last = ch.one ? Math.min(ch.first, args.length - 1) : args.length - 1;
    for (let i = ch.first; i <= last; i++) {
      if (!user.canUseChannel(args[i]!, ch.pattern === true))
        return {
          reason: "channel",
          object: new TextDecoder().decode(args[i]!),
          error: NOPERM_CHANNEL,
        };
    }
  }
  const write = spec.flags.includes("write");
  const read = spec.flags.includes("readonly");
  if (!write && !read) return null;
  for (const key of keysOf(spec, args)) {
    if (!user.canAccess(key, read, write))
      return { reason: "key", object: new TextDecoder().decode(key), error: NOPERM_KEY };
  }
  return null;
}

/** Dispatch's check; null = run it. */
export function admit(
  acl: Acl,
  client: ClientState,
  spec: CommandRow,
  args: readonly Uint8Array[],
  describeClient: (c: ClientState) => string,
): RespError | null {
  if (!client.authenticated) return spec.flags.includes("no_auth") ? null : NOAUTH;
  const denial = permission(client.user!, spec, args);
  if (denial === null) return null;
  acl.log.add({
    reason: denial.reason,
    context: client.tx ? "multi" : "toplevel",
    object: denial.object,
    username: client.user!.name,
    clientInfo: describeClient(client),
  });
  return denial.error;
}

const EXEC_REASONS = {
  command: "no permission to execute the command or subcommand",
  key: "no permission to touch the specified keys",
  channel: "no permission to access one of the channels used as arguments",
} as const;

/**
 * EXEC's second check of each queued command (Redis's execCommand): the user's rules may have
 * changed since it was queued. A denied command gets Redis 7's error in its place in EXEC's
 * reply and an ACL LOG entry (context "multi"); the others still run. null = run it.
 */
export function recheckQueued(
  acl: Acl,
  client: ClientState,
  spec: CommandRow,
  args: readonly Uint8Array[],
  describeClient: (c: ClientState) => string,
): RespError | null {
  if (!client.authenticated || client.user === null || client.user === undefined) return null;
  const denial = permission(client.user, spec, args);
  if (denial === null) return null;
  acl.log.add({
    reason: denial.reason,
    context: "multi",
    object: denial.object,
    username: client.user.name,
    clientInfo: describeClient(client),
  });
  return new RespError(
    "NOPERM",
    `ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ${EXEC_REASONS[denial.reason]}`,
  );
}
