/**
 * The client limits that CONFIG SET may change at run time, under Redis's names: maxclients,
 * timeout, client-query-buffer-limit, client-output-buffer-limit (normal class),
 * proto-max-bulk-len and protected-mode. Created from the frozen Config by startServer();
 * the connection layer reads the live values. Sizes are parsed the way Redis's memtoull does
 * (`1gb`, `64mb`, `512kb`, `100k`, plain bytes).
 */
import type { Config } from "../config/index.ts";

export interface OutputLimit {
  hardBytes: number;
  softBytes: number;
  softSeconds: number;
}

export class ClientLimits {
  maxclients: number;
  timeoutSec: number;
  queryBufferBytes: number;
  output: OutputLimit;
  protoMaxBulkLen: number;
  frameTimeoutMs: number;
  protectedMode: boolean;

  constructor(config: Config) {
    this.maxclients = config.maxclients;
    this.timeoutSec = config.timeout;
    this.queryBufferBytes = config.clientQueryBufferLimit;
    this.output = parseOutputLimit(config.clientOutputBufferLimitNormal) ?? {
      hardBytes: 0,
      softBytes: 0,
      softSeconds: 0,
    };
    this.protoMaxBulkLen = config.protoMaxBulkLen;
    this.frameTimeoutMs = config.clientFrameTimeoutMs;
    this.protectedMode = config.protectedMode;
  }
}

const units: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1000,
  kb: 1024,
  m: 1000 * 1000,
  mb: 1024 * 1024,
  g: 1000 * 1000 * 1000,
  gb: 1024 * 1024 * 1024,
};

/** Redis's memtoull: a size with an optional unit; null when it is not one. */
export function parseMemory(text: string): number | null {
  const m = /^(\d+)([a-z]*)$/i.exec(text.trim());
  if (!m) return null;
  const unit = units[m[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : null;
}

/** "<hard> <soft> <seconds>" → the limit, or null when malformed. */
export function parseOutputLimit(text: string): OutputLimit | null {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3) return null;
  const hard = parseMemory(parts[0]!);
  const soft = parseMemory(parts[1]!);
  const seconds = /^\d+$/.test(parts[2]!) ? Number(parts[2]) : null;
  if (hard === null || soft === null || seconds === null) return null;
  return { hardBytes: hard, softBytes: soft, softSeconds: seconds };
}

/** CONFIG GET's rendering of all three classes, as Redis prints it. */
export function renderOutputLimits(normal: OutputLimit): string {
  return `normal ${normal.hardBytes} ${normal.softBytes} ${normal.softSeconds} slave 268435456 67108864 60 pubsub 33554432 8388608 60`;
}
