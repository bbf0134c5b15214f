/**
 * MONITOR: every command that runs is echoed, as one status line, to each client that asked.
 * The line matches Redis 7's byte for byte (`+<sec>.<usec> [<db> <addr>] "arg" ...`), because
 * tools parse it. As in Redis, commands flagged `admin` are never shown, AUTH and HELLO's
 * credentials are redacted, and rejected commands (unknown, wrong arity) are not shown.
 * With nobody monitoring, the cost on the request path is one size check in dispatch.
 */
import type { ClientState } from "../commands/client-state.ts";
import type { CommandRow } from "../commands/row.ts";
import { limits } from "../limits.ts";
import { type SimpleString, simple } from "../protocol/reply.ts";
import { redactArgs } from "../security/redact.ts";

export class MonitorFeed {
  private readonly watchers = new Map<number, ClientState>();

  /** True when at least one client is monitoring; dispatch checks this before anything else. */
  get active(): boolean {
    return this.watchers.size > 0;
  }

  add(client: ClientState): void {
    this.watchers.set(client.id, client);
  }

  remove(client: ClientState): void {
    this.watchers.delete(client.id);
  }

  /** Renders the line once and hands it to every monitoring client. */
  feed(client: ClientState, spec: CommandRow, args: readonly Uint8Array[]): void {
    if (this.watchers.size === 0 || spec.flags.includes("admin")) return;
    // The client's database after the command ran, as Redis shows it (SELECT 5 shows 5).
    const line = simple(
      monitorLine(wallClockMicros(), client.addr, redactArgs(spec, args), client.db),
    );
    for (const watcher of this.watchers.values()) deliver(watcher, line);
  }
}

/**
 * A monitor that does not read its stream is dropped rather than buffering without end; Redis
 * does the same through its replica output-buffer limit.
 */
function deliver(watcher: ClientState, line: SimpleString): void {
  if (watcher.outputBytes() > limits.monitorOutputMaxBytes) watcher.kill();
  else watcher.deliver(line);
}

function wallClockMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

export function monitorLine(
  micros: number,
  addr: string,
  args: readonly Uint8Array[],
  db = 0,
): string {
  const sec = Math.floor(micros / 1e6);
  const usec = String(micros % 1e6).padStart(6, "0");
  let out = `${sec}.${usec} [${db} ${addr}]`;
  for (const arg of args) out += ` ${quoted(arg)}`;
  return out;
}

/** The bytes sdscatrepr() writes as a backslash escape instead of \xHH. */
const ESCAPES = new Map<number, string>([
  [0x5c, "\\\\"],
  [0x22, '\\"'],
  [0x0a, "\\n"],
  [0x0d, "\\r"],
  [0x09, "\\t"],
  [0x07, "\\a"],
  [0x08, "\\b"],
]);

/** Redis's sdscatrepr(): a double-quoted string, printable ASCII as is, the rest escaped. */
export function quoted(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    const escaped = ESCAPES.get(b);
    if (escaped !== undefined) out += escaped;
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `${out}"`;
}
