/**
 * The training runs under the served folders, as the dashboard lists them: found by walking each root a few
 * levels deep for the files a run directory holds (config.json, metrics.jsonl; see
 * packages/node/src/training/run-dir.ts), each with a status read from lock.json and summary.json, and its
 * metrics read with @advlab/report's parser.
 *
 * A dashboard watches files while they are written, so nothing here throws on what a live or damaged run
 * holds: a half-written last line waits for its newline, a garbage line (or a NaN, which JSON cannot hold) is
 * skipped with a note naming it, a malformed config.json is reported as a note.
 */
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readSync, realpathSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { DataFormatError } from '@advlab/core';
import { holderStatus, readLockHolder, type LockHolder } from '@advlab/node';
import { IMAGE_FILES, parseMetricsLine } from '@advlab/report';
import { isInside } from './paths.ts';

/** One parsed metrics line: a held-out measurement or an event. */
export type MetricsEntry = ReturnType<typeof parseMetricsLine>;

/** running: a live process holds lock.json; finished: summary.json is there; interrupted: neither. */
export type RunStatus = 'running' | 'finished' | 'interrupted';

/** One run as `GET /api/runs` lists it. Every string is data: the page escapes it, the JSON carries it as is. */
export interface RunInfo {
  /** Stable and URL-safe: `<root index>.<the path relative to the root, base64url>`; a key, never a path. */
  id: string;
  /** Index of the served folder the run is in. */
  root: number;
  /** The run's folder relative to its root, with `/` separators; `.` for the root itself. */
  path: string;
  /** The folder's name. */
  name: string;
  /** `method` from config.json, when it is a string. */
  method: string | null;
  /** See RunStatus. */
  status: RunStatus;
  /** Whether a metrics line is flagged `co: true` (catastrophic overfitting detected). */
  co: boolean;
  /** How many metrics lines (measurements and events) were read. */
  lines: number;
  /** The highest epoch in metrics.jsonl, or null before the first line. */
  epoch: number | null;
  /** Whether the run folder holds an eval.json (served by `GET /api/runs/:id/eval`). */
  eval: boolean;
  /** When the lock holder could not be checked (another host), who it is; null otherwise. */
  lockHost: string | null;
  /** The URL prefix of the run's files under /files/, ending with `/`. */
  files: string;
  /** The adversarial galleries in the folder (of @advlab/report's IMAGE_FILES, as the report shows them), to show from `files`. */
  images: string[];
}

/** The metrics of one run as served: the lines read, notes on what was skipped, and how far the file was read. */
export interface MetricsRead {
  /** Parsed lines in file order. */
  lines: MetricsEntry[];
  /** What was skipped and why, each naming the file and line. */
  notes: string[];
  /** Bytes read: the end of the last complete line. Live events continue from here. */
  offset: number;
  /** Complete lines read (parsed or skipped), to number the lines read after `offset`. */
  lineCount: number;
}

/** How deep below each root runs are looked for. */
export const MAX_DEPTH = 4;
/** At most this many folders are visited per scan, so a root such as a home folder cannot stall the server. */
const MAX_FOLDERS = 10_000;
/** At most this many bytes of metrics are read at once (the rest on the next read), so memory stays bounded. */
const MAX_READ_BYTES = 32 << 20;
/** At most this many garbage lines are skipped one by one per read; the rest of the text is then left out. */
const MAX_SKIPPED = 200;
// eval.json alone marks a folder of evaluations (the demo's out/demo): listed with its results, status finished.
const RUN_MARKERS = new Set(['config.json', 'metrics.jsonl', 'eval.json']);
/** Folders of a run that hold models and checkpoints, never runs. */
const RUN_INTERNALS = new Set(['checkpoints', 'model', 'best']);

/** The id of the run at `rel` (relative to root `root`): see RunInfo.id. */
export function runId(root: number, rel: string): string {
  return `${root}.${Buffer.from(rel, 'utf8').toString('base64url')}`;
}

/** The /files/ URL of `rel` inside root `root`, each segment percent-encoded. */
export function filesUrl(root: number, rel: string): string {
  const segments = rel === '.' ? [] : rel.split('/').map(encodeURIComponent);
  return `/files/${root}/${segments.map((s) => `${s}/`).join('')}`;
}

/**
 * The folders below `rootReal` (a real path) that `matches` (given their entries), relative to it with `/`
 * separators (`.` for the root), at most `maxDepth` levels down. Symbolic links are not followed (a link could
 * lead out of the root), nor hidden folders or node_modules; below a matching folder, the subfolders named in
 * `skipInside` are not entered.
 */
export function findFolders(
  rootReal: string,
  matches: (entries: readonly Dirent[]) => boolean,
  maxDepth = MAX_DEPTH,
  skipInside: ReadonlySet<string> = new Set(),
): string[] {
  const found: string[] = [];
  let visited = 0;
  const walk = (dir: string, depth: number) => {
    if (++visited > MAX_FOLDERS) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable or removed meanwhile
    }
    const match = matches(entries);
    if (match) found.push(relative(rootReal, dir).split(sep).join('/') || '.');
    if (depth >= maxDepth) return;
    const subdirs = entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules' && !(match && skipInside.has(e.name)))
      .map((e) => e.name)
      .sort();
    for (const name of subdirs) walk(join(dir, name), depth + 1);
  };
  walk(rootReal, 0);
  return found;
}

/**
 * The run folders below `rootReal`: those holding config.json, metrics.jsonl or eval.json as regular files (see
 * findFolders), never a run's own model and checkpoint folders.
 */
export function findRunDirs(rootReal: string, maxDepth = MAX_DEPTH): string[] {
  return findFolders(rootReal, (entries) => entries.some((e) => e.isFile() && RUN_MARKERS.has(e.name)), maxDepth, RUN_INTERNALS);
}

/**
 * The path of `name` in the run folder `dir` if it is a regular file (not a link) whose real path is inside a
 * served root; undefined otherwise. Checked at each read, since a run folder may change after it was found.
 */
export function runFile(rootsReal: readonly string[], dir: string, name: string): string | undefined {
  const path = join(dir, name);
  try {
    if (!lstatSync(path).isFile()) return undefined;
    const real = realpathSync(path);
    return rootsReal.some((r) => isInside(real, r)) ? real : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses complete metrics lines (`text` ends with a newline, or is empty) with @advlab/report's line parser. A
 * dashboard must survive what a report refuses: a malformed line anywhere is skipped with a note
 * `label:k: …` (k its 1-based line number in the file, `firstLine` being the text's first), and reading stops
 * after MAX_SKIPPED of them.
 */
export function parseMetricsText(text: string, label: string, firstLine = 1): { lines: MetricsEntry[]; notes: string[] } {
  const raw = text.split('\n');
  if (raw.at(-1) === '') raw.pop();
  const lines: MetricsEntry[] = [];
  const notes: string[] = [];
  let skipped = 0;
  for (let i = 0; i < raw.length; i++) {
    const l = raw[i]!;
    if (l.trim() === '') continue;
    try {
      lines.push(parseMetricsLine(l, `${label}:${firstLine + i}`));
    } catch (e) {
      if (!(e instanceof DataFormatError)) throw e;
      notes.push(`${label}:${firstLine + i}: skipped: expected ${e.expected}, found ${e.found}`);
      if (++skipped >= MAX_SKIPPED && i + 1 < raw.length) {
        notes.push(`${label}: ${raw.length - i - 1} further lines not read after ${MAX_SKIPPED} malformed ones`);
        break;
      }
    }
  }
  return { lines, notes };
}

/**
 * The complete lines of `file` from byte `offset` on, parsed: a last line without its newline (a write in
 * progress) is left for the next read. `lineCount` is the number of complete lines before `offset`.
 */
export function readMetricsFrom(file: string, label: string, offset = 0, lineCount = 0): MetricsRead {
  const fd = openSync(file, 'r');
  let bytes: Buffer;
  let size: number;
  try {
    size = fstatSync(fd).size;
    bytes = Buffer.alloc(Math.max(0, Math.min(size - offset, MAX_READ_BYTES)));
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    bytes = bytes.subarray(0, got);
  } finally {
    closeSync(fd);
  }
  const end = bytes.lastIndexOf(0x0a) + 1;
  const text = bytes.subarray(0, end).toString('utf8');
  const { lines, notes } = parseMetricsText(text, label, lineCount + 1);
  const complete = text === '' ? 0 : text.split('\n').length - 1;
  if (offset + bytes.length < size) {
    notes.push(
      end === 0
        ? `${label}:${lineCount + 1}: a line longer than ${MAX_READ_BYTES} bytes; the file is not read past it`
        : `${label}: read up to byte ${offset + end} of ${size}; the rest follows in the next read`,
    );
  } else if (end < bytes.length) {
    notes.push(`${label}:${lineCount + complete + 1}: an incomplete last line (a write in progress) is left for later`);
  }
  return { lines, notes, offset: offset + end, lineCount: lineCount + complete };
}

/** The run's metrics (none when it has no metrics.jsonl yet). */
export function readRunMetrics(rootsReal: readonly string[], dir: string, label = 'metrics.jsonl'): MetricsRead {
  const file = runFile(rootsReal, dir, 'metrics.jsonl');
  if (!file) return { lines: [], notes: [], offset: 0, lineCount: 0 };
  return readMetricsFrom(file, label);
}

/** config.json of a run, or null with a note when it is missing or not a JSON object. */
export function readRunConfig(rootsReal: readonly string[], dir: string): { config: Record<string, unknown> | null; notes: string[] } {
  const file = runFile(rootsReal, dir, 'config.json');
  if (!file) return { config: null, notes: ['config.json: not found'] };
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return { config: v as Record<string, unknown>, notes: [] };
    return { config: null, notes: [`config.json: expected a JSON object, found ${Array.isArray(v) ? 'an array' : String(v)}`] };
  } catch (e) {
    return { config: null, notes: [`config.json: expected a JSON object, found invalid JSON (${(e as Error).message})`] };
  }
}

/** lock.json's holder if a process that is alive (or cannot be checked from here) holds it. */
function liveLock(rootsReal: readonly string[], dir: string): { holder: LockHolder; verified: boolean } | undefined {
  const file = runFile(rootsReal, dir, 'lock.json');
  if (!file) return undefined;
  let holder: LockHolder | undefined;
  try {
    holder = readLockHolder(file);
  } catch {
    return undefined; // a lock advlab did not write (or cannot be read) holds nothing
  }
  if (!holder) return undefined;
  const status = holderStatus(holder);
  return status === 'dead' ? undefined : { holder, verified: status === 'alive' };
}

/** What a scan keeps about a metrics file, so an unchanged file is not parsed again. */
interface MetricsDigest {
  key: string;
  co: boolean;
  lines: number;
  epoch: number | null;
}

/** A run found by a scan: what it lists as, and its folder. */
export interface RunEntry {
  /** As listed. */
  info: RunInfo;
  /** Its folder (a real path inside its root). */
  dir: string;
}

/** The runs under a fixed list of roots, rescanned on demand; metrics digests cached by file identity and size. */
export class RunIndex {
  /** The roots' real paths, in the order given (their indices are the URLs' root segments). */
  readonly roots: readonly string[];
  private entries = new Map<string, RunEntry>();
  private digests = new Map<string, MetricsDigest>();

  /** `roots` must be real paths of existing folders (see realRootsOf in server.ts). */
  constructor(roots: readonly string[]) {
    this.roots = roots;
  }

  /** Walks the roots again and returns every run, in root order then path order. */
  scan(): RunInfo[] {
    const next = new Map<string, RunEntry>();
    const seen = new Set<string>();
    this.roots.forEach((root, i) => {
      for (const rel of findRunDirs(root)) {
        const dir = rel === '.' ? root : join(root, ...rel.split('/'));
        if (seen.has(dir)) continue; // a root nested in another: listed once, under the first
        seen.add(dir);
        const info = this.describe(i, rel, dir);
        next.set(info.id, { info, dir });
      }
    });
    for (const key of this.digests.keys()) if (!seen.has(key)) this.digests.delete(key);
    this.entries = next;
    return [...next.values()].map((e) => e.info);
  }

  /** The run with `id` from the last scan, scanning again once if it is not known (a run started since). */
  get(id: string): RunEntry | undefined {
    if (!this.entries.has(id)) this.scan();
    return this.entries.get(id);
  }

  private describe(root: number, rel: string, dir: string): RunInfo {
    const { config } = readRunConfig(this.roots, dir);
    const lock = liveLock(this.roots, dir);
    const digest = this.digest(dir);
    const hasEval = runFile(this.roots, dir, 'eval.json') !== undefined;
    const evalOnly = config === null && digest.lines === 0 && runFile(this.roots, dir, 'metrics.jsonl') === undefined && hasEval;
    const finished = evalOnly || runFile(this.roots, dir, 'summary.json') !== undefined;
    return {
      id: runId(root, rel),
      root,
      path: rel,
      name: basename(dir),
      method: typeof config?.method === 'string' ? config.method : null,
      status: lock ? 'running' : finished ? 'finished' : 'interrupted',
      co: digest.co,
      lines: digest.lines,
      epoch: digest.epoch,
      eval: hasEval,
      lockHost: lock && !lock.verified ? lock.holder.host : null,
      files: filesUrl(root, rel),
      images: IMAGE_FILES.filter((f) => runFile(this.roots, dir, f) !== undefined),
    };
  }

  private digest(dir: string): MetricsDigest {
    const file = runFile(this.roots, dir, 'metrics.jsonl');
    if (!file) return { key: '', co: false, lines: 0, epoch: null };
    const st = lstatSync(file);
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    const cached = this.digests.get(dir);
    if (cached?.key === key) return cached;
    const { lines } = readMetricsFrom(file, 'metrics.jsonl');
    const epochs = lines.map((l) => l.epoch).filter((e) => Number.isFinite(e));
    const digest: MetricsDigest = {
      key,
      co: lines.some((l) => (l as { co?: unknown }).co === true),
      lines: lines.length,
      epoch: epochs.length ? Math.max(...epochs) : null,
    };
    this.digests.set(dir, digest);
    return digest;
  }
}
