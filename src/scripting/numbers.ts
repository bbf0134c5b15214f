/**
 * C's "%.<p>g" for doubles. Redis formats a number passed to redis.call with "%.17g" (Lua's
 * own tostring would lose precision), so 3 is "3" and 0.1 is "0.10000000000000001"; Lua 5.1
 * prints numbers with "%.14g" (1e15 is "1e+15"), which vm.ts installs into fengari.
 */
export function formatG(n: number, precision: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  // The exponent of the value rounded to `precision` digits decides the style, as in C.
  let [mantissa, e] = n.toExponential(precision - 1).split("e") as [string, string];
  const exponent = Number(e);
  if (exponent < -4 || exponent >= precision) {
    mantissa = stripZeros(mantissa);
    const sign = exponent < 0 ? "-" : "+";
    const digits = String(Math.abs(exponent)).padStart(2, "0");
    return `${mantissa}e${sign}${digits}`;
  }
  return stripZeros(n.toFixed(Math.max(0, precision - 1 - exponent)));
}

export function formatG17(n: number): string {
  return formatG(n, 17);
}

function stripZeros(s: string): string {
  if (!s.includes(".")) return s;
  return s.replace(/0+$/, "").replace(/\.$/, "");
}
