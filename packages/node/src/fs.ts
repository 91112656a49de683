import { writeFileSync, renameSync, mkdirSync, openSync, fsyncSync, closeSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Write a file so a reader never sees a half-written one: write a temp file beside it, fsync, rename.
 * When any step fails (a full disk, a directory at `path`: EISDIR on rename, …) the temp file is removed
 * and the error rethrown, so a failed write leaves the folder as it was.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, data);
    fsyncFile(tmp);
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the original error is the one to report
    }
    throw e;
  }
}

/** Flushes `path`'s data to disk (what was written survives a power cut once this returns). */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
