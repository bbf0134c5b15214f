/**
 * One server's security state, created by startServer() and handed to dispatch and the
 * connection layer: the ACL (users, default user, ACL LOG), the live client limits, and the
 * checks made when a client connects (protected mode) and authenticates (AUTH, HELLO AUTH).
 */
import type { ClientState } from "../commands/client-state.ts";
import type { CommandRow } from "../commands/row.ts";
import type { Config } from "../config/index.ts";
import { RespError } from "../errors.ts";
import { Acl } from "./acl.ts";
import { admit, recheckQueued } from "./guard.ts";
import { ClientLimits } from "./settings.ts";
import type { AclUser, RuleTable } from "./user.ts";

/** Redis 7's text, word for word (including its "Setup a an"). */
export const PROTECTED_MODE_DENIED =
  "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

export const WRONGPASS = new RespError(
  "WRONGPASS",
  "invalid username-password pair or user is disabled.",
);

export function isLoopback(address: string): boolean {
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  return a === "::1" || a.startsWith("127.") || a === "localhost";
}

export class Security {
  readonly acl: Acl;
  readonly limits: ClientLimits;

  constructor(
    config: Config,
    table: RuleTable,
    private readonly clients: ReadonlyMap<number, ClientState>,
    private readonly describeClient: (c: ClientState) => string = (c) =>
      `id=${c.id} addr=${c.addr}`,
    env: Record<string, string | undefined> = process.env,
  ) {
    this.acl = Acl.fromConfig(config, table, env);
    this.limits = new ClientLimits(config);
    this.acl.onRemoved = (user) => this.disconnectUser(user);
  }

  /** A new client is the default user, authenticated at once when that user needs no password. */
  welcome(client: ClientState): void {
    const d = this.acl.defaultUser;
    client.user = d;
    client.authenticated = d.nopass && d.enabled;
  }

  /** Protected mode: the DENIED line for a client from `address`, or null to accept it. */
  protectedDenial(address: string): string | null {
    if (!this.limits.protectedMode || !this.acl.defaultUser.nopass) return null;
    return isLoopback(address) ? null : PROTECTED_MODE_DENIED;
  }

  /** AUTH / HELLO AUTH: switches the client to the user, or throws WRONGPASS and logs it. */
  authenticate(client: ClientState, name: string, password: Uint8Array): void {
    const user = this.acl.authenticate(name, password);
    if (user === null) {
      this.acl.log.add({
        reason: "auth",
        context: client.tx ? "multi" : "toplevel",
        object: "AUTH",
        username: name,
        clientInfo: this.describeClient(client),
      });
      throw WRONGPASS;
    }
    client.user = user;
    client.authenticated = true;
  }

  /** Dispatch's guard: NOAUTH / NOPERM, or null to run the command. */
  admit(client: ClientState, spec: CommandRow, args: readonly Uint8Array[]): RespError | null {
    return admit(this.acl, client, spec, args, this.describeClient);
  }

  /** EXEC's re-check of a queued command; null = run it. */
  recheck(client: ClientState, spec: CommandRow, args: readonly Uint8Array[]): RespError | null {
    return recheckQueued(this.acl, client, spec, args, this.describeClient);
  }

  /** Redis disconnects the clients of a user that is deleted. */
  private disconnectUser(user: AclUser): void {
    for (const c of this.clients.values()) if (c.user === user) c.kill();
  }
}
