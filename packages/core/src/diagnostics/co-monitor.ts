import { ConfigError } from '../errors.ts';

/** One held-out measurement during training (accuracies as fractions). */
export interface MetricPoint {
  epoch: number;
  step: number;
  clean_acc: number;
  fgsm_acc: number;
  pgd_acc: number;
  grad_align: number;
  /** The held-out linearity error γ, when the line carries it (training/held-out.ts). */
  linearity_error?: number;
}

/**
 * When the CO monitor fires; accuracies and alignments are fractions. Missing fields take DEFAULT_CO_THRESHOLDS;
 * a value that is not finite is a ConfigError naming `co.<field>`.
 */
export interface CoThresholds {
  /** Fire when PGD accuracy falls more than this below its best so far (absolute fraction). */
  pgdDrop: number;
  /** Fire when alignment falls below this fraction of its best so far (after it has reached `alignMin`). */
  alignRatio: number;
  alignMin: number;
  /** Fire when FGSM accuracy exceeds clean accuracy by more than this: the model "learns" FGSM's points. */
  fgsmOverClean: number;
  /** Fire when FGSM accuracy exceeds PGD accuracy by more than this: FGSM no longer approximates the max. */
  fgsmPgdGap: number;
  /**
   * Fire when the held-out linearity error γ exceeds this (absolute). Off unless set: γ's scale depends on the
   * model, the data and ε, so its threshold is measured per setting (docs/RESULTS.md, "Can curvature help?").
   */
  linearityError?: number;
}

/** The thresholds a CoMonitor uses unless told otherwise (a 20-point PGD drop, alignment halved after reaching 0.2, ...). */
export const DEFAULT_CO_THRESHOLDS: CoThresholds = { pgdDrop: 0.2, alignRatio: 0.5, alignMin: 0.2, fgsmOverClean: 0, fgsmPgdGap: 0.3 };

/** The CoMonitor rule that fired, one per CoThresholds criterion. */
export type CoRule = 'pgd-drop' | 'alignment-collapse' | 'fgsm-above-clean' | 'fgsm-pgd-gap' | 'linearity-error';

/** What `CoMonitor.observe` concluded about one point: `co` if any rule fired, the rules, and why in words. */
export interface CoVerdict {
  co: boolean;
  rules: CoRule[];
  detail: string;
}

/**
 * Catastrophic-overfitting monitor over a stream of held-out metrics. It watches a drop from the best
 * PGD accuracy, a collapse of gradient alignment, and two gaps that need no history: FGSM accuracy
 * above clean accuracy, and a large FGSM–PGD gap. The gaps catch a model that was never robust (zero-
 * init FGSM at large ε), which a drop-from-best rule alone misses.
 */
export class CoMonitor {
  private bestPgd = -Infinity;
  private bestAlign = -Infinity;
  readonly thresholds: CoThresholds;

  constructor(thresholds: Partial<CoThresholds> = {}) {
    this.thresholds = { ...DEFAULT_CO_THRESHOLDS, ...thresholds };
    for (const [k, v] of Object.entries(this.thresholds)) {
      if (!Number.isFinite(v)) throw new ConfigError(`co.${k}`, 'a finite number', String(v));
    }
  }

  /** Restores the running bests (for resumed runs) from earlier points. */
  static replay(points: MetricPoint[], thresholds: Partial<CoThresholds> = {}): CoMonitor {
    const m = new CoMonitor(thresholds);
    for (const p of points) m.observe(p);
    return m;
  }

  /** Resets the history, e.g. after a rollback to a checkpoint. */
  reset(points: MetricPoint[] = []): void {
    this.bestPgd = -Infinity;
    this.bestAlign = -Infinity;
    for (const p of points) this.observe(p);
  }

  /** Judges `p` against the bests seen so far, then folds it into them; call it once per point, in training order. */
  observe(p: MetricPoint): CoVerdict {
    const t = this.thresholds;
    const rules: CoRule[] = [];
    const why: string[] = [];
    if (p.pgd_acc < this.bestPgd - t.pgdDrop) {
      rules.push('pgd-drop');
      why.push(`PGD accuracy ${pct(p.pgd_acc)} is more than ${pct(t.pgdDrop)} below its best ${pct(this.bestPgd)}`);
    }
    if (this.bestAlign >= t.alignMin && p.grad_align < t.alignRatio * this.bestAlign) {
      rules.push('alignment-collapse');
      why.push(`gradient alignment ${p.grad_align.toFixed(3)} < ${t.alignRatio} × best ${this.bestAlign.toFixed(3)}`);
    }
    if (p.fgsm_acc > p.clean_acc + t.fgsmOverClean) {
      rules.push('fgsm-above-clean');
      why.push(`FGSM accuracy ${pct(p.fgsm_acc)} above clean ${pct(p.clean_acc)}`);
    }
    if (p.fgsm_acc - p.pgd_acc > t.fgsmPgdGap) {
      rules.push('fgsm-pgd-gap');
      why.push(`FGSM accuracy ${pct(p.fgsm_acc)} exceeds PGD accuracy ${pct(p.pgd_acc)} by more than ${pct(t.fgsmPgdGap)}`);
    }
    if (t.linearityError !== undefined && typeof p.linearity_error === 'number' && p.linearity_error > t.linearityError) {
      rules.push('linearity-error');
      why.push(`linearity error ${p.linearity_error.toPrecision(3)} above ${t.linearityError}`);
    }
    this.bestPgd = Math.max(this.bestPgd, p.pgd_acc);
    this.bestAlign = Math.max(this.bestAlign, p.grad_align);
    return { co: rules.length > 0, rules, detail: why.join('; ') };
  }
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
