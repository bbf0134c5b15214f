/**
 * CLIENT PAUSE / UNPAUSE. While a pause is in force a connection does not run a held command
 * (nor anything after it: replies keep their order); it waits here and is woken when the
 * pause ends, by UNPAUSE or by its deadline. PAUSE WRITE holds what Redis holds: writes and
 * the commands that may write or propagate (EVAL, EVALSHA, FCALL, PUBLISH, SPUBLISH, PFCOUNT,
 * WAIT...); PAUSE ALL holds every command. A later PAUSE never shortens an earlier one or
 * weakens ALL to WRITE, as in Redis.
 */
import type { ClientState } from "../commands/client-state.ts";
import type { CommandRow } from "../commands/row.ts";

/** Commands Redis flags may_replicate (or that write) without our `write` flag. */
const MAY_REPLICATE = new Set([
  "eval",
  "evalsha",
  "eval_ro",
  "evalsha_ro",
  "fcall",
  "fcall_ro",
  "publish",
  "spublish",
  "pfcount",
  "wait",
  "script|flush",
  "script|load",
  "function|load",
  "function|delete",
  "function|flush",
  "function|restore",
  "swapdb",
]);

const writes = (spec: CommandRow): boolean =>
  spec.flags.includes("write") || MAY_REPLICATE.has(spec.name);

export class PauseGate {
  /** null = not paused. */
  mode: "write" | "all" | null = null;
  private until = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly clock: () => number = Date.now) {}

  pause(ms: number, mode: "write" | "all"): void {
    const until = this.clock() + ms;
    // Redis keeps the stricter of the two: the later end, and ALL over WRITE.
    if (this.mode !== null) {
      if (until > this.until) this.until = until;
      if (mode === "all") this.mode = "all";
    } else {
      this.mode = mode;
      this.until = until;
    }
    this.arm();
  }

  unpause(): void {
    this.mode = null;
    this.until = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** True when this command must wait; the caller then parks with `wait`. */
  holds(spec: CommandRow, client: ClientState<{ readonly spec: CommandRow }>): boolean {
    if (this.mode === null) return false;
    if (this.clock() >= this.until) {
      this.unpause();
      return false;
    }
    // Inside MULTI commands are only queued; EXEC waits when its queue would be held.
    if (client.tx && spec.multi !== "exec") return false;
    if (this.mode === "all") return true;
    if (spec.multi === "exec") return client.tx?.queued.some((q) => writes(q.spec)) ?? false;
    return writes(spec);
  }

  wait(wake: () => void): void {
    this.waiters.push(wake);
  }

  /** Clients held now (INFO's blocked_clients counts them in Redis). */
  get waiting(): number {
    return this.waiters.length;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(0, this.until - this.clock());
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.mode !== null && this.clock() >= this.until) this.unpause();
      else if (this.mode !== null) this.arm();
    }, delay);
    (this.timer as { unref?: () => void }).unref?.();
  }
}
