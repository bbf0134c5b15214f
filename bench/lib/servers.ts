/**
 * The two servers under test as restartable objects: ours (src/main.ts with a temporary config
 * and data dir) and redis-server (in-memory, or AOF with fsync always when durable).
 */
import { join } from "node:path";
import type { Subprocess } from "bun";
import {
  freePort,
  redisArgs,
  startOurs,
  stop,
  track,
  waitForPong,
  writeOursConfig,
} from "./proc.ts";

export interface Target {
  readonly name: "ours" | "redis";
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class OursServer implements Target {
  readonly name = "ours";
  readonly port = freePort();
  readonly dataDir: string;
  private readonly configPath: string;
  private child: Subprocess | null = null;

  constructor(
    work: string,
    readonly durable: boolean,
    readonly shards = 4,
    /** Extra config lines (bench --ours-config), to measure a setting's trade-off. */
    readonly extra = "",
  ) {
    this.dataDir = join(work, `ours-${this.port}`);
    this.configPath = writeOursConfig(work, {
      dataDir: this.dataDir,
      port: this.port,
      shards,
      durable,
      extra,
    });
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  /** Spawns the server; resolves at its first PONG. */
  async start(): Promise<void> {
    this.child = startOurs(this.configPath);
    await waitForPong(this.port, this.child);
  }

  async stop(): Promise<void> {
    if (this.child) await stop(this.child);
    this.child = null;
  }

  describe(): string {
    const extra = this.extra ? `, ${this.extra.split("\n").join(", ")}` : "";
    return `${this.shards} shards, synchronous=${this.durable ? "FULL" : "NORMAL"}${extra}`;
  }
}

export class RedisServer implements Target {
  readonly name = "redis";
  readonly port = freePort();
  readonly dataDir: string;
  private child: Subprocess | null = null;

  constructor(
    work: string,
    readonly durable: boolean,
  ) {
    this.dataDir = join(work, `redis-${this.port}`);
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  async start(): Promise<void> {
    this.child = track(redisArgs(this.port, this.dataDir, this.durable));
    await waitForPong(this.port, this.child);
  }

  async stop(): Promise<void> {
    if (this.child) await stop(this.child);
    this.child = null;
  }

  describe(): string {
    return this.durable
      ? "appendonly yes, appendfsync always"
      : "in-memory (appendonly no, save '')";
  }
}
