/**
 * Routing benchmark (mitata): cost of Router.shardOf for a 16-byte key at several shard counts,
 * and the candidate probe hashes (wyhash, xxHash3, rapidhash with a 64-bit seed) on 8–64 byte
 * keys, which is how src/storage/engine/routing.ts picked wyhash. Each probe is one hash call, so the
 * hash rows × 5 are the floor for shardOf. Usage: bun bench/routing.bench.ts
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { createRouter } from "../src/storage/engine/routing.ts";

const encoder = new TextEncoder();
const key = encoder.encode("user:00000012345"); // 16 bytes

group("shardOf, 16-byte key", () => {
  for (const n of [1, 4, 16, 64]) {
    const router = createRouter(n);
    bench(`N=${n}`, () => do_not_optimize(router.shardOf(key)));
  }
});

group("shardOf, 1024 distinct 16-byte keys (one iteration routes all)", () => {
  const keys = Array.from({ length: 1024 }, (_, i) =>
    encoder.encode(`k:${String(i).padStart(14, "0")}`),
  );
  for (const n of [4, 64]) {
    const router = createRouter(n);
    bench(`N=${n} ×1024`, () => {
      let sum = 0;
      for (const k of keys) sum += router.shardOf(k);
      return do_not_optimize(sum);
    });
  }
});

const SEED = 0x243f6a8885a308d3n;
for (const size of [8, 16, 32, 64]) {
  const data = Uint8Array.from({ length: size }, (_, i) => (i * 37 + 11) & 0xff);
  summary(() => {
    group(`one probe hash, ${size}-byte key`, () => {
      bench(`wyhash ${size}B`, () => do_not_optimize(Bun.hash.wyhash(data, SEED)));
      bench(`xxHash3 ${size}B`, () => do_not_optimize(Bun.hash.xxHash3(data, SEED)));
      bench(`rapidhash ${size}B`, () => do_not_optimize(Bun.hash.rapidhash(data, SEED)));
    });
  });
}

await run();
