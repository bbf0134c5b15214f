/**
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest common subsequence
 * of two string values, with Redis's replies (the string, its length, or the matching ranges
 * walked from the end of both strings). The two keys may live on different shards: both are
 * read on the server thread between write passes, so they come from one consistent state.
 * A missing key reads as the empty string, as in Redis.
 */
import { errors, RespError } from "../../errors.ts";
import { map, type Reply } from "../../protocol/reply.ts";
import { ROW_STRING } from "../../storage/api.ts";
import { bigInteger, equalsToken } from "../args.ts";
import { ks } from "../db.ts";
import type { CommandSpec, KeyCtx } from "../spec.ts";

/**
 * Most cells of the (len1+1)×(len2+1) table of 32-bit lengths: 64 Mi cells, 256 MiB (two
 * values of about 8000 bytes). Redis has no fixed bound and fails only when its allocation
 * fails; we refuse with Redis's allocation-failure error before allocating instead.
 */
const LCS_TABLE_CELLS_MAX = 64 * 1024 * 1024;

interface LcsOptions {
  len: boolean;
  idx: boolean;
  minMatchLen: number;
  withMatchLen: boolean;
}

function parseLcs(args: Uint8Array[]): LcsOptions {
  const opts: LcsOptions = { len: false, idx: false, minMatchLen: 0, withMatchLen: false };
  for (let i = 3; i < args.length; i++) {
    const a = args[i]!;
    if (equalsToken(a, "IDX")) opts.idx = true;
    else if (equalsToken(a, "LEN")) opts.len = true;
    else if (equalsToken(a, "WITHMATCHLEN")) opts.withMatchLen = true;
    else if (equalsToken(a, "MINMATCHLEN") && i + 1 < args.length) {
      const n = bigInteger(args[++i]!);
      opts.minMatchLen = n < 0n ? 0 : n > 0xffffffffn ? Number.MAX_SAFE_INTEGER : Number(n);
    } else throw errors.syntax();
  }
  if (opts.idx && opts.len) {
    throw new RespError("ERR", "If you want both the length and indexes, please just use IDX.");
  }
  return opts;
}

/** A key's string, empty when missing; Redis refuses other types with its own LCS text. */
function stringOf(ctx: KeyCtx, key: Uint8Array): Uint8Array {
  const entry = ks(ctx).entry(key);
  if (entry === null) return new Uint8Array(0);
  if (entry.type !== ROW_STRING)
    throw new RespError("ERR", "The specified keys must contain string values");
  return entry.value;
}

function lcs(ctx: KeyCtx, args: Uint8Array[]): Reply {
  // Redis looks the keys up (and checks their type) before it reads the options.
  const a = stringOf(ctx, args[1]!);
  const b = stringOf(ctx, args[2]!);
  const opts = parseLcs(args);
  const alen = a.length;
  const blen = b.length;
  const width = blen + 1;
  if ((alen + 1) * width > LCS_TABLE_CELLS_MAX) {
    throw new RespError("ERR", "Insufficient memory, failed allocating transient memory for LCS");
  }
  // dp[i * width + j] = length of the LCS of a[0..i) and b[0..j).
  const dp = new Uint32Array((alen + 1) * width);
  for (let i = 1; i <= alen; i++) {
    const row = i * width;
    const up = row - width;
    const ca = a[i - 1];
    for (let j = 1; j <= blen; j++) {
      if (ca === b[j - 1]) dp[row + j] = dp[up + j - 1]! + 1;
      else {
        const left = dp[row + j - 1]!;
        const above = dp[up + j]!;
        dp[row + j] = Math.max(above, left);
      }
    }
  }
  const total = dp[alen * width + blen]!;
  if (opts.len && !opts.idx) return total;

  // Walk back from the end, collecting the subsequence and the contiguous matching ranges.
  const result = new Uint8Array(total);
  const matches: Reply[] = [];
  let k = total;
  let i = alen;
  let j = blen;
  let inRange = false;
  let aStart = 0;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      result[--k] = a[i - 1]!;
      if (!inRange) {
        inRange = true;
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else {
        // The previous step matched at (i, j), so the range simply grows backwards.
        aStart--;
        bStart--;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      i--;
      j--;
    } else {
      if (dp[(i - 1) * width + j]! > dp[i * width + j - 1]!) i--;
      else j--;
      if (inRange) emit = true;
    }
    if (emit) {
      const matchLen = aEnd - aStart + 1;
      if (opts.idx && (opts.minMatchLen === 0 || matchLen >= opts.minMatchLen)) {
        const entry: Reply[] = [
          [aStart, aEnd],
          [bStart, bEnd],
        ];
        if (opts.withMatchLen) entry.push(matchLen);
        matches.push(entry);
      }
      inRange = false;
    }
  }
  if (opts.idx) {
    return map([
      ["matches", matches],
      ["len", total],
    ]);
  }
  return result;
}

export const lcsCommands: CommandSpec[] = [
  {
    name: "lcs",
    arity: -3,
    flags: ["readonly"],
    keys: { first: 1, last: 2, step: 1 },
    group: "string",
    since: "7.0.0",
    summary: "Finds the longest common substring.",
    syntax: "key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]",
    handler: lcs,
  },
];
