/**
 * IdleCollector's decision, driven tick by tick: collect only when a whole interval passed
 * without a command and enough bytes moved since the last collection.
 */
import { expect, test } from "bun:test";
import { limits } from "../../../src/limits.ts";
import { IdleCollector } from "../../../src/server/idle-gc.ts";
import { newStats } from "../../../src/server/server.ts";

test("collects once per burst, and only once the server is quiet", () => {
  const stats = newStats();
  let collected = 0;
  const gc = new IdleCollector(stats, () => collected++);
  gc.tick();
  expect(collected).toBe(0); // quiet, but nothing moved

  // A burst: commands run in every interval, so nothing is collected while it lasts.
  for (let i = 0; i < 3; i++) {
    stats.commandsProcessed += 1000;
    stats.netInputBytes += limits.idleGcTrafficBytesMin;
    gc.tick();
  }
  expect(collected).toBe(0);

  gc.tick(); // the first quiet interval after the burst
  expect(collected).toBe(1);
  gc.tick(); // still quiet, but no new traffic: nothing to do
  expect(collected).toBe(1);

  // A trickle below the threshold never triggers a collection.
  stats.commandsProcessed += 1;
  stats.netOutputBytes += limits.idleGcTrafficBytesMin - 1;
  gc.tick();
  gc.tick();
  expect(collected).toBe(1);

  // Output counts as traffic too (reads allocate the values they send).
  stats.commandsProcessed += 1;
  stats.netOutputBytes += 1;
  gc.tick();
  gc.tick();
  expect(collected).toBe(2);
  expect(gc.collections).toBe(2);
});
