/**
 * The server's counters, fed by dispatch and the connections and read by INFO, /metrics and
 * the rates sampler. A plain record of numbers so every reader can import it without cycles.
 */
import type { SlowLog } from "./slowlog.ts";

export interface CommandStat {
  calls: number;
  usec: number;
  rejectedCalls: number;
  failedCalls: number;
}

export interface ServerStats {
  connectionsReceived: number;
  commandsProcessed: number;
  rejectedConnections: number;
  expiredKeys: number;
  keyspaceHits: number;
  keyspaceMisses: number;
  netInputBytes: number;
  netOutputBytes: number;
  errorReplies: number;
  readonly commands: Map<string, CommandStat>;
  readonly errorsByCode: Map<string, number>;
  /** SLOWLOG's bounded ring (commands/server/observability.ts); dispatch feeds it. */
  readonly slowlog: SlowLog;
}
