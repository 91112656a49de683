/** Small file helpers shared by the data loaders: every failure becomes a DataMissingError / DataFormatError. */
import { closeSync, openSync, readSync, readFileSync, statSync, type Stats } from 'node:fs';
import { DataFormatError, DataMissingError } from '@advlab/core';

/** 1 GiB = 2^30 bytes. */
export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export function fmtBytes(n: number | bigint): string {
  const v = Number(n);
  if (v >= GiB) return `${n} bytes (${(v / GiB).toFixed(2)} GiB)`;
  if (v >= MiB) return `${n} bytes (${(v / MiB).toFixed(1)} MiB)`;
  return `${n} bytes`;
}

/** stat() a path; a missing path throws DataMissingError(path, hint). */
export function statPath(path: string, hint = ''): Stats {
  let st: Stats | undefined;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    throw new DataFormatError(path, 'a readable path', errText(e));
  }
  if (!st) throw new DataMissingError(path, hint);
  return st;
}

/** stat() a regular file, rejecting directories and files over `maxBytes` before anything is read. */
export function statFile(path: string, maxBytes: number, hint = ''): number {
  const st = statPath(path, hint);
  if (!st.isFile()) throw new DataFormatError(path, 'a regular file', st.isDirectory() ? 'a directory' : 'not a regular file');
  if (st.size > maxBytes) throw new DataFormatError(path, `a file of at most ${fmtBytes(maxBytes)} (the size cap)`, fmtBytes(st.size));
  return st.size;
}

/** Reads a whole file after checking its size against `maxBytes`. */
export function readFileCapped(path: string, maxBytes: number, hint = ''): Buffer {
  statFile(path, maxBytes, hint);
  try {
    return readFileSync(path);
  } catch (e) {
    throw readError(path, e, hint);
  }
}

/** Reads at most `length` bytes from the start of a file (fewer if the file is shorter). */
export function readPrefix(path: string, length: number, hint = ''): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw readError(path, e, hint);
  }
  try {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const r = readSync(fd, buf, got, length - got, got);
      if (r === 0) break;
      got += r;
    }
    return buf.subarray(0, got);
  } catch (e) {
    throw readError(path, e, hint);
  } finally {
    closeSync(fd);
  }
}

function readError(path: string, e: unknown, hint: string): Error {
  const code = (e as { code?: string } | null)?.code;
  if (code === 'ENOENT') return new DataMissingError(path, hint);
  if (code === 'EISDIR') return new DataFormatError(path, 'a regular file', 'a directory');
  return new DataFormatError(path, 'a readable file', errText(e));
}

export function errText(e: unknown): string {
  if (e instanceof Error) return (e as { code?: string }).code ? `${(e as { code?: string }).code}: ${e.message}` : e.message;
  return String(e);
}
