/**
 * The pair most parity tests compare: our server (in-process, port 0) and a reference
 * redis-server, each with a raw client, started before the file's tests and torn down after.
 */
import { afterAll, beforeAll } from "bun:test";
import { RawClient, type RedisRef, startRedisRef } from "./redis-ref.ts";
import { startTestServer, type TestServer } from "./server.ts";

export interface ParityPair {
  server: TestServer;
  redis: RedisRef;
  ours: RawClient;
  theirs: RawClient;
}

/** Registers the hooks; `ready` receives the pair once both servers answer. */
export function parityPair(ready: (pair: ParityPair) => void): void {
  let pair: Partial<ParityPair> = {};
  beforeAll(async () => {
    // Redis's default 16 databases on both sides.
    const [server, redis] = await Promise.all([startTestServer(), startRedisRef()]);
    pair = { server, redis };
    pair.ours = await RawClient.connect({ port: server.port });
    pair.theirs = await RawClient.connect({ unix: redis.socket });
    ready(pair as ParityPair);
  });
  afterAll(async () => {
    pair.ours?.close();
    pair.theirs?.close();
    await pair.server?.[Symbol.asyncDispose]();
    await pair.redis?.[Symbol.asyncDispose]();
  });
}
