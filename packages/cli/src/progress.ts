/** A one-line progress bar on stderr (rewritten in place on a TTY, a line per ~10% otherwise). */
export class ProgressBar {
  private readonly tty = process.stderr.isTTY === true;
  private lastPct = -1;
  /** The first update: callers create the bar when the first unit is already done, so the rate counts from here. */
  private origin: { done: number; time: number } | undefined;
  constructor(private readonly label: string) {}

  update(done: number, total: number, extra = ''): void {
    const frac = total > 0 ? done / total : 1;
    const now = performance.now();
    this.origin ??= { done, time: now };
    const elapsed = (now - this.origin.time) / 1000;
    const rate = done > this.origin.done && elapsed > 0 ? (done - this.origin.done) / elapsed : undefined;
    const eta = rate !== undefined ? (total - done) / rate : done >= total ? 0 : Number.NaN;
    const width = 24;
    const filled = Math.round(frac * width);
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${rate !== undefined ? rate.toFixed(1) : '?'}/s ETA ${formatSeconds(eta)}${extra ? ` ${extra}` : ''}`;
    if (this.tty) {
      process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 120) - 1)}\x1b[K`);
      if (done >= total) process.stderr.write('\n');
    } else {
      const pct = Math.floor(frac * 10);
      if (pct !== this.lastPct || done >= total) {
        this.lastPct = pct;
        process.stderr.write(`${line}\n`);
      }
    }
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${Math.round(s % 60)
        .toString()
        .padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${(m % 60).toString().padStart(2, '0')}m`;
}
