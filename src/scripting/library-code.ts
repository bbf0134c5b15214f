/**
 * The text of a function library: its `#!lua name=<lib>` shebang, checked with Redis 7's
 * error texts, and the code after it (compiled as chunk "@user_function"). Pure parsing.
 */
import { RespError } from "../errors.ts";

export interface LibraryCode {
  readonly name: string;
  /** The code with its shebang line blanked, so Lua's line numbers match the text loaded. */
  readonly body: Uint8Array;
}

const NAME = /^[A-Za-z0-9_]+$/;

export function parseLibrary(code: Uint8Array): LibraryCode {
  const text = new TextDecoder().decode(code.subarray(0, Math.min(code.length, 4096)));
  if (!text.startsWith("#!")) throw new RespError("ERR", "Missing library metadata");
  const end = text.indexOf("\n");
  const shebang = end < 0 ? text : text.slice(0, end);
  const parts = shebang
    .slice(2)
    .split(" ")
    .filter((p) => p.length > 0);
  const engine = parts.shift() ?? "";
  if (engine.toLowerCase() !== "lua") {
    throw new RespError("ERR", `Engine '${engine}' not found`);
  }
  let name: string | null = null;
  for (const part of parts) {
    if (!part.startsWith("name="))
      throw new RespError("ERR", `Invalid metadata value given: ${part}`);
    name = part.slice(5);
  }
  if (name === null) throw new RespError("ERR", "Library name was not given");
  if (!NAME.test(name)) {
    throw new RespError(
      "ERR",
      "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
    );
  }
  const cut = end < 0 ? code.length : Buffer.byteLength(shebang);
  return { name, body: code.subarray(cut) };
}

export function validFunctionName(name: string): boolean {
  return NAME.test(name);
}

/** The flags Redis 7 accepts in a script's or a function's shebang. */
export const SCRIPT_FLAGS = [
  "no-writes",
  "allow-oom",
  "allow-stale",
  "no-cluster",
  "allow-cross-slot-keys",
];

/**
 * An EVAL script's optional `#!lua flags=a,b` line (Redis 7). Returns null for a script
 * without a shebang (Redis's compatibility mode), else the flags; `body` has the line blanked.
 */
export function parseScriptShebang(code: Uint8Array): { flags: string[] | null; body: Uint8Array } {
  if (code[0] !== 0x23 || code[1] !== 0x21) return { flags: null, body: code };
  const end = code.indexOf(0x0a);
  if (end < 0) throw new RespError("ERR", "Invalid script shebang");
  const parts = new TextDecoder()
    .decode(code.subarray(0, end))
    .split(/[ \t]+/)
    .filter((p) => p.length > 0);
  if (parts[0] !== "#!lua") {
    throw new RespError("ERR", `Unexpected engine in script shebang: ${parts[0] ?? ""}`);
  }
  const flags: string[] = [];
  for (const part of parts.slice(1)) {
    if (!part.startsWith("flags="))
      throw new RespError("ERR", `Unknown lua shebang option: ${part}`);
    for (const flag of part.slice(6).split(",")) {
      if (!SCRIPT_FLAGS.includes(flag))
        throw new RespError("ERR", `Unexpected flag in script shebang: ${flag}`);
      flags.push(flag);
    }
  }
  return { flags, body: code.subarray(end) };
}
