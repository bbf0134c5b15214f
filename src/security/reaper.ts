/**
 * The client reaper: once a second (limits.clientReaperIntervalMs) it closes clients idle for
 * longer than `timeout` seconds (Redis's rule; MONITOR clients are exempt, as Redis exempts
 * replicas) and clients that have held one request half-sent for longer than
 * `client_frame_timeout_ms` while sending it slower than limits.frameBytesPerSecMin
 * (slowloris); a large upload that keeps arriving at a useful rate is never cut off.
 * One timer per server, never one per connection.
 */
import type { ClientState } from "../commands/client-state.ts";
import { limits } from "../limits.ts";
import type { ClientLimits } from "./settings.ts";

export interface Reapable {
  readonly client: ClientState;
  /** When the request now half-received began arriving; 0 at a request boundary. */
  readonly partialSince: number;
  /** Bytes received since partialSince. */
  readonly frameBytes: number;
  /** Closes the connection without sending anything more. */
  abort(): void;
}

export class ClientReaper {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly settings: ClientLimits,
    private readonly connections: () => Iterable<Reapable>,
    private readonly onReaped: (why: "timeout" | "frame") => void = () => {},
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.sweep(Date.now()), limits.clientReaperIntervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass; exported through the class so tests drive it with their own clock. */
  sweep(now: number): number {
    const idleMs = this.settings.timeoutSec * 1000;
    const frameMs = this.settings.frameTimeoutMs;
    if (idleMs === 0 && frameMs === 0) return 0;
    const doomed: [Reapable, "timeout" | "frame"][] = [];
    for (const conn of this.connections()) {
      const held = now - conn.partialSince;
      if (
        frameMs > 0 &&
        conn.partialSince > 0 &&
        held > frameMs &&
        conn.frameBytes < (held / 1000) * limits.frameBytesPerSecMin
      )
        doomed.push([conn, "frame"]);
      else if (idleMs > 0 && !conn.client.monitoring && now - conn.client.lastInteraction > idleMs)
        doomed.push([conn, "timeout"]);
    }
    for (const [conn, why] of doomed) {
      conn.abort();
      this.onReaped(why);
    }
    return doomed.length;
  }
}
