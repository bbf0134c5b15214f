/**
 * Which arguments of a request are secrets, so MONITOR and SLOWLOG show `(redacted)` instead,
 * as Redis does: AUTH's arguments, HELLO's `AUTH user pass`, every argument of ACL SETUSER
 * after the subcommand, MIGRATE's AUTH/AUTH2 credentials and CONFIG SET requirepass's value.
 */
import type { CommandRow } from "../commands/row.ts";

export const REDACTED = new TextEncoder().encode("(redacted)");

/** Row names whose arguments may hold secrets: the cheap pre-check before copying anything. */
const sensitive = new Set(["auth", "hello", "acl|setuser", "migrate", "config|set"]);

function upper(bytes: Uint8Array): string {
  return bytes.length > 16 ? "" : String.fromCharCode(...bytes).toUpperCase();
}

/** The arguments with secrets replaced; the same array when nothing is secret. */
export function redactArgs(spec: CommandRow, args: readonly Uint8Array[]): readonly Uint8Array[] {
  if (!sensitive.has(spec.name)) return args;
  const out = args.slice();
  const hide = (from: number, count: number) => {
    for (let j = from; j < from + count && j < out.length; j++) out[j] = REDACTED;
  };
  switch (spec.name) {
    case "auth":
      hide(1, out.length);
      break;
    case "acl|setuser":
      hide(2, out.length);
      break;
    case "hello":
    case "migrate":
      for (let i = 1; i < out.length; i++) {
        const word = upper(out[i]!);
        if (word === "AUTH") {
          hide(i + 1, spec.name === "hello" ? 2 : 1);
          i += spec.name === "hello" ? 2 : 1;
        } else if (word === "AUTH2") {
          hide(i + 1, 2);
          i += 2;
        }
      }
      break;
    case "config|set":
      for (let i = 2; i + 1 < out.length; i += 2) {
        if (upper(out[i]!) === "REQUIREPASS" || upper(out[i]!) === "MASTERAUTH") hide(i + 1, 1);
      }
      break;
  }
  return out;
}
