/**
 * Dispatch: the one place that turns a parsed request into a reply. It looks the command up
 * in the table, checks arity and subcommands, runs the handler, renders thrown errors in
 * Redis's words, and records per-command statistics. Handlers never repeat these guards.
 */
import type { ConsolaInstance } from "consola";
import { rawText } from "../commands/args.ts";
import { ks } from "../commands/db.ts";
import type { CommandSpec, CommandStat, Ctx, ServerContext } from "../commands/spec.ts";
import { keyPositionsOf } from "../commands/table.ts";
import { errors, RespError, StorageError } from "../errors.ts";
import { type ErrorKind, UNKNOWN_COMMAND } from "../metrics/registry.ts";
import type { Reply } from "../protocol/reply.ts";
import { redactArgs } from "../security/redact.ts";
import { CodecError } from "../storage/api.ts";

export class Dispatcher {
  constructor(
    private readonly server: ServerContext,
    private readonly log: ConsolaInstance,
  ) {}

  /** The row for a command name given as raw bytes (case-insensitive). */
  lookup(name: Uint8Array): CommandSpec | undefined {
    const key = lowerAscii(name);
    return this.server.table.get(key);
  }

  /** Resolves subcommands and checks arity; returns the leaf row or the error to send. */
  resolve(spec: CommandSpec | undefined, args: Uint8Array[]): CommandSpec | RespError {
    if (!spec) {
      return errors.unknownCommand(rawText(args[0]!), args.slice(1).map(rawText));
    }
    if (!arityOk(spec.arity, args.length)) return errors.wrongArity(spec.name);
    if (!spec.subcommands || (args.length === 1 && spec.handler)) return spec;
    const sub = this.server.table.sub(spec, lowerAscii(args[1]!));
    if (!sub) return errors.unknownSubcommand(rawText(args[1]!), spec.name);
    if (!arityOk(sub.arity, args.length)) return errors.wrongArity(sub.name);
    return sub;
  }

  /**
   * The auth and ACL guard (src/security), run once per request after resolve(): NOAUTH
   * before AUTH, NOPERM for what the user may not run or touch. A client whose user may do
   * everything passes on one branch, so a server without passwords or ACLs pays nothing.
   */
  admit(ctx: Ctx, spec: CommandSpec | RespError, args: Uint8Array[]): CommandSpec | RespError {
    const allowed = this.authorize(ctx, spec, args);
    if (this.server.cluster === undefined || allowed instanceof RespError) return allowed;
    return this.route(ctx, allowed, args);
  }

  /**
   * Cluster routing (Redis's getNodeByQuery), after auth as in Redis: the keys at the row's
   * key positions decide between running here and MOVED/ASK/CROSSSLOT/TRYAGAIN/CLUSTERDOWN.
   * EXEC checks the keys of every queued command together; refused, it discards the
   * transaction, as Redis does.
   */
  private route(ctx: Ctx, spec: CommandSpec, args: Uint8Array[]): CommandSpec | RespError {
    const client = ctx.client;
    const k = spec.keys;
    // The common case, a command with one key (GET, SET, HGET…): no arrays on the way.
    if (k !== null && k.first === k.last && spec.multi !== "exec" && !spec.movableKeys) {
      if (args.length <= k.first) return spec;
      const refused = this.server.cluster!.routeOne(
        client,
        spec,
        args[k.first]!,
        client.tx !== null,
      );
      return refused ?? spec;
    }
    const keys: Uint8Array[] = [];
    if (spec.multi === "exec" && client.tx) {
      for (const q of client.tx.queued)
        for (const i of keyPositionsOf(q.spec, q.args)) keys.push(q.args[i]!);
    } else for (const i of keyPositionsOf(spec, args)) keys.push(args[i]!);
    const refused = this.server.cluster!.route(client, spec, keys, client.tx !== null);
    if (refused === null) return spec;
    if (spec.multi === "exec") {
      client.tx = null;
      this.server.store.watches.unwatchAll(client.watcher);
    }
    return refused;
  }

  /** ACL check alone (no routing): also what redis.call runs for a script's commands. */
  authorize(ctx: Ctx, spec: CommandSpec | RespError, args: Uint8Array[]): CommandSpec | RespError {
    const client = ctx.client;
    if (client.authenticated === true && client.user!.full) return spec;
    const security = this.server.security;
    if (security === undefined || spec instanceof RespError) return spec;
    return security.admit(client, spec, args) ?? spec;
  }

  /** Runs a resolved command. Never throws: every failure becomes an error reply. */
  execute(ctx: Ctx, spec: CommandSpec, args: Uint8Array[]): Reply | Promise<Reply> {
    const stat = this.statFor(spec.name);
    const started = performance.now();
    ctx.client.lastCommand = spec.name;
    this.server.stats.commandsProcessed++;
    let result: Reply | Promise<Reply>;
    try {
      // Keyspace notifications and client tracking (src/pubsub): one branch while both are off.
      const pubsub = this.server.pubsub;
      if (pubsub?.hooked) {
        const view = {
          client: ctx.client,
          inExec: ctx.inExec,
          exists: (key: Uint8Array) => ks(ctx).entry(key) !== null,
        };
        const pre = pubsub.before(view, spec, args);
        let out: Reply | Promise<Reply>;
        try {
          out = spec.handler!(ctx, args);
        } catch (error) {
          // Keys its lookups found expired were removed: their held events still go out.
          pubsub.abandon(pre);
          throw error;
        }
        result = pubsub.after(view, spec, args, out, pre);
      } else result = spec.handler!(ctx, args);
    } catch (error) {
      this.observe(ctx, spec, args, stat, started);
      if (this.server.monitors.active) this.monitor(ctx, spec, args, null);
      return this.failure(spec, stat, error);
    }
    if (this.server.monitors.active) this.monitor(ctx, spec, args, result);
    if (result instanceof Promise) {
      // The slow log, like Redis's, counts execution only, not the wait for a group commit.
      const execUsec = (performance.now() - started) * 1000;
      return result.then(
        (reply) => this.finish(ctx, spec, args, stat, started, reply, execUsec),
        (error) => {
          this.observe(ctx, spec, args, stat, started, execUsec);
          return this.failure(spec, stat, error);
        },
      );
    }
    return this.finish(ctx, spec, args, stat, started, result);
  }

  /** Counts a reply that never reached a handler (unknown command, arity, protocol). */
  rejected(spec: CommandSpec | undefined, error: RespError): RespError {
    if (spec) this.statFor(spec.name).rejectedCalls++;
    this.server.metrics?.commandRejected(spec?.name ?? UNKNOWN_COMMAND);
    this.countError(error);
    return error;
  }

  private finish(
    ctx: Ctx,
    spec: CommandSpec,
    args: Uint8Array[],
    stat: CommandStat,
    started: number,
    reply: Reply,
    execUsec?: number,
  ): Reply {
    this.observe(ctx, spec, args, stat, started, execUsec);
    if (reply instanceof RespError) {
      stat.failedCalls++;
      this.countError(reply);
    }
    return reply;
  }

  /** One clock read feeds commandstats, the Prometheus histogram and the slow log. */
  private observe(
    ctx: Ctx,
    spec: CommandSpec,
    args: Uint8Array[],
    stat: CommandStat,
    started: number,
    execUsec?: number,
  ): void {
    const usec = (performance.now() - started) * 1000;
    stat.calls++;
    stat.usec += usec;
    this.server.metrics?.commandDone(spec.name, usec / 1e6);
    const slowlog = this.server.stats.slowlog;
    const slow = execUsec ?? usec;
    if (slowlog.wants(slow) && !spec.flags.includes("skip_slowlog"))
      slowlog.record(redactArgs(spec, args), slow, ctx.client);
  }

  /**
   * Shows the command to MONITOR once it has run (a write's commit may still be pending, but
   * its place in the order is fixed); EXEC after the commands it ran, as in Redis.
   */
  private monitor(ctx: Ctx, spec: CommandSpec, args: Uint8Array[], result: Reply | Promise<Reply>) {
    const feed = () => this.server.monitors.feed(ctx.client, spec, args);
    if (spec.multi === "exec" && result instanceof Promise) result.then(feed, feed);
    else feed();
  }

  private failure(spec: CommandSpec, stat: CommandStat, error: unknown): RespError {
    stat.failedCalls++;
    let reply: RespError;
    let kind: ErrorKind = "command";
    if (error instanceof RespError) reply = error;
    else if (error instanceof StorageError || error instanceof CodecError) {
      this.log.error(`${spec.name}: ${describe(error)}`);
      reply = errors.storage();
      kind = "storage";
    } else {
      this.log.error(`${spec.name}: unexpected error`, error);
      reply = new RespError("ERR", "internal error; see the server log");
    }
    this.countError(reply, kind);
    return reply;
  }

  private countError(error: RespError, kind: ErrorKind = "command"): void {
    this.server.metrics?.error(kind);
    const stats = this.server.stats;
    stats.errorReplies++;
    stats.errorsByCode.set(error.code, (stats.errorsByCode.get(error.code) ?? 0) + 1);
  }

  private statFor(name: string): CommandStat {
    let stat = this.server.stats.commands.get(name);
    if (!stat) {
      stat = { calls: 0, usec: 0, rejectedCalls: 0, failedCalls: 0 };
      this.server.stats.commands.set(name, stat);
    }
    return stat;
  }
}

function describe(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  const shard = error instanceof StorageError ? ` (shard ${error.shard}, ${error.operation})` : "";
  return `${error.message}${shard}${cause ? `: ${String((cause as Error).message ?? cause)}` : ""}`;
}

function arityOk(arity: number, argc: number): boolean {
  return arity > 0 ? argc === arity : argc >= -arity;
}

function lowerAscii(bytes: Uint8Array): string {
  if (bytes.length > 64) return "";
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    let c = bytes[i]!;
    if (c >= 65 && c <= 90) c += 32;
    out += String.fromCharCode(c);
  }
  return out;
}
