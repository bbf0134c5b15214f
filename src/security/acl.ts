/**
 * The ACL: every user by name, the default user, and the ACL file. Users come from the config
 * (`requirepass`, `users = [...]`) or from an ACL file in Redis's syntax (`user <name> <rules>`
 * lines), never both, as in Redis. Passwords are kept as SHA-256 hashes only. SETUSER applies
 * its rules to a copy first, so a bad rule changes nothing.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Config } from "../config/index.ts";
import { AclLog } from "./acl-log.ts";
import { AclRuleError, AclUser, type RuleTable } from "./user.ts";

/** Splits rule text on spaces (the ACL file and `users` entries have no quoting). */
export function splitRules(text: string): string[] {
  return text
    .trim()
    .split(/\s+/)
    .filter((r) => r.length > 0);
}

/** The password requirepass / requirepass_env give the default user, if any. */
export function configuredPassword(
  config: Config,
  env: Record<string, string | undefined>,
): string | null {
  if (config.requirepassEnv !== null) {
    const fromEnv = env[config.requirepassEnv];
    if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  }
  return config.requirepass;
}

export class Acl {
  readonly users = new Map<string, AclUser>();
  readonly log = new AclLog();
  /** Called with every user replaced or removed, so its clients can be disconnected. */
  onRemoved: (user: AclUser) => void = () => {};

  constructor(
    private readonly table: RuleTable,
    readonly file: string | null,
    /** The plain requirepass, kept only because CONFIG GET requirepass returns it (as Redis). */
    public requirepass: string | null,
  ) {
    this.users.set("default", this.newDefault());
  }

  static fromConfig(config: Config, table: RuleTable, env = process.env): Acl {
    if (config.aclfile !== null && config.users.length > 0)
      throw new Error(
        "Configuring users in the config file (users) and an ACL file (aclfile) at the same time is invalid; use one of them",
      );
    const acl = new Acl(table, config.aclfile, configuredPassword(config, env));
    if (config.aclfile !== null) acl.loadFile();
    for (const line of config.users) {
      const [name, ...rules] = splitRules(line);
      if (name === undefined) continue;
      acl.setUser(name, rules);
    }
    return acl;
  }

  get defaultUser(): AclUser {
    return this.users.get("default")!;
  }

  /** `on nopass ~* &* +@all`, or with the requirepass password instead of nopass. */
  private newDefault(): AclUser {
    const u = new AclUser("default");
    for (const r of ["on", "~*", "&*", "+@all"]) u.apply(r, this.table);
    u.apply(this.requirepass === null ? "nopass" : `>${this.requirepass}`, this.table);
    return u;
  }

  /** CONFIG SET requirepass: "" makes the default user nopass again, as Redis does. */
  setRequirepass(password: string): void {
    const d = this.defaultUser;
    d.apply("resetpass", this.table);
    d.apply(password === "" ? "nopass" : `>${password}`, this.table);
    this.requirepass = password === "" ? null : password;
  }

  /** Creates or modifies a user; throws AclRuleError (nothing changed) on a bad rule. */
  setUser(name: string, rules: readonly string[]): AclUser {
    const current = this.users.get(name);
    const draft = current ? current.clone() : new AclUser(name);
    for (const rule of rules) draft.apply(rule, this.table);
    if (current) this.copyInto(current, draft);
    else this.users.set(name, draft);
    return this.users.get(name)!;
  }

  /** Updates in place: authenticated clients keep pointing at the same object. */
  private copyInto(target: AclUser, source: AclUser): void {
    target.reset();
    Object.assign(target, source.clone(target.name));
  }

  /** Removes users (never `default`); returns how many existed. */
  deleteUsers(names: readonly string[]): number {
    let n = 0;
    for (const name of names) {
      const u = this.users.get(name);
      if (!u) continue;
      this.users.delete(name);
      this.onRemoved(u);
      n++;
    }
    return n;
  }

  /** The user when the name and password match an enabled user; null otherwise. */
  authenticate(name: string, password: Uint8Array | string): AclUser | null {
    const u = this.users.get(name);
    if (!u?.enabled) return null;
    return u.checkPassword(password) ? u : null;
  }

  /** `user <name> <rules>` lines for ACL LIST and ACL SAVE, sorted by name (default first). */
  list(): string[] {
    const names = [...this.users.keys()].sort();
    return names.map((n) => `user ${n} ${this.users.get(n)!.describe()}`);
  }

  /** Parses ACL file text into users; throws Error naming the line of the first problem. */
  parseFile(text: string, path: string): Map<string, AclUser> {
    const users = new Map<string, AclUser>();
    const lines = text.split("\n");
    for (const [i, raw] of lines.entries()) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const [word, name, ...rules] = splitRules(line);
      const where = `${path}:${i + 1}`;
      if (word !== "user" || name === undefined)
        throw new Error(`${where}: should start with user keyword`);
      if (users.has(name)) throw new Error(`${where}: Duplicate user '${name}' found`);
      const u = new AclUser(name);
      try {
        for (const rule of rules) u.apply(rule, this.table);
      } catch (e) {
        if (!(e instanceof AclRuleError)) throw e;
        throw new Error(`${where}: Error in user declaration '${e.op}': ${e.reason}`);
      }
      users.set(name, u);
    }
    return users;
  }

  /** ACL LOAD: replaces every user with the file's (a file without `default` keeps the built-in one). */
  loadFile(): void {
    if (this.file === null)
      throw new Error(
        "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
      );
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && this.users.size <= 1) return;
      throw new Error(`Error loading ACLs, opening file '${this.file}': ${(e as Error).message}`);
    }
    const parsed = this.parseFile(text, this.file);
    const fresh = parsed.get("default") ?? this.newDefault();
    for (const [name, old] of this.users)
      if (name !== "default" && !parsed.has(name)) this.onRemoved(old);
    const oldDefault = this.defaultUser;
    this.copyInto(oldDefault, fresh);
    for (const [name, u] of parsed) {
      if (name === "default") continue;
      const existing = this.users.get(name);
      if (existing) this.copyInto(existing, u);
      else this.users.set(name, u);
    }
    for (const name of [...this.users.keys()])
      if (name !== "default" && !parsed.has(name)) this.users.delete(name);
  }

  /** ACL SAVE: writes every user to the ACL file through a temporary file and a rename. */
  saveFile(): void {
    if (this.file === null)
      throw new Error(
        "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
      );
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, `${this.list().join("\n")}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
