/**
 * Making file system changes durable: fsync of a file, and of a directory so that a rename,
 * link or unlink inside it survives a crash (POSIX). Shared by the large-value files and the
 * maintenance tools; knows nothing else.
 */
import { closeSync, fsyncSync, openSync } from "node:fs";

export function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes renames, links and unlinks inside `dir` durable (POSIX: fsync the directory itself). */
export function fsyncDir(dir: string): void {
  fsyncFile(dir);
}
