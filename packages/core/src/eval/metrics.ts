/** Fraction of ones in `flags` (0 for an empty set). */
export function mean(flags: ArrayLike<number>): number {
  if (flags.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < flags.length; i++) s += flags[i]!;
  return s / flags.length;
}

/** Per-class mean of `flags` over the examples of each label (NaN for a class with no example). */
export function perClass(flags: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number[] {
  const hit = new Array<number>(numClasses).fill(0);
  const count = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < flags.length; i++) {
    hit[labels[i]!]! += flags[i]!;
    count[labels[i]!]! += 1;
  }
  return hit.map((h, k) => (count[k] ? h / count[k]! : Number.NaN));
}

/** The spread of a per-class accuracy list: the worst class (its label and accuracy) and the best accuracy. */
export interface ClassSummary {
  worst_class: number;
  worst: number;
  best: number;
  /** max − min over the classes present. */
  spread: number;
}

/** Summarises `per` (per-class accuracies), skipping NaN entries; with none left, `worst_class` is −1. */
export function classSummary(per: number[]): ClassSummary {
  let worstClass = -1;
  let worst = Infinity;
  let best = -Infinity;
  per.forEach((v, k) => {
    if (Number.isNaN(v)) return;
    if (v < worst) [worst, worstClass] = [v, k];
    best = Math.max(best, v);
  });
  return { worst_class: worstClass, worst, best, spread: best - worst };
}
