/**
 * Which file a `/files/<root>/<path…>` URL names, decided before anything is opened. `<root>` is the index of a
 * served folder (in the order given to `advlab ui`), `<path…>` a path inside it, one URL segment per folder.
 *
 * MLflow's path-traversal CVEs (2023-1177, 2023-2356, 2023-2780, 2023-6730, 2024-1560) each slipped one
 * spelling of "go up" past a check made on a different spelling than the one the filesystem saw. So the raw
 * path is split on `/` *before* decoding (an encoded `%2F` never becomes a separator), each segment is decoded
 * exactly once, and anything that could still mean "up" or "elsewhere" after that — `.`/`..`, a separator, a
 * NUL, a second layer of encoding, a hidden name — is refused rather than normalised. What survives is
 * joined to the root's real path and the result's real path (symbolic links resolved) must still be inside
 * a served root: a link pointing out is refused however it was reached.
 */
import { closeSync, constants, fstatSync, openSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { ConfigError, DataMissingError } from '@advlab/core';

/** The URL prefix of served files. */
export const FILES_PREFIX = '/files/';

/** A request path that tries to leave the served folders or cannot be read safely (HTTP 403, code E_CONFIG). */
export class PathRefusedError extends ConfigError {
  /** The HTTP status the server answers with. */
  readonly status = 403;
  constructor(expected: string, found: string) {
    super('path', expected, found);
  }
}

/** A request path inside the served folders that names no regular file (HTTP 404, code E_DATA_MISSING). */
export class PathNotFoundError extends DataMissingError {
  /** The HTTP status the server answers with. */
  readonly status = 404;
  constructor(requestPath: string, hint = '') {
    super(clip(requestPath), hint);
  }
}

function clip(s: string, n = 120): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** Whether `path` is `root` or below it (both absolute, both already free of symbolic links). */
export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The real paths of `roots`, in order; a root that no longer exists is left out of matching by being
 * `undefined` (its index keeps its place, so the URLs of the others do not shift).
 */
function realRoots(roots: readonly string[]): (string | undefined)[] {
  return roots.map((r) => {
    try {
      return realpathSync(r);
    } catch {
      return undefined;
    }
  });
}

/** Whether a decoded segment, decoded once more, would say "up", "root" or "elsewhere": a sign of double encoding. */
function hidesTraversal(decoded: string): boolean {
  if (!/%[0-9a-f]{2}/i.test(decoded)) return false;
  let again: string;
  try {
    again = decodeURIComponent(decoded);
  } catch {
    return false; // not valid percent-encoding: a literal '%' in a file name
  }
  return /[/\\\0]/.test(again) || again.startsWith('.');
}

/** One raw URL segment decoded exactly once, or PathRefusedError saying what it hid. */
function decodeSegment(raw: string): string {
  const expected = 'a path of plain names inside a served folder';
  if (raw === '') throw new PathRefusedError(`${expected} (no empty segment: // or an absolute path)`, 'an empty segment');
  if (raw.length > 1024) throw new PathRefusedError(`${expected} (segments of at most 1024 characters)`, `${raw.length} characters`);
  let d: string;
  try {
    d = decodeURIComponent(raw);
  } catch {
    throw new PathRefusedError(`${expected} (valid percent-encoding)`, JSON.stringify(clip(raw, 40)));
  }
  const found = `${JSON.stringify(clip(raw, 40))}`;
  if (d.includes('\0')) throw new PathRefusedError(`${expected} (no NUL byte)`, `${found}, a NUL byte`);
  if (d.includes('/') || d.includes('\\')) throw new PathRefusedError(`${expected} (no encoded separator)`, `${found}, a separator`);
  if (d === '.' || d === '..') throw new PathRefusedError(`${expected} (no . or .. segment)`, found);
  // Hidden files (.git, .env, temp files of atomic writes) are never part of a run worth showing.
  if (d.startsWith('.')) throw new PathRefusedError(`${expected} (no hidden file or folder)`, found);
  if (hidesTraversal(d)) throw new PathRefusedError(`${expected} (encoded once; %25 before a dot or separator is double encoding)`, found);
  return d;
}

/**
 * The real path of the regular file that `requestPath` (the raw URL path, not decoded, without its query)
 * names: `/files/<rootIndex>/<segment>/…/<file>` inside `roots[rootIndex]`. Throws PathRefusedError (403)
 * for `..` in any spelling (raw, `%2e%2e`, `%252e%252e`), a backslash (raw or `%5c`), an encoded `/`, an
 * empty segment (an absolute path), a NUL byte (raw or `%00`), a hidden name, or a symbolic link whose real
 * path is outside every root; PathNotFoundError (404) when no such regular file exists.
 */
export function resolveInsideRoots(roots: readonly string[], requestPath: string): string {
  if (!requestPath.startsWith(FILES_PREFIX)) throw new PathNotFoundError(requestPath, `served files are under ${FILES_PREFIX}`);
  // Checked on the raw text too: some of these never reach a segment intact (a raw NUL ends C strings).
  if (requestPath.includes('\0')) throw new PathRefusedError('a path without NUL bytes', 'a NUL byte');
  if (requestPath.includes('\\')) throw new PathRefusedError('a path with / as its only separator', 'a backslash');
  const [rootRaw = '', ...rest] = requestPath.slice(FILES_PREFIX.length).split('/');
  const index = /^(0|[1-9][0-9]{0,3})$/.test(rootRaw) ? Number(rootRaw) : -1;
  const reals = realRoots(roots);
  const root = reals[index];
  if (root === undefined)
    throw new PathNotFoundError(requestPath, `the first segment is the index of a served folder, 0 to ${roots.length - 1}`);
  if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) throw new PathNotFoundError(requestPath, 'folders are not listed');
  const segments = rest.map(decodeSegment);
  const candidate = join(root, ...segments);
  // Cannot fail after the checks above; kept so that a future change to them cannot open a hole silently.
  if (!isInside(candidate, root)) throw new PathRefusedError('a path inside the served folder', 'a path leading out of it');
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    throw new PathNotFoundError(requestPath);
  }
  if (!reals.some((r) => r !== undefined && isInside(real, r))) {
    throw new PathRefusedError('a file whose real path is inside a served folder', 'a symbolic link leading outside them');
  }
  let isFile = false;
  try {
    isFile = statSync(real).isFile();
  } catch {
    // vanished between the two calls: not found
  }
  // Folders are not listed, and a FIFO or device would block or never end.
  if (!isFile) throw new PathNotFoundError(requestPath, 'only regular files are served');
  return real;
}

/** An open served file: read from `fd` (the caller closes it), `size` bytes, at `path` (its real path). */
export interface OpenedFile {
  /** The file descriptor, opened read-only. */
  fd: number;
  /** Its size in bytes when opened. */
  size: number;
  /** Its real path. */
  path: string;
}

/**
 * resolveInsideRoots, then opens the file read-only without following a symbolic link in its last component
 * and checks that what was opened is the regular file that was checked (same device and inode): a file
 * swapped for a link between the check and the open is refused instead of read.
 */
export function openInsideRoots(roots: readonly string[], requestPath: string): OpenedFile {
  const path = resolveInsideRoots(roots, requestPath);
  const checked = statSync(path);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    throw new PathRefusedError('a regular file that can be opened read-only', 'a file replaced or unreadable after it was checked');
  }
  const opened = fstatSync(fd);
  if (!opened.isFile() || opened.ino !== checked.ino || opened.dev !== checked.dev) {
    closeSync(fd);
    throw new PathRefusedError('the file that was checked', 'another file in its place (it changed between check and open)');
  }
  return { fd, size: opened.size, path };
}
