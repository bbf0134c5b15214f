/**
 * Turns TOML text (or test overrides) into a validated, deeply frozen Config by walking the
 * `configKeys` table in schema.ts. It owns the checks for each kind of value, the error wording
 * (file, key path, what was given, what is allowed) and the unknown-key suggestions. It must not
 * grow its own list of keys: a new key is one row in schema.ts.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { crossChecks } from "./cross-checks.ts";
import { configKeys, deepFreeze, describeKind } from "./schema.ts";
import type { Addr, Config, DeepPartial, KeySpec, ValueKind } from "./types.ts";

/** A configuration problem; the message is the whole text shown to the user. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Table = Record<string, unknown>;
/** Why a value was refused. `at` extends the key path (`[2]`, `[0].start`); `value` replaces the shown value. */
type Issue = { issue: true; problem: string; expected?: string; at?: string; value?: unknown };
type Checked = { issue: false; value: unknown } | Issue;

const ok = (value: unknown): Checked => ({ issue: false, value });
const refuse = (problem: string, extra: Omit<Issue, "issue" | "problem"> = {}): Issue => ({
  issue: true,
  problem,
  ...extra,
});

function isTable(v: unknown): v is Table {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype;
}

function typeName(v: unknown): string {
  if (typeof v === "bigint") return "an integer";
  if (typeof v === "number") return "a float";
  if (typeof v === "string") return "a string";
  if (typeof v === "boolean") return "a boolean";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a date";
  return isTable(v) ? "a table" : typeof v;
}

/** A value the way it would be written in TOML, shortened for error messages. */
function render(v: unknown): string {
  let text: string;
  if (typeof v === "string") text = JSON.stringify(v);
  else if (typeof v === "number") {
    if (Number.isNaN(v)) text = "nan";
    else if (!Number.isFinite(v)) text = v > 0 ? "inf" : "-inf";
    else text = Number.isInteger(v) ? v.toFixed(1) : String(v);
  } else if (Array.isArray(v)) text = `[${v.map(render).join(", ")}]`;
  else if (v instanceof Date) text = v.toISOString();
  else if (isTable(v)) {
    const inner = Object.entries(v).map(([k, x]) => `${k} = ${render(x)}`);
    text = inner.length === 0 ? "{}" : `{ ${inner.join(", ")} }`;
  } else text = String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const hostPattern =
  /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/;
const ipv6Pattern = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9_.-]+)?$/;

/** `host:port` → Addr, or the reason it is not one. */
function readAddr(text: string): Addr | string {
  let host: string;
  let port: string;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2]!;
    if (!ipv6Pattern.test(host)) return `${JSON.stringify(host)} is not an IPv6 address`;
  } else if (text.startsWith("[")) {
    return text.endsWith("]") ? "missing port" : "expected [ipv6]:port";
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return "missing port";
    host = text.slice(0, colon);
    port = text.slice(colon + 1);
    if (host.includes(":")) return "an IPv6 host needs brackets, e.g. [::1]:6379";
    if (host === "") return "missing host";
    if (!hostPattern.test(host)) return `${JSON.stringify(host)} is not a hostname or IP address`;
  }
  if (port === "") return "missing port";
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return `port ${port} is not 0-65535`;
  const n = Number(port);
  return { host, port: n, text: host.includes(":") ? `[${host}]:${n}` : `${host}:${n}` };
}

/** Parses `host:port` (IPv6 as `[::1]:6379`); throws ConfigError when it is not one. */
export function parseAddr(text: string): Addr {
  const addr = readAddr(text);
  if (typeof addr === "string")
    throw new ConfigError(`invalid address ${JSON.stringify(text)}: ${addr}`);
  return addr;
}

function checkInteger(v: unknown, min: number, max: number): Checked {
  const expected = describeKind({ type: "integer", min, max });
  if (typeof v !== "bigint") return refuse(`is ${typeName(v)}`, { expected });
  if (v < BigInt(min) || v > BigInt(max)) return refuse("is out of range", { expected });
  return ok(Number(v));
}

function checkArray(v: unknown, item: (x: unknown) => Checked): Checked {
  if (!Array.isArray(v)) return refuse(`is ${typeName(v)}`);
  const out: unknown[] = [];
  for (const [i, x] of v.entries()) {
    const r = item(x);
    if (r.issue) return { ...r, at: `[${i}]${r.at ?? ""}`, value: "value" in r ? r.value : x };
    out.push(r.value);
  }
  return ok(out);
}

function checkRange(v: unknown, min: number, max: number): Checked {
  const expected = `a table { start = <slot>, end = <slot> } with ${min} <= start <= end <= ${max}`;
  if (!isTable(v)) return refuse(`is ${typeName(v)}`, { expected });
  const extra = Object.keys(v).find((k) => k !== "start" && k !== "end");
  if (extra !== undefined) return refuse(`has unknown key ${extra}`, { expected });
  const [start, end] = [checkInteger(v.start, min, max), checkInteger(v.end, min, max)];
  for (const [name, r] of [
    ["start", start],
    ["end", end],
  ] as const) {
    if (v[name] === undefined) return refuse(`is missing ${name}`, { expected });
    if (r.issue) return { ...r, at: `.${name}`, value: v[name] };
  }
  if ((start.value as number) > (end.value as number))
    return refuse("has start > end", { expected });
  return ok({ start: start.value, end: end.value });
}

/** Checks one TOML value against its kind and converts it to the Config-side value. */
function checkValue(kind: ValueKind, v: unknown): Checked {
  switch (kind.type) {
    case "integer":
      return checkInteger(v, kind.min, kind.max);
    case "boolean":
      return typeof v === "boolean" ? ok(v) : refuse(`is ${typeName(v)}`);
    case "string":
      if (typeof v !== "string") return refuse(`is ${typeName(v)}`);
      return v === "" ? refuse("is empty") : ok(v);
    case "enum": {
      if (typeof v !== "string") return refuse(`is ${typeName(v)}`);
      const folded = kind.fold === "upper" ? v.toUpperCase() : v.toLowerCase();
      return kind.values.includes(folded) ? ok(folded) : refuse("is not allowed");
    }
    case "addr": {
      if (typeof v !== "string") return refuse(`is ${typeName(v)}`);
      const addr = readAddr(v);
      if (typeof addr === "string") {
        return refuse(`is not allowed (${addr})`, { expected: describeKind(kind) });
      }
      return ok(kind.as === "text" ? addr.text : addr);
    }
    case "addrList":
      return checkArray(v, (x) => checkValue({ type: "addr", as: "text" }, x));
    case "stringList":
      return checkArray(v, (x) => checkValue({ type: "string" }, x));
    case "integerList":
      return checkArray(v, (x) => checkInteger(x, kind.min, kind.max));
    case "rangeList":
      return checkArray(v, (x) => checkRange(x, kind.min, kind.max));
  }
}

/** Optimal string alignment distance: edits, counting a swap of neighbours as one. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known key (or section) an unknown dotted path most likely meant, if one is close. */
function suggest(path: string, sections: readonly string[]): string | null {
  const split = (p: string) => {
    const dot = p.lastIndexOf(".");
    return [p.slice(0, Math.max(dot, 0)), p.slice(dot + 1)] as const;
  };
  const [table, leaf] = split(path);
  const wanted = leaf
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/-/g, "_")
    .toLowerCase();
  const candidates = [...configKeys.map((k) => k.key), ...sections];
  let best: string | null = null;
  let bestDistance = wanted.length <= 4 ? 1 : wanted.length <= 8 ? 2 : 3;
  for (const c of candidates) {
    const [ct, cl] = split(c);
    const distance = editDistance(wanted, cl) + (ct === table ? 0 : cl === wanted ? 0.5 : 99);
    if (distance <= bestDistance && (best === null || distance < bestDistance)) {
      best = c;
      bestDistance = distance;
    }
  }
  return best;
}

function getPath(obj: unknown, path: string): unknown {
  let at = obj;
  for (const part of path.split(".")) {
    if (!isTable(at)) return undefined;
    at = at[part];
  }
  return at;
}

function setPath(obj: Table, path: string, value: unknown): void {
  const parts = path.split(".");
  let at = obj;
  for (const part of parts.slice(0, -1)) {
    at[part] ??= {};
    at = at[part] as Table;
  }
  at[parts.at(-1)!] = value;
}

/** Validates a parsed TOML document; every problem found goes into one ConfigError. */
function validate(raw: Table, file: string): Config {
  const messages: string[] = [];
  const say = (path: string, value: unknown, problem: string, expected?: string) => {
    const shown = value === undefined ? "" : ` = ${render(value)}`;
    messages.push(`${file}: ${path}${shown} ${problem}${expected ? `; expected ${expected}` : ""}`);
  };
  const known = configKeys.map((k) => k.key);
  const sections = [...new Set(known.filter((k) => k.includes(".")).map((k) => k.split(".")[0]!))];

  const unknown = (path: string, value: unknown) => {
    const hint = suggest(path, sections);
    const sectionLike = isTable(value) && !path.includes(".");
    const what = sectionLike ? `section [${path}]` : `key ${path}`;
    const meant = hint === null ? "" : sections.includes(hint) ? `[${hint}]` : hint;
    messages.push(`${file}: unknown ${what}${hint === null ? "" : `; did you mean ${meant}?`}`);
  };
  for (const [name, value] of Object.entries(raw)) {
    if (!sections.includes(name)) {
      if (!known.includes(name)) unknown(name, value);
    } else if (!isTable(value)) say(name, value, `is ${typeName(value)}`, `a table ([${name}])`);
    else {
      for (const [inner, x] of Object.entries(value)) {
        if (!known.includes(`${name}.${inner}`)) unknown(`${name}.${inner}`, x);
      }
    }
  }

  const draft: Table = {};
  for (const spec of configKeys) {
    const given = getPath(raw, spec.key);
    if (given === undefined) {
      if (spec.required) say(spec.key, undefined, "is missing", spec.allowed);
      setPath(draft, spec.field, structuredClone(spec.default));
      continue;
    }
    const r = checkValue(spec.kind, given);
    if (r.issue) {
      // An item's own expectation is more precise than the whole key's; a key's is the table's.
      const expected = r.at === undefined ? spec.allowed : (r.expected ?? spec.allowed);
      say(spec.key + (r.at ?? ""), "value" in r ? r.value : given, r.problem, expected);
    } else setPath(draft, spec.field, r.value);
  }
  const config = draft as unknown as Config;
  if (messages.length === 0) {
    const warnings: string[] = [];
    for (const rule of crossChecks) {
      const i = rule(config);
      if (i === null) continue;
      // Config holds plain numbers; show them as TOML integers (3), not floats (3.0).
      const shown = typeof i.value === "number" ? BigInt(i.value) : i.value;
      if (i.warn) warnings.push(`${file}: ${i.key} = ${render(shown)} ${i.problem}`);
      else say(i.key, shown, i.problem, i.expected);
    }
    if (warnings.length > 0) config.warnings = warnings;
  }
  if (messages.length > 0) throw new ConfigError(messages.join("\n"));
  config.sourcePath = null;
  return config;
}

/** Parses TOML text; `sourcePath` names the file in messages and is resolved for Config.sourcePath. */
export function parseConfig(text: string, sourcePath: string): Config {
  let raw: Table;
  try {
    raw = parse(text, { integersAsBigInt: true }) as Table;
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    const reason = (e.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
    const where = `line ${e.line}, column ${e.column}`;
    throw new ConfigError(
      `${sourcePath}: TOML syntax error at ${where}: ${reason}\n${e.codeblock}`,
    );
  }
  const config = validate(raw, sourcePath);
  config.sourcePath = resolve(sourcePath);
  return deepFreeze(config);
}

/** Reads and parses a config file. A relative data_dir stays relative to the working directory. */
export function loadConfig(path: string): Config {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    // Node words it "ENOENT: no such file or directory, open 'x'"; keep only the reason.
    const reason = String((e as Error).message).replace(/^[A-Z]+: ([^,]+),.*$/s, "$1");
    throw new ConfigError(`cannot read config file ${path}: ${reason}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(`cannot read config file ${path}: not valid UTF-8`);
  }
  return parseConfig(text, path);
}

/** A Config-side override value written the way TOML would give it (integers as bigint). */
function toToml(spec: KeySpec, v: unknown): unknown {
  if (v === null) return undefined;
  if (spec.kind.type === "addr" && isTable(v)) {
    const base = spec.default as Addr;
    if (typeof v.text === "string") return v.text;
    const host = typeof v.host === "string" ? v.host : base.host;
    return `${host.includes(":") ? `[${host}]` : host}:${v.port ?? base.port}`;
  }
  const walk = (x: unknown): unknown => {
    if (typeof x === "number" && Number.isSafeInteger(x)) return BigInt(x);
    if (Array.isArray(x)) return x.map(walk);
    if (isTable(x)) return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
    return x;
  };
  return walk(v);
}

/** Defaults plus overrides (Config-shaped), validated and frozen like a loaded file. For tests. */
export function defaultConfig(overrides: DeepPartial<Config> = {}): Config {
  const raw: Table = {};
  for (const spec of configKeys) {
    const v = getPath(overrides, spec.field);
    const t = toToml(spec, v === undefined && spec.required ? spec.default : v);
    if (t !== undefined) setPath(raw, spec.key, t);
  }
  const config = validate(raw, "defaultConfig()");
  config.sourcePath = overrides.sourcePath ?? null;
  return deepFreeze(config);
}
