/**
 * CONFIG REWRITE's file edit: sets a few keys in a TOML config file without touching anything
 * else. smol-toml cannot keep comments, so the text is edited line by line: an existing
 * `key = value` line in the right table gets its value replaced (indentation and a trailing
 * comment kept); a missing key is added after its table's header (a new table at the end when
 * there is none). The result is parsed and validated before it replaces the file, which it
 * does atomically (write a temporary file, fsync, rename), so a crash leaves the old file or
 * the new one, never half of each.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { parseConfig } from "./load.ts";

export interface RewriteValue {
  /** Dotted TOML key: `requirepass`, `sqlite.synchronous`. */
  key: string;
  /** The value as CONFIG GET shows it. */
  value: string;
  type: "integer" | "boolean" | "string";
}

function tomlValue(v: RewriteValue): string {
  if (v.type === "integer") {
    if (!/^-?\d+$/.test(v.value)) throw new Error(`${v.key}: ${v.value} is not an integer`);
    return v.value;
  }
  if (v.type === "boolean") return v.value === "yes" || v.value === "true" ? "true" : "false";
  return JSON.stringify(v.value);
}

const headerRe = /^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$/;

/** Where a `key = ...` line's value ends, so a trailing comment can be kept. */
function valueEnd(line: string, from: number): number {
  let quote: string | null = null;
  for (let i = from; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#") return i;
  }
  return line.length;
}

/** Returns `text` with each key set; pure, for tests. */
export function rewriteConfigText(text: string, values: readonly RewriteValue[]): string {
  const newline = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text.split(/\r?\n/);
  for (const v of values) {
    const dot = v.key.lastIndexOf(".");
    const table = dot < 0 ? "" : v.key.slice(0, dot);
    const leaf = v.key.slice(dot + 1);
    const assign = new RegExp(`^(\\s*)(${leaf.replace(/[-]/g, "\\-")}|"${leaf}")\\s*=`);
    let current = "";
    let headerAt = -1;
    let tableEnd = -1;
    let done = false;
    for (let i = 0; i < lines.length && !done; i++) {
      const h = headerRe.exec(lines[i]!);
      if (h) {
        if (current === table) tableEnd = i;
        current = h[1]!;
        if (current === table) headerAt = i;
        continue;
      }
      if (current !== table) continue;
      const m = assign.exec(lines[i]!);
      if (!m) continue;
      const line = lines[i]!;
      const start = line.indexOf("=") + 1;
      const end = valueEnd(line, start);
      const comment = end < line.length ? ` ${line.slice(end).trimStart()}` : "";
      lines[i] = `${m[1]}${m[2]} = ${tomlValue(v)}${comment}`;
      done = true;
    }
    if (done) continue;
    const entry = `${leaf} = ${tomlValue(v)}`;
    if (table === "") {
      // Top-level keys must come before the first table header.
      const first = lines.findIndex((l) => headerRe.test(l));
      let at = first < 0 ? lines.length : first;
      while (at > 0 && lines[at - 1]!.trim() === "") at--;
      lines.splice(at, 0, entry);
    } else if (headerAt >= 0) {
      // After the table's last non-blank line, so the key stays inside the table.
      let at = tableEnd >= 0 && tableEnd > headerAt ? tableEnd : lines.length;
      while (at - 1 > headerAt && lines[at - 1]!.trim() === "") at--;
      lines.splice(at, 0, entry);
    } else {
      if (lines.length > 0 && lines.at(-1) === "") lines.pop();
      lines.push("", `[${table}]`, entry, "");
    }
  }
  return lines.join(newline);
}

/** Rewrites the file at `path` in place, atomically; throws when the result would not load. */
export function rewriteConfigFile(path: string, values: readonly RewriteValue[]): void {
  const before = readFileSync(path, "utf8");
  const after = rewriteConfigText(before, values);
  parseConfig(after, path);
  if (after === before) return;
  const tmp = `${path}.rewrite-${process.pid}.tmp`;
  const fd = openSync(tmp, "w", statSync(path).mode & 0o777);
  try {
    writeSync(fd, after);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
