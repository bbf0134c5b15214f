/**
 * COMMAND INFO and COMMAND DOCS replies, generated from the command table rows. Argument
 * trees for COMMAND DOCS are derived from each row's `syntax` string, so the hint a client
 * shows and the syntax the README documents come from the same text.
 */
import { map, type Reply, simple } from "../../protocol/reply.ts";
import { categoriesOf } from "../../security/categories.ts";
import type { CommandSpec } from "../spec.ts";

/** The 10-element COMMAND INFO entry Redis 7 returns for one command. */
export function commandInfo(spec: CommandSpec): Reply {
  const k = spec.keys;
  // The ACL categories, derived once for dispatch's ACL and for this reply (security/categories.ts).
  const categories = categoriesOf(spec).map((c) => `@${c}`);
  const keySpecs: Reply[] = k
    ? [
        map([
          ["flags", [simple(spec.flags.includes("write") ? "RW" : "RO")]],
          [
            "begin_search",
            map([
              ["type", "index"],
              ["spec", map([["index", k.first]])],
            ]),
          ],
          [
            "find_keys",
            map([
              ["type", "range"],
              [
                "spec",
                map([
                  ["lastkey", k.last < 0 ? k.last : k.last - k.first],
                  ["keystep", k.step],
                  ["limit", 0],
                ]),
              ],
            ]),
          ],
        ]),
      ]
    : [];
  return [
    spec.name,
    spec.arity,
    // Redis derives movablekeys from key specs it cannot resolve statically: our rows say
    // so with movableKeys (EVAL, FCALL) or movableKeyFlag (MIGRATE's KEYS form).
    [...spec.flags, ...(spec.movableKeys || spec.movableKeyFlag ? ["movablekeys"] : [])].map((f) =>
      simple(f),
    ),
    k ? k.first : 0,
    k ? k.last : 0,
    k ? k.step : 0,
    categories.map((c) => simple(c)),
    [],
    keySpecs,
    (spec.subcommands ?? []).map(commandInfo),
  ];
}

/** The COMMAND DOCS map value for one command. */
export function commandDocs(spec: CommandSpec): Reply {
  const entries: [Reply, Reply][] = [
    ["summary", spec.summary],
    ["since", spec.since],
    ["group", spec.group === "blobasaur" ? "server" : spec.group],
  ];
  const args = parseSyntax(spec.syntax);
  if (args.length > 0) entries.push(["arguments", args.map(argumentDoc)]);
  if (spec.subcommands) {
    entries.push([
      "subcommands",
      map(spec.subcommands.map((s) => [s.name, commandDocs(s)] as const)),
    ]);
  }
  return map(entries);
}

interface Arg {
  name: string;
  type: string;
  token?: string;
  optional: boolean;
  multiple: boolean;
  children?: Arg[];
}

function argumentDoc(arg: Arg): Reply {
  const entries: [Reply, Reply][] = [
    ["name", arg.name],
    ["type", arg.type],
  ];
  if (arg.token) entries.push(["token", arg.token]);
  const flags: Reply[] = [];
  if (arg.optional) flags.push(simple("optional"));
  if (arg.multiple) flags.push(simple("multiple"));
  if (flags.length > 0) entries.push(["flags", flags]);
  if (arg.children) entries.push(["arguments", arg.children.map(argumentDoc)]);
  return map(entries);
}

/** Parses Redis documentation syntax such as `key [NX | XX] [EX seconds | PX ms]`. */
export function parseSyntax(syntax: string): Arg[] {
  const tokens = syntax.match(/\[|\]|\||\.\.\.|[^\s[\]|]+/g) ?? [];
  let pos = 0;
  const sequence = (): Arg[][] => {
    const alternatives: Arg[][] = [[]];
    while (pos < tokens.length && tokens[pos] !== "]") {
      const t = tokens[pos++]!;
      const current = alternatives[alternatives.length - 1]!;
      if (t === "|") alternatives.push([]);
      else if (t === "...") {
        const last = current[current.length - 1];
        if (last) last.multiple = true;
      } else if (t === "[") {
        const inner = sequence();
        pos++; // the closing bracket
        const arg = group(inner);
        arg.optional = true;
        current.push(arg);
      } else current.push(leaf(t));
    }
    return alternatives;
  };
  const top = sequence();
  return top.length === 1 ? top[0]! : [group(top)];
}

function group(alternatives: Arg[][]): Arg {
  if (alternatives.length > 1) {
    return {
      name: "condition",
      type: "oneof",
      optional: false,
      multiple: false,
      children: alternatives.map((a) => (a.length === 1 ? a[0]! : block(a))),
    };
  }
  const only = alternatives[0]!;
  return only.length === 1 ? { ...only[0]! } : block(only);
}

function block(items: Arg[]): Arg {
  return {
    name: items[0]?.name ?? "block",
    type: "block",
    optional: false,
    multiple: false,
    children: items,
  };
}

function leaf(word: string): Arg {
  if (word === word.toUpperCase() && /[A-Z]/.test(word)) {
    return {
      name: word.toLowerCase(),
      type: "pure-token",
      token: word,
      optional: false,
      multiple: false,
    };
  }
  let type = "string";
  if (word === "key") type = "key";
  else if (word === "pattern") type = "pattern";
  else if (/seconds|milliseconds|count|index|numfields|start|end|cursor|numkeys|timeout/.test(word))
    type = "integer";
  return { name: word, type, optional: false, multiple: false };
}
