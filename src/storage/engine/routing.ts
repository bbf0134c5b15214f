/**
 * Key → shard routing. This module owns the one function that decides which shard (SQLite file)
 * holds a key. Everything below (probe count, seeds, hash, ring positions, tie-break) is part of
 * the on-disk format: change any of it and existing keys route to the wrong shard and become
 * unreachable. tests/unit/storage/routing.test.ts pins expected shards to catch that.
 *
 * Algorithm: multi-probe consistent hashing (Appleton & O'Reilly, 2015). Each shard has one
 * fixed point on a 64-bit ring; a key is hashed PROBES times with independent seeds, and goes to
 * the shard whose point is the nearest clockwise successor of any probe (smallest distance wins,
 * equal distances go to the lower shard index). A shard's points never depend on the shard
 * count, so growing N → N+1 only moves keys onto the new shard, about 1/(N+1) of them.
 *
 * Ring points: shard i sits at i·⌊2⁶⁴/φ⌋ mod 2⁶⁴ (golden-ratio / Weyl sequence) rather than at a
 * hash of i. By the three-gap theorem the arcs between the first N points take at most three
 * lengths within a factor φ of each other for every N, and point N always splits one of the
 * largest arcs. Hashed points were measured and rejected: random arcs left the fullest of up to
 * 64 shards at 1.12–1.35 × mean with probes × points per shard of 21 × 1, 8 × 32, 6 × 64 or
 * 2 × 256. With evenly spread points one point per shard is enough, and the probes only have to
 * smooth the 3-gap unevenness (without sampling noise: ≈ 1.02 × mean for 5 probes, 1.04 for 3).
 * Probes use Bun.hash.wyhash: a little faster than xxHash3 and rapidhash for 8–16 byte keys, tied
 * at 32–64 (bench/routing.bench.ts). Each probe is one ~20 ns native call returning a BigInt,
 * which is then split into 32-bit halves, so lookups do no BigInt arithmetic.
 *
 * Fullest shard / mean over 200,000 keys "key:<i>", 5 probes × 1 point (tested limit 1.10;
 * sampling noise alone is ≈ +4% at N = 64), N = 2..64 in rows of 8:
 *   N= 2..:  1.002 1.002 1.007 1.006 1.011 1.005 1.006 1.011
 *   N=10..:  1.010 1.012 1.012 1.012 1.017 1.026 1.032 1.031
 *   N=18..:  1.029 1.027 1.023 1.027 1.031 1.033 1.033 1.036
 *   N=26..:  1.039 1.039 1.037 1.034 1.033 1.030 1.031 1.031
 *   N=34..:  1.032 1.035 1.041 1.038 1.037 1.038 1.040 1.041
 *   N=42..:  1.040 1.036 1.036 1.038 1.040 1.037 1.034 1.035
 *   N=50..:  1.032 1.034 1.036 1.034 1.034 1.034 1.032 1.034
 *   N=58..:  1.036 1.039 1.037 1.041 1.042 1.040 1.040
 * Worst: 1.042 (N=62); 200,000 random 8–64 byte keys: 1.042 (N=63). Worst with 3 probes:
 * 1.065 / 1.070, 4 probes: 1.051 / 1.046, 6 probes: 1.055 / 1.041. Growing N → N+1 moves
 * 0.95–1.04 × 1/(N+1) of the keys for every N from 1 to 64.
 */

export interface Router {
  readonly shardCount: number;
  shardOf(key: Uint8Array): number;
}

/** Independent hashes per key. Frozen: part of the on-disk format. */
const PROBES = 5;
const PROBE_SEEDS: readonly bigint[] = Object.freeze([
  0x243f6a8885a308d3n,
  0x13198a2e03707344n,
  0xa4093822299f31d0n,
  0x082efa98ec4e6c89n,
  0x452821e638d01377n,
]);
/** ⌊2⁶⁴/φ⌋, odd, so the first 2⁶⁴ points are all distinct (no two shards share a point). */
const GOLDEN_STEP = 0x9e3779b97f4a7c15n;
const MASK64 = (1n << 64n) - 1n;
const TWO_POW_32 = 0x1_0000_0000;
const MAX_BUCKET_BITS = 16;

const SINGLE_SHARD: Router = Object.freeze({ shardCount: 1, shardOf: (_key: Uint8Array) => 0 });

export function createRouter(shardCount: number): Router {
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new RangeError(`shard count must be an integer >= 1, got ${shardCount}`);
  }
  return shardCount === 1 ? SINGLE_SHARD : new MultiProbeRouter(shardCount);
}

class MultiProbeRouter implements Router {
  readonly shardCount: number;
  /** Ring points sorted ascending, split into 32-bit halves so lookups need no BigInt. */
  private readonly pointHi: Uint32Array;
  private readonly pointLo: Uint32Array;
  private readonly pointShard: Uint32Array;
  /**
   * Bucket index over the top bits of the ring: points with high half in bucket b are at
   * [firstInBucket[b], firstInBucket[b + 1]). Buckets outnumber points 4–8:1 (up to 2¹⁴ shards),
   * so a probe's lower-bound search is about one comparison instead of a branchy log₂N binary
   * search over the whole ring (measured: −30% per shardOf at N = 64 on distinct keys).
   */
  private readonly firstInBucket: Uint32Array;
  private readonly bucketShift: number;
  /** Per-router scratch: a probe's BigInt is written here and read back as two 32-bit halves. */
  private readonly scratch = new DataView(new ArrayBuffer(8));

  constructor(shardCount: number) {
    this.shardCount = shardCount;
    const points = Array.from({ length: shardCount }, (_, shard) => ({
      at: (BigInt(shard) * GOLDEN_STEP) & MASK64,
      shard,
    })).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    this.pointHi = new Uint32Array(shardCount);
    this.pointLo = new Uint32Array(shardCount);
    this.pointShard = new Uint32Array(shardCount);
    points.forEach(({ at, shard }, i) => {
      this.pointHi[i] = Number(at >> 32n);
      this.pointLo[i] = Number(at & 0xffff_ffffn);
      this.pointShard[i] = shard;
    });
    const bucketBits = Math.min(MAX_BUCKET_BITS, Math.ceil(Math.log2(shardCount)) + 2);
    this.bucketShift = 32 - bucketBits;
    this.firstInBucket = new Uint32Array((1 << bucketBits) + 1);
    for (let b = 0, i = 0; b <= 1 << bucketBits; b++) {
      while (i < shardCount && this.pointHi[i]! >>> this.bucketShift < b) i++;
      this.firstInBucket[b] = i;
    }
  }

  shardOf(key: Uint8Array): number {
    const { pointHi, pointLo, pointShard, firstInBucket, bucketShift, scratch } = this;
    const n = pointHi.length;
    let bestHi = TWO_POW_32; // larger than any distance's high half
    let bestLo = 0;
    let best = 0;
    for (let p = 0; p < PROBES; p++) {
      scratch.setBigUint64(0, Bun.hash.wyhash(key, PROBE_SEEDS[p]));
      const hi = scratch.getUint32(0);
      const lo = scratch.getUint32(4);
      // First point >= probe (lower bound), wrapping past the top of the ring to point 0.
      const bucket = hi >>> bucketShift;
      let low = firstInBucket[bucket]!;
      let high = firstInBucket[bucket + 1]!;
      while (low < high) {
        const mid = (low + high) >>> 1;
        const midHi = pointHi[mid]!;
        if (midHi < hi || (midHi === hi && pointLo[mid]! < lo)) low = mid + 1;
        else high = mid;
      }
      if (low === n) low = 0;
      // Clockwise distance point − probe mod 2⁶⁴, as two 32-bit halves.
      let dLo = pointLo[low]! - lo;
      let dHi = pointHi[low]! - hi;
      if (dLo < 0) {
        dLo += TWO_POW_32;
        dHi -= 1;
      }
      if (dHi < 0) dHi += TWO_POW_32;
      const shard = pointShard[low]!;
      if (dHi < bestHi || (dHi === bestHi && (dLo < bestLo || (dLo === bestLo && shard < best)))) {
        bestHi = dHi;
        bestLo = dLo;
        best = shard;
      }
    }
    return best;
  }
}
