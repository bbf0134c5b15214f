/**
 * CONFIG GET, SET, RESETSTAT, REWRITE and HELP over the parameter registry (config-params.ts).
 *
 * SET is all or nothing, as in Redis 7: every pair is looked up and checked before any is
 * applied, with Redis's error texts. GET takes several glob patterns and lists every registry
 * parameter and alias under Redis's names, plus this server's own config-file keys under their
 * dotted TOML names (read-only). REWRITE writes the parameters changed at run time back to the
 * config file, editing only their lines so comments survive (src/config/rewrite.ts), or refuses
 * without writing anything when a live one has no config-file key (the slow-log and hash
 * encoding limits); knobs with no effect are left out.
 */
import { configKeys } from "../../config/index.ts";
import { rewriteConfigFile } from "../../config/rewrite.ts";
import { errors, RespError, sanitizeLine } from "../../errors.ts";
import { map, OK, type Reply, simple } from "../../protocol/reply.ts";
import { text } from "../args.ts";
import { globMatch } from "../glob.ts";
import type { RowDefaults } from "../rows.ts";
import type { CommandSpec, Ctx, ServerContext } from "../spec.ts";
import { ConfigReject, configParams, findParam } from "./registry.ts";

const encoder = new TextEncoder();

function failed(arg: string, why: string): RespError {
  return new RespError(
    "ERR",
    `CONFIG SET failed (possibly related to argument '${sanitizeLine(arg)}') - ${why}`,
  );
}

function configSet(ctx: Ctx, args: Uint8Array[]): Reply {
  // Redis: a name without its value (past the arity check) is a syntax error.
  if (args.length % 2 !== 0) throw errors.syntax();
  const s = ctx.server;
  const seen = new Set<string>();
  const apply: (() => void)[] = [];
  // First every name (unknown, immutable, duplicate), then every value, then apply all.
  const pairs: [string, string, NonNullable<ReturnType<typeof findParam>>][] = [];
  for (let i = 2; i < args.length; i += 2) {
    const arg = text(args[i]!);
    const param = findParam(arg.toLowerCase());
    if (!param)
      throw new RespError(
        "ERR",
        `Unknown option or number of arguments for CONFIG SET - '${sanitizeLine(arg)}'`,
      );
    const value = text(args[i + 1]!);
    if (!param.prepare && param.get(s) !== value) throw failed(arg, "can't set immutable config");
    // Like Redis 7, the same name twice is refused; a name and its alias both apply, in order.
    if (seen.has(arg.toLowerCase())) throw failed(arg, "duplicate parameter");
    seen.add(arg.toLowerCase());
    pairs.push([arg, value, param]);
  }
  for (const [arg, value, param] of pairs) {
    if (!param.prepare) continue;
    try {
      apply.push(param.prepare(s, value));
    } catch (e) {
      if (e instanceof ConfigReject) throw failed(arg, e.message);
      throw e;
    }
  }
  for (const run of apply) run();
  for (const [, , param] of pairs) if (param.prepare) s.configChanged.add(param.name);
  return OK;
}

/** A config-file value as CONFIG GET shows it. */
function show(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object" && "text" in v) return String((v as { text: string }).text);
  if (Array.isArray(v) || typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function fieldOf(config: unknown, path: string): unknown {
  let at = config;
  for (const part of path.split(".")) at = (at as Record<string, unknown> | null)?.[part];
  return at;
}

/** Every (name, value) pair CONFIG GET can show. */
function everything(s: ServerContext): [string, string][] {
  const out: [string, string][] = [];
  for (const p of configParams) {
    const v = p.get(s);
    out.push([p.name, v]);
    for (const a of p.aliases ?? []) out.push([a, v]);
  }
  // Our own file keys; secrets stay out (a password parameter shows itself, as Redis's does).
  for (const k of configKeys) {
    if (/pass|secret|token/.test(k.key)) continue;
    out.push([k.key, show(fieldOf(s.config, k.field))]);
  }
  return out;
}

function configGet(ctx: Ctx, args: Uint8Array[]): Reply {
  const all = everything(ctx.server);
  const out: [Reply, Reply][] = [];
  const seen = new Set<string>();
  for (const pattern of args.slice(2)) {
    const p = encoder.encode(text(pattern).toLowerCase());
    for (const [k, v] of all) {
      if (!seen.has(k) && globMatch(p, encoder.encode(k))) {
        seen.add(k);
        out.push([k, v]);
      }
    }
  }
  return map(out);
}

function configRewrite(ctx: Ctx): Reply {
  const s = ctx.server;
  const path = s.config.sourcePath;
  if (path === null) throw new RespError("ERR", "The server is running without a config file");
  const names = [...s.configChanged];
  const params = names.map((n) => findParam(n)!);
  // Knobs with no effect are not worth a refusal: there is nothing to keep across a restart.
  const homeless = params.filter((p) => !p.tomlKey && !p.noEffect).map((p) => `'${p.name}'`);
  if (homeless.length > 0) {
    throw new RespError(
      "ERR",
      `Rewriting config file: ${homeless.join(", ")} changed at run time but ${homeless.length === 1 ? "has" : "have"} no key in ${sanitizeLine(path)}; nothing was written (the values stay in effect until restart)`,
    );
  }
  try {
    rewriteConfigFile(
      path,
      params
        .filter((p) => p.tomlKey)
        .map((p) => ({ key: p.tomlKey!, value: p.get(s), type: p.tomlType ?? "string" })),
    );
  } catch (e) {
    throw new RespError("ERR", `Rewriting config file: ${sanitizeLine((e as Error).message)}`);
  }
  return OK;
}

function resetStat(ctx: Ctx): Reply {
  const st = ctx.server.stats;
  st.commands.clear();
  st.errorsByCode.clear();
  st.keyspaceHits = st.keyspaceMisses = st.errorReplies = 0;
  st.expiredKeys = st.rejectedConnections = 0;
  st.connectionsReceived = st.commandsProcessed = 0;
  st.netInputBytes = st.netOutputBytes = 0;
  // Like Redis, the slow log is left alone (SLOWLOG RESET clears it).
  return OK;
}

const help = [
  "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "GET <pattern>",
  "    Return parameters matching the glob-like <pattern> and their values.",
  "SET <directive> <value>",
  "    Set the configuration <directive> to <value>.",
  "RESETSTAT",
  "    Reset statistics reported by the INFO command.",
  "REWRITE",
  "    Rewrite the configuration file.",
  "HELP",
  "    Prints this help.",
];

const sub: RowDefaults = {
  flags: ["admin", "noscript", "loading", "stale"],
  group: "server",
  since: "2.0.0",
  keys: null,
};

export const configCommands: CommandSpec[] = [
  {
    name: "config",
    arity: -2,
    flags: [],
    keys: null,
    group: "server",
    since: "2.0.0",
    summary: "A container for server configuration commands.",
    syntax: "<subcommand> [arguments]",
    subcommands: [
      {
        ...sub,
        name: "config|get",
        arity: -3,
        summary: "Returns the effective values of configuration parameters.",
        syntax: "parameter [parameter ...]",
        handler: configGet,
      },
      {
        ...sub,
        name: "config|set",
        arity: -4,
        summary:
          "Sets configuration parameters at run time, all or none; encoding knobs are accepted with no effect.",
        syntax: "parameter value [parameter value ...]",
        handler: configSet,
      },
      {
        ...sub,
        name: "config|resetstat",
        arity: 2,
        summary: "Resets the server's statistics.",
        syntax: "",
        handler: resetStat,
      },
      {
        ...sub,
        name: "config|rewrite",
        arity: 2,
        summary:
          "Writes the parameters changed at run time back to the config file, keeping its comments.",
        syntax: "",
        handler: configRewrite,
      },
      {
        ...sub,
        name: "config|help",
        arity: 2,
        summary: "Returns helpful text about the different subcommands.",
        syntax: "",
        handler: () => help.map((line) => simple(line)),
        flags: ["loading", "stale"],
      },
    ],
  },
];
