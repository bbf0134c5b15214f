/**
 * One ACL user: enabled or not, its password hashes (SHA-256 hex, never the passwords), the
 * commands it may run (leaf row names such as `get` or `client|list`) and the key patterns it
 * may read or write. Rules (`on`, `>pass`, `+@read`, `~user:*`, `%R~x`, …) are applied in the
 * order given, as Redis does; `describe()` renders the user back in Redis's ACL LIST syntax.
 * This file knows nothing about sockets, config files or the ACL command.
 */

import { globMatch } from "../commands/glob.ts";
import type { CommandRow } from "../commands/row.ts";
import { isCategory, leafRows, rowsIn } from "./categories.ts";

export interface KeyPattern {
  readonly pattern: string;
  readonly bytes: Uint8Array;
  readonly read: boolean;
  readonly write: boolean;
}

/** A rule Redis refuses; `reason` is the part after "modifier '<op>': ". */
export class AclRuleError extends Error {
  constructor(
    readonly op: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const encoder = new TextEncoder();

export function sha256Hex(password: string | Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(password).digest("hex");
}

/** Rows the command rules resolve against: the one command table. */
export interface RuleTable {
  readonly all: readonly CommandRow[];
  get(name: string): CommandRow | undefined;
  sub(parent: CommandRow, name: string): CommandRow | undefined;
}

export class AclUser {
  enabled = false;
  nopass = false;
  readonly passwords = new Set<string>();
  /** Leaf row names this user may run. */
  readonly commands = new Set<string>();
  /** The command rules as given after the last +@all/-@all, for ACL LIST. */
  private commandRules: string[] = ["-@all"];
  keys: KeyPattern[] = [];
  channels: string[] = [];
  /** True when every command, key and channel is allowed: dispatch's one-branch fast path. */
  full = false;

  constructor(readonly name: string) {}

  /** Applies one rule; throws AclRuleError with Redis's reason when it is not valid. */
  apply(rule: string, table: RuleTable): void {
    const lower = rule.toLowerCase();
    if (lower === "on") this.enabled = true;
    else if (lower === "off") this.enabled = false;
    else if (lower === "nopass") {
      this.nopass = true;
      this.passwords.clear();
    } else if (lower === "resetpass") {
      this.nopass = false;
      this.passwords.clear();
    } else if (rule.startsWith(">")) {
      this.passwords.add(sha256Hex(rule.slice(1)));
      this.nopass = false;
    } else if (rule.startsWith("#")) {
      const hash = rule.slice(1).toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(hash))
        throw new AclRuleError(
          rule,
          "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
        );
      this.passwords.add(hash);
      this.nopass = false;
    } else if (rule.startsWith("<")) {
      this.passwords.delete(sha256Hex(rule.slice(1)));
    } else if (rule.startsWith("!")) {
      this.passwords.delete(rule.slice(1).toLowerCase());
    } else if (lower === "allkeys" || rule === "~*") this.keys = [pattern("*", true, true)];
    else if (lower === "resetkeys") this.keys = [];
    else if (rule.startsWith("~")) this.addKeys(rule.slice(1), true, true);
    else if (rule.startsWith("%")) this.percentKeys(rule);
    else if (lower === "allchannels" || rule === "&*") this.channels = ["*"];
    else if (lower === "resetchannels") this.channels = [];
    else if (rule.startsWith("&")) this.channels.push(rule.slice(1));
    else if (lower === "allcommands") this.commandRule("+@all", table);
    else if (lower === "nocommands") this.commandRule("-@all", table);
    else if (rule.startsWith("+") || rule.startsWith("-")) this.commandRule(rule, table);
    else if (lower === "reset") this.reset();
    else throw new AclRuleError(rule, "Syntax error");
    this.full = this.computeFull(table);
  }

  /** `reset`: back to a new user's state (off, no passwords, no commands, no keys). */
  reset(): void {
    this.enabled = false;
    this.nopass = false;
    this.passwords.clear();
    this.commands.clear();
    this.commandRules = ["-@all"];
    this.keys = [];
    this.channels = [];
    this.full = false;
  }

  private addKeys(glob: string, read: boolean, write: boolean): void {
    if (this.keys.some((k) => k.pattern === "*" && k.read && k.write)) return;
    this.keys.push(pattern(glob, read, write));
  }

  private percentKeys(rule: string): void {
    const tilde = rule.indexOf("~");
    const perms = tilde < 0 ? "" : rule.slice(1, tilde).toUpperCase();
    if (tilde < 0 || perms.length === 0 || /[^RW]/.test(perms))
      throw new AclRuleError(rule, "Syntax error");
    this.addKeys(rule.slice(tilde + 1), perms.includes("R"), perms.includes("W"));
  }

  private commandRule(rule: string, table: RuleTable): void {
    const allow = rule[0] === "+";
    const what = rule.slice(1).toLowerCase();
    let rows: CommandRow[];
    if (what.startsWith("@")) {
      if (!isCategory(what.slice(1)))
        throw new AclRuleError(rule, "Unknown command or category name in ACL");
      rows = rowsIn(table.all, what.slice(1));
    } else {
      const [parentName, subName] = what.split("|");
      const parent = table.get(parentName ?? "");
      if (!parent) throw new AclRuleError(rule, "Unknown command or category name in ACL");
      if (subName !== undefined) {
        const sub = table.sub(parent, subName);
        if (!sub) throw new AclRuleError(rule, "Unknown command or category name in ACL");
        rows = [sub];
      } else rows = leafRows([parent]);
    }
    for (const row of rows) {
      if (allow) this.commands.add(row.name);
      else this.commands.delete(row.name);
    }
    if (what === "@all") this.commandRules = [allow ? "+@all" : "-@all"];
    else this.commandRules.push(`${rule[0]}${what}`);
  }

  private computeFull(table: RuleTable): boolean {
    if (!this.channels.includes("*")) return false;
    const allKeys = this.keys.some((k) => k.pattern === "*" && k.read && k.write);
    if (!allKeys) return false;
    return this.commandRules[0] === "+@all" && this.commandRules.length === 1
      ? true
      : leafRows(table.all).every((r) => this.commands.has(r.name));
  }

  /** A copy to apply rules to, so a SETUSER with a bad rule changes nothing (Redis's rule). */
  clone(name = this.name): AclUser {
    const u = new AclUser(name);
    u.enabled = this.enabled;
    u.nopass = this.nopass;
    for (const p of this.passwords) u.passwords.add(p);
    for (const c of this.commands) u.commands.add(c);
    u.commandRules = [...this.commandRules];
    u.keys = [...this.keys];
    u.channels = [...this.channels];
    u.full = this.full;
    return u;
  }

  /** True when `password` is one of this user's (or the user has nopass). */
  checkPassword(password: Uint8Array | string): boolean {
    if (this.nopass) return true;
    return this.passwords.size > 0 && this.passwords.has(sha256Hex(password));
  }

  canRun(spec: CommandRow): boolean {
    return this.commands.has(spec.name);
  }

  /** Whether `key` is covered by a pattern granting what the command needs. */
  canAccess(key: Uint8Array, read: boolean, write: boolean): boolean {
    for (const k of this.keys) {
      if ((read && !k.read) || (write && !k.write)) continue;
      if (k.pattern === "*" || globMatch(k.bytes, key)) return true;
    }
    return false;
  }

  /**
   * Whether the user may use `channel` (Redis's ACLCheckChannelAgainstList): a glob match for
   * a channel, an exact match for a PSUBSCRIBE pattern (`literal`); `&*` allows everything.
   */
  canUseChannel(channel: Uint8Array, literal: boolean): boolean {
    for (const c of this.channels) {
      if (c === "*") return true;
      const bytes = encoder.encode(c);
      if (literal) {
        if (bytes.length === channel.length && bytes.every((b, i) => b === channel[i])) return true;
      } else if (globMatch(bytes, channel)) return true;
    }
    return false;
  }

  /** The user as ACL LIST shows it, after `user <name>`. */
  describe(): string {
    const parts: string[] = [this.enabled ? "on" : "off"];
    if (this.nopass) parts.push("nopass");
    for (const hash of this.passwords) parts.push(`#${hash}`);
    for (const k of this.keys) parts.push(keyText(k));
    parts.push(
      this.channels.length === 0 ? "resetchannels" : this.channels.map((c) => `&${c}`).join(" "),
    );
    parts.push(this.commandText());
    return parts.join(" ");
  }

  /** The command rules as Redis prints them (`+@all`, `-@all +get`). */
  commandText(): string {
    return this.commandRules.join(" ");
  }

  keysText(): string {
    return this.keys.map(keyText).join(" ");
  }

  flags(): string[] {
    const out = [this.enabled ? "on" : "off"];
    if (this.nopass) out.push("nopass");
    return out;
  }
}

function pattern(glob: string, read: boolean, write: boolean): KeyPattern {
  return { pattern: glob, bytes: encoder.encode(glob), read, write };
}

function keyText(k: KeyPattern): string {
  if (k.read && k.write) return `~${k.pattern}`;
  return `%${k.read ? "R" : ""}${k.write ? "W" : ""}~${k.pattern}`;
}
