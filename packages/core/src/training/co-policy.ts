import { CoMonitor, type CoThresholds } from '../diagnostics/co-monitor.ts';
import type { CoPolicy } from './config.ts';
import type { MetricsLine } from './held-out.ts';
import type { LoopContext, LoopPolicy, LoopState } from './policy.ts';

/** At most this many rollbacks (smaller α, then GradAlign): a run that still collapses is reported, not looped. */
export const MAX_ROLLBACKS = 2;

/**
 * The state a CO rollback continues from: the checkpoint's, made more cautious — an FGSM method's first
 * rollback halves its step, any later one (and any other method's first) switches to GradAlign. Undefined
 * when the rollbacks are used up.
 */
export function rollbackState(current: LoopState, restored: LoopState, eps: number): LoopState | undefined {
  if (current.rollbacks >= MAX_ROLLBACKS) return undefined;
  const fgsmLike = current.method === 'fgsm' || current.method === 'fgsm-rs';
  const currentAlpha = current.alpha ?? (current.method === 'fgsm-rs' ? 1.25 * eps : eps);
  return fgsmLike && current.rollbacks === 0
    ? { ...restored, method: current.method, alpha: currentAlpha / 2, rollbacks: current.rollbacks + 1 }
    : { ...restored, method: 'gradalign', alpha: undefined, rollbacks: current.rollbacks + 1 };
}

/**
 * Watches every held-out line with a CoMonitor, marks the lines it fires on (co, co_rules, co_detail),
 * and then acts on `mode`: warn — an event; stop — end the run (the final model is still stored);
 * rollback — restore the newest checkpoint and re-run from it with `rollbackState`, or go on with a
 * warning when there is no checkpoint yet or no rollback left.
 */
export function coPolicy(mode: CoPolicy, thresholds: Partial<CoThresholds> = {}): LoopPolicy {
  let monitor = new CoMonitor(thresholds);
  // Every line the monitor has judged, a rolled-back epoch's included: after a rollback the monitor's
  // running bests are rebuilt from the lines up to the checkpoint, and the metrics file keeps them all.
  let seen: MetricsLine[] = [];

  async function rollback(ctx: LoopContext, line: MetricsLine): Promise<LoopState | undefined> {
    const ckpt = ctx.store.latestCheckpoint();
    if (!ckpt || ctx.state.rollbacks >= MAX_ROLLBACKS) return undefined;
    const restored = await ctx.store.restoreCheckpoint(ckpt, ctx.model, ctx.optimizer);
    const next = rollbackState(ctx.state, restored, ctx.config.eps)!;
    const message = `catastrophic overfitting: rolled back to epoch ${restored.epoch}, continuing with ${next.method}${next.alpha !== undefined ? ` α=${next.alpha.toFixed(4)}` : ''}`;
    ctx.store.appendMetrics({ epoch: line.epoch, step: line.step, event: message });
    await ctx.report.onEvent(message);
    monitor.reset(seen.filter((l) => l.epoch <= next.epoch));
    return next;
  }

  return {
    onStart(_ctx, history) {
      seen = history.filter((l) => l.event === undefined);
      monitor = CoMonitor.replay(seen, thresholds);
    },
    inspect(line) {
      const verdict = monitor.observe(line);
      seen.push(line);
      if (verdict.co) Object.assign(line, { co: true as const, co_rules: verdict.rules, co_detail: verdict.detail });
    },
    async afterHeldOut(ctx, line) {
      if (!line.co) return undefined;
      const detail = line.co_detail ?? '';
      await ctx.report.onCoFlag({ line, rules: line.co_rules ?? [], detail });
      if (mode === 'warn') {
        await ctx.report.onEvent(`catastrophic overfitting at epoch ${line.epoch}, step ${line.step}: ${detail}`);
        return undefined;
      }
      if (mode === 'stop') {
        await ctx.report.onEvent(`catastrophic overfitting at epoch ${line.epoch}: stopping (${detail})`);
        return { stop: true };
      }
      const next = await rollback(ctx, line);
      if (next) return { restart: next };
      await ctx.report.onEvent(
        `catastrophic overfitting at epoch ${line.epoch}; no rollback left (no checkpoint, or two already done): continuing`,
      );
      return undefined;
    },
  };
}
