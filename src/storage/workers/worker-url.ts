/**
 * The URL of a Worker entry file of this folder (checkpoint-worker.ts, fsync-worker.ts, ...).
 * From source it sits next to this file. In the binary made by `npm run build`
 * (`bun build --compile` with src/main.ts and the workers as entry points) every entry point
 * lives in Bun's embedded file system at its path below src/, while import.meta.url names the
 * binary itself: a URL relative to it does not resolve, and the Worker then fails to load
 * with an error event only (tests/cli/binary.test.ts checks that the workers load).
 */
export function workerUrl(file: string): string {
  const here = import.meta.url;
  if (here.includes("/$bunfs/")) return new URL(`storage/workers/${file}`, here).href;
  return new URL(`./${file}`, here).href;
}
