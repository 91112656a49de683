import * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '../models/classifier.ts';
import { crossEntropy } from '../losses/losses.ts';
import { inputGradient } from '../attacks/gradient.ts';

/**
 * Sanity checks run with every evaluation (AutoAttack-style): each has a stable code documented in
 * docs/checks.md. A failed check does not stop the evaluation; it says the numbers may not be trusted.
 */
export type CheckCode =
  | 'monotone-eps'
  | 'pgd-le-fgsm'
  | 'large-eps'
  | 'zero-gradients'
  | 'logits-not-probabilities'
  | 'deterministic'
  | 'in-ball-and-box';

export interface CheckResult {
  code: CheckCode;
  passed: boolean;
  /** True when the check could not apply (e.g. a single ε); `passed` is then true. */
  skipped: boolean;
  detail: string;
}

export const CHECK_DOCS: Record<CheckCode, string> = {
  'monotone-eps': 'robust accuracy does not increase with ε (a larger ball contains the smaller one)',
  'pgd-le-fgsm': 'no example survives PGD but falls to FGSM (a multi-step attack should dominate one step)',
  'large-eps': 'at a very large ε (the whole box) PGD brings accuracy to about 0',
  'zero-gradients': 'no clean example has an all-zero input gradient (gradient masking / saturated softmax)',
  'logits-not-probabilities': 'the model outputs logits, not probabilities (CE on probabilities masks gradients)',
  deterministic: 'two forward passes on the same input give the same logits (randomised defences fool attacks)',
  'in-ball-and-box': "every adversarial point lies inside the ε-ball and the input box (the model's bounds, [0,1] by default)",
};

export function check(code: CheckCode, passed: boolean, detail: string, skipped = false): CheckResult {
  return { code, passed, skipped, detail };
}

export function skipped(code: CheckCode, why: string): CheckResult {
  return check(code, true, `skipped: ${why}`, true);
}

/** Robust accuracy (per attack) must not rise with ε. */
export function checkMonotoneEps(series: { name: string; eps: number; acc: number }[]): CheckResult {
  const byName = new Map<string, { eps: number; acc: number }[]>();
  for (const s of series) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  if (![...byName.values()].some((v) => v.length > 1)) return skipped('monotone-eps', 'a single ε');
  const bad: string[] = [];
  for (const [name, pts] of byName) {
    const sorted = [...pts].sort((a, b) => a.eps - b.eps);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.acc > sorted[i - 1]!.acc)
        bad.push(`${name}: ${sorted[i - 1]!.acc} at ε=${sorted[i - 1]!.eps} < ${sorted[i]!.acc} at ε=${sorted[i]!.eps}`);
    }
  }
  return check('monotone-eps', bad.length === 0, bad.length ? bad.join('; ') : 'robust accuracy non-increasing in ε for every attack');
}

/** Count examples fooled by FGSM but not by PGD at the same ε. */
export function checkPgdLeFgsm(fgsmRobust: Uint8Array | undefined, pgdRobust: Uint8Array | undefined, eps: number): CheckResult {
  if (!fgsmRobust || !pgdRobust) return skipped('pgd-le-fgsm', 'needs both fgsm and pgd at the same ε');
  let count = 0;
  for (let i = 0; i < fgsmRobust.length; i++) if (!fgsmRobust[i] && pgdRobust[i]) count++;
  return check('pgd-le-fgsm', count === 0, `${count} of ${fgsmRobust.length} examples fooled by FGSM but not by PGD at ε=${eps}`);
}

export function checkZeroGradients(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D): CheckResult {
  const zero = tf.tidy(() => {
    const g = inputGradient(model, crossEntropy, x, y);
    return tf.sum(tf.cast(tf.equal(tf.max(tf.abs(g), [1, 2, 3]), 0), 'int32')).dataSync()[0]!;
  });
  return check('zero-gradients', zero === 0, `${zero} of ${x.shape[0]} examples have an all-zero input gradient`);
}

/** Flags probability outputs: declared by the model wrapper, or rows that are non-negative and sum to 1. */
export function checkLogits(model: Classifier & { outputsProbabilities?: boolean }, x: tf.Tensor4D): CheckResult {
  if (model.outputsProbabilities) {
    return check('logits-not-probabilities', false, 'the model ends in a softmax; attacks use log-probabilities as logits');
  }
  const looksLikeProbs = tf.tidy(() => {
    const z = model.logits(x);
    const nonneg = tf.min(z).dataSync()[0]! >= 0;
    const sumsToOne = tf.max(tf.abs(tf.sub(tf.sum(z, 1), 1))).dataSync()[0]! < 1e-4;
    return nonneg && sumsToOne;
  });
  return check(
    'logits-not-probabilities',
    !looksLikeProbs,
    looksLikeProbs ? 'outputs are non-negative and each row sums to 1: they look like probabilities' : 'outputs are logits',
  );
}

export function checkDeterministic(model: Classifier, x: tf.Tensor4D): CheckResult {
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(model.logits(x), model.logits(x)))).dataSync()[0]!);
  return check('deterministic', diff === 0, `max |logits₁ − logits₂| over two passes = ${diff}`);
}

export function checkLargeEps(accuracy: number, eps: number, n: number): CheckResult {
  return check(
    'large-eps',
    accuracy <= 0.05,
    `PGD at ε=${eps} leaves ${(accuracy * 100).toFixed(1)}% of ${n} examples robust (expected ≤ 5%)`,
  );
}

/** `bounds` is the box the points were clipped to (the threat's and the model's input domain). */
export function checkInBallAndBox(maxRatio: number, count: number, bounds: readonly [number, number] = [0, 1]): CheckResult {
  return check(
    'in-ball-and-box',
    maxRatio <= 1 + 1e-5,
    `${count} adversarial points; max ‖δ‖/ε = ${maxRatio.toFixed(6)}; all inside [${bounds[0]}, ${bounds[1]}]`,
  );
}
