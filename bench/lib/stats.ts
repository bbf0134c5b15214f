/** Small statistics and formatting helpers shared by the benchmark scripts. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile of an already sorted array; p in [0, 100]. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(xs: readonly number[]): Spread {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** 12345.6 → "12,346"; 1234567 → "1.23M" when `compact`. */
export function num(x: number, compact = false): string {
  if (!Number.isFinite(x)) return "-";
  if (compact && Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (compact && Math.abs(x) >= 1e5) return `${Math.round(x / 1e3)}k`;
  return Math.round(x).toLocaleString("en-US");
}

/** "median [min–max]" for req/s columns; just the median when there is one sample. */
export function spreadText(s: Spread): string {
  if (s.min === s.max) return num(s.median, true);
  return `${num(s.median, true)} [${num(s.min, true)}–${num(s.max, true)}]`;
}

export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : "-";
}

/** Parses "64MiB", "1GiB", "500k", "1000000", "1_000_000" into a number. */
export function parseSize(text: string): number {
  const m = text
    .trim()
    .replace(/[_,]/g, "")
    .match(/^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$/i);
  if (!m) throw new Error(`not a size: ${text}`);
  const unit = (m[2] ?? "").toLowerCase();
  const base = unit.includes("i") || unit.endsWith("b") ? 1024 : 1000;
  const power = unit.startsWith("k") ? 1 : unit.startsWith("m") ? 2 : unit.startsWith("g") ? 3 : 0;
  return Math.round(Number(m[1]) * base ** power);
}

/** A markdown table from a header row and body rows. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
