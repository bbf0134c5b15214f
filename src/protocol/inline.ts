/**
 * Redis's inline requests (a line typed into telnet): split into arguments as sdssplitargs
 * does, with its quoting and escapes. The parser (parser.ts) frames the line.
 */
import { ProtocolError } from "../errors.ts";

/** C isspace(): what sdssplitargs skips between arguments. */
function isSpace(b: number): boolean {
  return b === 32 || (b >= 9 && b <= 13);
}

/** Inline bytes that end a plain run: 1 = separator (space, tab, CR), 2 = quote. */
const STOP = new Uint8Array(256);
for (const b of [9, 13, 32]) STOP[b] = 1;
STOP[34] = 2;
STOP[39] = 2;

/** Hex digit values for the \\xHH escape; -1 for any other byte. */
const HEX = new Int8Array(256).fill(-1);
for (let d = 0; d < 16; d++) {
  HEX[d.toString(16).charCodeAt(0)] = d;
  HEX[d.toString(16).toUpperCase().charCodeAt(0)] = d;
}

/** The byte a backslash escape stands for inside double quotes; unknown escapes are literal. */
function escapedByte(e: number): number {
  return e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e === 98 ? 8 : e === 97 ? 7 : e;
}

const UNBALANCED = "unbalanced quotes in request";

/**
 * Splits an inline line like Redis's sdssplitargs. Plain arguments are views of `line`;
 * arguments with quotes are unescaped into one fresh buffer per line (inline requests come
 * from humans with telnet, so this path favours clarity over speed). Deliberate deviation:
 * a NUL byte is an ordinary byte here, while Redis 7 stops scanning at it and then waits
 * for a newline it can never see.
 */
export function splitInline(line: Uint8Array, n: number): Uint8Array[] {
  const args: Uint8Array[] = [];
  let out: Uint8Array | null = null;
  let o = 0;
  let i = 0;
  for (;;) {
    while (i < n && isSpace(line[i]!)) i++;
    if (i >= n) return args;
    const start = i;
    while (i < n && STOP[line[i]!] === 0) i++;
    if (i >= n || STOP[line[i]!] === 1) {
      args.push(line.subarray(start, i));
      continue;
    }
    // Quoted: unescape into `out`. Output never outgrows the line, so one buffer per line.
    out ??= new Uint8Array(n);
    const from = o;
    out.set(line.subarray(start, i), o);
    o += i - start;
    arg: while (i < n) {
      const q = line[i]!;
      if (STOP[q] === 1) break;
      i++;
      if (STOP[q] === 0) {
        out[o++] = q;
        continue;
      }
      for (;;) {
        if (i >= n) throw new ProtocolError(UNBALANCED);
        let c = line[i++]!;
        if (c === q) {
          // A closing quote must end the argument.
          if (i < n && !isSpace(line[i]!)) throw new ProtocolError(UNBALANCED);
          break arg;
        }
        if (c === 92 && i < n) {
          const e = line[i]!;
          const hi = q === 34 && e === 120 && i + 2 < n ? HEX[line[i + 1]!]! : -1;
          const lo = hi < 0 ? -1 : HEX[line[i + 2]!]!;
          if (lo >= 0) {
            c = hi * 16 + lo;
            i += 3;
          } else if (q === 34 || e === 39) {
            c = q === 34 ? escapedByte(e) : 39;
            i++;
          }
        }
        out[o++] = c;
      }
    }
    args.push(out.subarray(from, o));
  }
}
