/**
 * The per-command permission check dispatch runs once per request (design rule 2): NOAUTH
 * until the client has authenticated (rows flagged `noauth` excepted), then the user's
 * command and key permissions, with denials recorded in ACL LOG. It reads the row's flags and
 * key range, never command names. A client of a user allowed everything costs one branch.
 */
import type { ClientState, CommandSpec } from "../commands/spec.ts";
import { RespError } from "../errors.ts";
import type { Acl } from "./acl.ts";
import type { AclUser } from "./user.ts";

export const NOAUTH = new RespError("NOAUTH", "Authentication required.");
export const NOPERM_KEY = new RespError("NOPERM", "No permissions to access a key");

export function noPermCommand(user: AclUser, spec: CommandSpec): RespError {
  return new RespError(
    "NOPERM",
    `User ${user.name} has no permissions to run the '${spec.name}' command`,
  );
}

/** The key arguments of a row, by its {first, last, step} range. */
export function keysOf(spec: CommandSpec, args: readonly Uint8Array[]): Uint8Array[] {
  const k = spec.keys;
  if (!k) return [];
  const last = k.last < 0 ? args.length + k.last : k.last;
  const out: Uint8Array[] = [];
  for (let i = k.first; i <= last && i < args.length; i += k.step) out.push(args[i]!);
  return out;
}

export type Denial = { reason: "command" | "key"; object: string; error: RespError };

/** Why `user` may not run this request, or null. Pure: logging is the caller's choice. */
export function permission(
  user: AclUser,
  spec: CommandSpec,
  args: readonly Uint8Array[],
): Denial | null {
  if (user.full || spec.flags.includes("noauth")) return null;
  if (!user.canRun(spec))
    return { reason: "command", object: spec.name, error: noPermCommand(user, spec) };
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
  spec: CommandSpec,
  args: readonly Uint8Array[],
  describeClient: (c: ClientState) => string,
): RespError | null {
  if (!client.authenticated) return spec.flags.includes("noauth") ? null : NOAUTH;
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
