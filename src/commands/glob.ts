/**
 * Redis-style glob matching on raw bytes (KEYS, SCAN MATCH): `*`, `?`, `[abc]`, `[^a]`,
 * `[a-z]` and `\` escapes, case-sensitive. Iterative with one backtrack point for `*`, so a
 * hostile pattern cannot blow the stack or take exponential time.
 */

/**
 * Redis gives up on a pattern whose match would recurse through more than this many `*`
 * groups (stringmatchlen's nesting guard, CVE-2022-36021): such a pattern matches nothing.
 */
const STAR_GROUPS_MAX = 1000;

export function globMatch(pattern: Uint8Array, subject: Uint8Array): boolean {
  if (pattern.length > STAR_GROUPS_MAX && starGroups(pattern) > STAR_GROUPS_MAX) return false;
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < subject.length) {
    if (p < pattern.length) {
      const c = pattern[p]!;
      if (c === 42 /* * */) {
        while (p < pattern.length && pattern[p] === 42) p++;
        if (p === pattern.length) return true;
        starP = p;
        starS = s;
        continue;
      }
      const step = matchOne(pattern, p, subject[s]!);
      if (step > 0) {
        p += step;
        s++;
        continue;
      }
    }
    if (starP < 0) return false;
    p = starP;
    s = ++starS;
  }
  while (p < pattern.length && pattern[p] === 42) p++;
  return p === pattern.length;
}

/** `*` runs that a match recurses through: every run but a trailing one (escapes skipped). */
function starGroups(pattern: Uint8Array): number {
  let groups = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === 92 /* \ */) i++;
    else if (c === 42) {
      while (i + 1 < pattern.length && pattern[i + 1] === 42) i++;
      if (i + 1 < pattern.length) groups++;
    }
  }
  return groups;
}

/** Length of the pattern element at p if it matches byte b, else 0. */
function matchOne(pattern: Uint8Array, p: number, b: number): number {
  const c = pattern[p]!;
  if (c === 63 /* ? */) return 1;
  if (c === 92 /* \ */ && p + 1 < pattern.length) return pattern[p + 1] === b ? 2 : 0;
  if (c !== 91 /* [ */) return c === b ? 1 : 0;
  let i = p + 1;
  const negate = pattern[i] === 94; /* ^ */
  if (negate) i++;
  let matched = false;
  while (i < pattern.length && pattern[i] !== 93 /* ] */) {
    if (pattern[i] === 92 && i + 1 < pattern.length) {
      if (pattern[i + 1] === b) matched = true;
      i += 2;
    } else if (i + 2 < pattern.length && pattern[i + 1] === 45 /* - */) {
      let lo = pattern[i]!;
      let hi = pattern[i + 2]!;
      if (lo > hi) [lo, hi] = [hi, lo];
      if (b >= lo && b <= hi) matched = true;
      i += 3;
    } else {
      if (pattern[i] === b) matched = true;
      i++;
    }
  }
  // An unterminated class ends at the pattern's end, as in Redis.
  const end = i < pattern.length ? i + 1 : i;
  return matched !== negate ? end - p : 0;
}

/** True when the pattern matches everything, so callers can skip matching. */
export function matchesAll(pattern: Uint8Array): boolean {
  return pattern.length === 1 && pattern[0] === 42;
}
