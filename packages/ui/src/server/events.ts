/**
 * Live changes of the runs, for the server-sent events of `GET /api/events`: new metrics lines as they are
 * appended, and the run list when a run appears, disappears or changes status.
 *
 * fs.watch on each run folder (not on metrics.jsonl itself, which a rewrite replaces) reports an append
 * within milliseconds; a rescan every `rescanMs` finds new runs and status changes (lock.json, summary.json)
 * and also checks every metrics file, so a missed watch event (or a system out of inotify watches) delays a
 * line by at most one rescan instead of losing it. Watchers exist only while someone listens: start() on
 * the first client, stop() after the last.
 */
import { EventEmitter } from 'node:events';
import { type FSWatcher, statSync, watch } from 'node:fs';
import { type MetricsEntry, type RunIndex, type RunInfo, readMetricsFrom, readRunMetrics, runFile } from './runs.ts';

/** New lines of one run's metrics.jsonl. */
export interface MetricsEvent {
  /** The run's id. */
  run: string;
  /** Byte offset the lines start at: a client that read the file up to another offset should fetch it again. */
  from: number;
  /** Byte offset after the last complete line. */
  to: number;
  /** True when the file was replaced or truncated: `lines` are then the whole file (from 0), not an append. */
  reset: boolean;
  /** The new lines, parsed. */
  lines: MetricsEntry[];
  /** What was skipped among them and why. */
  notes: string[];
}

/** What LiveRuns emits: 'metrics' with a MetricsEvent, 'runs' with the whole list when it changed. */
export interface LiveRunsEvents {
  /** New lines of a run. */
  metrics: [MetricsEvent];
  /** The run list changed (a run appeared or disappeared, a status changed). */
  runs: [RunInfo[]];
}

interface Tail {
  dir: string;
  offset: number;
  lineCount: number;
  ino: number | null;
  watcher: FSWatcher | null;
  timer: NodeJS.Timeout | null;
}

/** Watches the runs of a RunIndex while started; see the module comment. */
export class LiveRuns extends EventEmitter<LiveRunsEvents> {
  private tails = new Map<string, Tail>();
  private rescanTimer: NodeJS.Timeout | null = null;
  private listed = '';

  /** `rescanMs`: how often new runs and status changes are looked for (and every file checked). */
  constructor(
    private readonly index: RunIndex,
    private readonly rescanMs = 2000,
  ) {
    super();
  }

  /** Whether the watchers are running. */
  get active(): boolean {
    return this.rescanTimer !== null;
  }

  /** How many fs.watch watchers are open (one per run folder while active; 0 after stop()). */
  get watcherCount(): number {
    let n = 0;
    for (const t of this.tails.values()) if (t.watcher) n++;
    return n;
  }

  /** Starts watching every run from the current end of its metrics; idempotent. */
  start(): void {
    if (this.rescanTimer) return;
    this.rescanTimer = setInterval(() => this.rescan(), this.rescanMs);
    this.rescanTimer.unref();
    this.rescan();
  }

  /** Closes every watcher and timer; idempotent. */
  stop(): void {
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.rescanTimer = null;
    for (const id of [...this.tails.keys()]) this.drop(id);
    this.listed = '';
  }

  /** Rescans the roots: adds and drops tails, emits 'runs' when the list changed, checks every metrics file. */
  rescan(): void {
    const runs = this.index.scan();
    const ids = new Set(runs.map((r) => r.id));
    for (const id of [...this.tails.keys()]) if (!ids.has(id)) this.drop(id);
    for (const r of runs) {
      const tail = this.tails.get(r.id);
      if (tail) this.check(r.id, tail);
      else this.add(r.id);
    }
    const listed = JSON.stringify(runs);
    if (this.listed !== '' && listed !== this.listed) this.emit('runs', runs);
    this.listed = listed;
  }

  private add(id: string): void {
    const entry = this.index.get(id);
    if (!entry) return;
    const read = readRunMetrics(this.index.roots, entry.dir);
    const tail: Tail = {
      dir: entry.dir,
      offset: read.offset,
      lineCount: read.lineCount,
      ino: this.inode(entry.dir),
      watcher: null,
      timer: null,
    };
    try {
      tail.watcher = watch(entry.dir, { persistent: false }, (_event, name) => {
        // Status files change the list; anything else (checkpoints, temp files) is not the dashboard's business.
        if (name === 'metrics.jsonl' || name === null) this.schedule(id, tail);
        else if (name === 'summary.json' || name === 'lock.json') this.schedule(id, tail, true);
      });
      tail.watcher.on('error', () => {
        // The folder was removed or the system refused: the rescan still checks this run.
        tail.watcher?.close();
        tail.watcher = null;
      });
    } catch {
      tail.watcher = null; // e.g. out of inotify watches: rely on the rescan
    }
    this.tails.set(id, tail);
  }

  private drop(id: string): void {
    const t = this.tails.get(id);
    if (!t) return;
    t.watcher?.close();
    if (t.timer) clearTimeout(t.timer);
    this.tails.delete(id);
  }

  /** Coalesces the bursts of events one append produces into one read. */
  private schedule(id: string, tail: Tail, relist = false): void {
    if (tail.timer) return;
    tail.timer = setTimeout(() => {
      tail.timer = null;
      if (this.tails.get(id) !== tail) return;
      if (relist) this.rescan();
      else this.check(id, tail);
    }, 20);
    tail.timer.unref();
  }

  private inode(dir: string): number | null {
    const file = runFile(this.index.roots, dir, 'metrics.jsonl');
    if (!file) return null;
    try {
      return statSync(file).ino;
    } catch {
      return null;
    }
  }

  /** Emits the lines appended since the last check, or the whole file when it was replaced or truncated. */
  private check(id: string, tail: Tail): void {
    const file = runFile(this.index.roots, tail.dir, 'metrics.jsonl');
    let size = 0;
    let ino: number | null = null;
    if (file) {
      try {
        const st = statSync(file);
        size = st.size;
        ino = st.ino;
      } catch {
        // removed meanwhile: as if empty
      }
    }
    const replaced = ino !== tail.ino || size < tail.offset;
    if (!replaced && size === tail.offset) return;
    try {
      const from = replaced ? 0 : tail.offset;
      const read = file ? readMetricsFrom(file, 'metrics.jsonl', from, replaced ? 0 : tail.lineCount) : undefined;
      tail.ino = ino;
      if (!read) {
        tail.offset = 0;
        tail.lineCount = 0;
        this.emit('metrics', { run: id, from: 0, to: 0, reset: true, lines: [], notes: [] });
        return;
      }
      if (!replaced && read.offset === from) return; // only part of a line so far
      tail.offset = read.offset;
      tail.lineCount = read.lineCount;
      this.emit('metrics', { run: id, from, to: read.offset, reset: replaced, lines: read.lines, notes: read.notes });
    } catch {
      // The file vanished between stat and read: the next event or rescan sees what replaced it.
    }
  }
}
