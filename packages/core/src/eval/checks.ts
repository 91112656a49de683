import * as tf from '@tensorflow/tfjs-core';
import { isSyncClassifier, type AnyClassifier, type Classifier } from '../models/classifier.ts';
import type { Norm } from '../threat/norms.ts';
import { threatModel } from '../threat/threat.ts';
import { crossEntropy } from '../losses/losses.ts';
import { inputGradient, lossAndGradient } from '../attacks/gradient.ts';
import { readHost, runAttackSteps, type HostSteps } from '../attacks/run.ts';
import { mean } from './metrics.ts';
import type { AttackReport, EvaluationDetail, WorstCaseReport } from './evaluate.ts';
import { randSuite } from './suites.ts';

/**
 * Sanity checks run with every evaluation (AutoAttack-style): each has a stable code documented in
 * docs/checks.md. A failed check does not stop the evaluation; it says the numbers may not be trusted.
 * The checks are the entries of `SANITY_CHECKS`, run in that order over one `CheckContext`.
 */

/** How many clean-correct examples (the first ones) the checks that run the model look at. */
export const PROBE_SIZE = 100;

/** Everything a check may look at: one evaluation, after its attacks ran. */
export interface CheckContext {
  /** The model evaluated; checks that need its gradients or its tensors skip a black box (AsyncClassifier). */
  readonly model: AnyClassifier;
  readonly norm: Norm;
  /** The ε list of the evaluation, in the order given. */
  readonly eps: readonly number[];
  /** The input box the attacks clipped to: the model's bounds ([0, 1] by default). */
  readonly bounds: readonly [number, number];
  readonly seed: number;
  /** One report per attack and ε, in the order run. */
  readonly attacks: readonly AttackReport[];
  /** One worst case per ε. */
  readonly worstCases: readonly WorstCaseReport[];
  /** Per-example flags: clean-correct, robust per `${attack}@${eps}`, worst case per ε. */
  readonly detail: EvaluationDetail;
  /** The first `PROBE_SIZE` clean-correct examples (owned by the evaluation); undefined when there is none. */
  readonly probe: { readonly x: tf.Tensor4D; readonly y: tf.Tensor1D } | undefined;
  /** The largest ‖δ‖/ε over every adversarial point, re-measured in plain JavaScript (Infinity for a point outside the box). */
  readonly maxBallRatio: number;
  /** How many adversarial points were made (0 when no attack ran on any example). */
  readonly adversarialPoints: number;
}

/** A check's verdict; the evaluation adds the check's code. */
export interface CheckOutcome {
  passed: boolean;
  /** True when the check could not apply (e.g. a single ε); `passed` is then true. */
  skipped: boolean;
  detail: string;
}

/** One entry of SANITY_CHECKS: a stable code, a one-line description and the function that judges an evaluation. */
export interface SanityCheck<Code extends string = CheckCode> {
  /** Stable: scripts branch on it; documented in docs/checks.md. */
  readonly code: Code;
  /** What passing means, in one line (printed by `advlab list`, the table and the HTML report). */
  readonly description: string;
  /**
   * The verdict. A check that reads tensors is written as host steps (a generator function whose reads
   * are `yield* readHost(t)`), so `evaluateRobustnessAsync` reads them with `await data()`.
   */
  run(context: CheckContext): CheckOutcome | HostSteps<CheckOutcome>;
  /**
   * True for a check that runs the model on the probe (`CheckContext.probe`). In a sharded evaluation such a
   * check runs only in the shard holding example 0, and `mergeShards` keeps that shard's verdict. Every other
   * check must be a function of the rest of the context (flags, reports, ball ratio), which `mergeShards`
   * rebuilds over all the examples to run it again.
   */
  readonly usesProbe?: boolean;
}

/** A verdict of a check that did apply: `passed`, with `detail` saying what was measured. */
export function checkOutcome(passed: boolean, detail: string): CheckOutcome {
  return { passed, skipped: false, detail };
}

/** The verdict of a check that could not apply; it counts as passed and its detail reads `skipped: ${why}`. */
export function skipCheck(why: string): CheckOutcome {
  return { passed: true, skipped: true, detail: `skipped: ${why}` };
}

const NO_PROBE = 'no correctly classified example';

/** Runs `steps` on the probe, or skips when no example is correctly classified. */
function onProbe(
  context: CheckContext,
  steps: (probe: NonNullable<CheckContext['probe']>, model: Classifier) => HostSteps<CheckOutcome>,
): CheckOutcome | HostSteps<CheckOutcome> {
  if (!isSyncClassifier(context.model)) return skipCheck('a black-box model (no gradients, answers only asynchronously)');
  return context.probe ? steps(context.probe, context.model) : skipCheck(NO_PROBE);
}

/** Reads the single value of each of `scalars` (kept tensors), then disposes them. */
function* readScalars(...scalars: tf.Tensor[]): HostSteps<number[]> {
  try {
    return (yield* readHost(...scalars)).map((v) => v[0]!);
  } finally {
    tf.dispose(scalars);
  }
}

/** Robust accuracy (per attack and for the worst case) must not rise with ε. */
function monotoneEps(series: { name: string; eps: number; acc: number }[]): CheckOutcome {
  const byName = new Map<string, { eps: number; acc: number }[]>();
  for (const s of series) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  if (![...byName.values()].some((v) => v.length > 1)) return skipCheck('a single ε');
  const bad: string[] = [];
  for (const [name, pts] of byName) {
    const sorted = [...pts].sort((a, b) => a.eps - b.eps);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.acc > sorted[i - 1]!.acc)
        bad.push(`${name}: ${sorted[i - 1]!.acc} at ε=${sorted[i - 1]!.eps} < ${sorted[i]!.acc} at ε=${sorted[i]!.eps}`);
    }
  }
  return checkOutcome(bad.length === 0, bad.length ? bad.join('; ') : 'robust accuracy non-increasing in ε for every attack');
}

/** Counts examples fooled by FGSM but not by PGD at the first ε. */
function pgdLeFgsm({ detail, eps }: CheckContext): CheckOutcome {
  const e0 = eps[0]!;
  const fgsm = detail.robust.get(`fgsm@${e0}`);
  const pgd = detail.robust.get(`pgd@${e0}`);
  if (!fgsm || !pgd) return skipCheck('needs both fgsm and pgd at the same ε');
  let count = 0;
  for (let i = 0; i < fgsm.length; i++) if (!fgsm[i] && pgd[i]) count++;
  return checkOutcome(count === 0, `${count} of ${fgsm.length} examples fooled by FGSM but not by PGD at ε=${e0}`);
}

/** Counts the examples (rows of `t`, over every other axis) holding a NaN or ±Infinity: an int32 scalar the caller owns. */
function nonFiniteRows(t: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const axes = Array.from({ length: t.rank - 1 }, (_, i) => i + 1);
    return tf.sum(tf.cast(tf.logicalNot(tf.all(tf.isFinite(t), axes)), 'int32'));
  });
}

/**
 * Logits and input gradients of the cross-entropy must be finite numbers. NaN or ±Infinity (NaN weights, an
 * overflow, a log of 0 in the model) make every other check meaningless: comparisons with NaN are false, so
 * NaN passes "is the gradient zero?" and "do rows sum to 1?" alike, and attacks step along sign(NaN).
 */
function* finiteOutputs(model: Classifier, { x, y }: { x: tf.Tensor4D; y: tf.Tensor1D }): HostSteps<CheckOutcome> {
  const [logits, grads, either] = yield* readScalars(
    ...tf.tidy(() => {
      const r = lossAndGradient(model, crossEntropy, x, y);
      try {
        const badLogits = tf.logicalNot(tf.all(tf.isFinite(r.logits), 1));
        const badGrads = tf.logicalNot(tf.all(tf.isFinite(r.grad), [1, 2, 3]));
        const count = (flags: tf.Tensor) => tf.sum(tf.cast(flags, 'int32'));
        return [count(badLogits), count(badGrads), count(tf.logicalOr(badLogits, badGrads))];
      } finally {
        tf.dispose([r.logits, r.loss]);
      }
    }),
  );
  const n = x.shape[0];
  return checkOutcome(
    either === 0,
    either === 0
      ? `logits and input gradients are finite on all ${n} examples`
      : `${either} of ${n} examples have NaN or ±Infinity: ${logits} in their logits, ${grads} in their input gradient of the loss`,
  );
}

/**
 * Counts the examples whose input gradient is all zero. A gradient holding NaN or ±Infinity is counted apart and
 * fails the check too: it is no evidence of a usable gradient (the attacks that follow it make no progress, and
 * the robust accuracy they leave means nothing), while a bare `max |g| = 0` test would let it pass, since every
 * comparison with NaN is false. `finite-outputs` says the same first; this check does not contradict it.
 */
function* zeroGradients(model: Classifier, { x, y }: { x: tf.Tensor4D; y: tf.Tensor1D }): HostSteps<CheckOutcome> {
  const [zero, nonFinite] = yield* readScalars(
    ...tf.tidy(() => {
      const g = inputGradient(model, crossEntropy, x, y);
      const finite = tf.all(tf.isFinite(g), [1, 2, 3]);
      const allZero = tf.logicalAnd(finite, tf.equal(tf.max(tf.abs(g), [1, 2, 3]), 0));
      return [tf.sum(tf.cast(allZero, 'int32')), nonFiniteRows(g)];
    }),
  );
  const n = x.shape[0];
  const detail = `${zero} of ${n} examples have an all-zero input gradient`;
  return checkOutcome(
    zero === 0 && nonFinite === 0,
    nonFinite === 0 ? detail : `${detail}; ${nonFinite} of ${n} have NaN or ±Infinity in theirs (not a usable gradient)`,
  );
}

/** |Σ row − 1| and |logsumexp(row)| up to which a row counts as probabilities / log-probabilities (float32, float16 textures). */
const PROBABILITY_TOLERANCE = 1e-3;

/**
 * Which squashing, if any, every row of a model's outputs shows, from each row's min, max, sum and logsumexp.
 * Every row must show it: ordinary logits of the probe (up to 100 correctly classified examples, K numbers each)
 * all landing in [0, 1], or all summing to 1, or all with logsumexp 0, is not chance but a squashing layer. Softmax
 * is tested before sigmoid (softmax rows lie in [0, 1] too); log-softmax needs only logsumexp ≈ 0, which implies
 * every output ≤ logsumexp ≈ 0.
 */
function detectSquashing(
  rows: readonly { min: number; max: number; sum: number; logSumExp: number }[],
): 'softmax' | 'sigmoid' | 'log-softmax' | undefined {
  if (rows.length === 0) return undefined;
  if (rows.every((r) => r.min >= 0 && Math.abs(r.sum - 1) <= PROBABILITY_TOLERANCE)) return 'softmax';
  if (rows.every((r) => r.min >= 0 && r.max <= 1)) return 'sigmoid';
  if (rows.every((r) => Math.abs(r.logSumExp) <= PROBABILITY_TOLERANCE)) return 'log-softmax';
  return undefined;
}

const SQUASHING_DETAIL = {
  softmax: 'every output is ≥ 0 and each row sums to 1: softmax probabilities',
  sigmoid: 'every output lies in [0, 1] (yet not every row sums to 1): sigmoid probabilities',
  'log-softmax': 'each row has logsumexp 0 (every output ≤ 0): log-softmax log-probabilities',
} as const;

/**
 * Flags probability outputs: declared by the model wrapper (it ends in a softmax), or a squashing that every row
 * of the probe's outputs shows (`detectSquashing`). Outputs with NaN or ±Infinity cannot be judged: skipped, and
 * `finite-outputs` fails.
 */
function* logitsNotProbabilities(model: Classifier & { outputsProbabilities?: boolean }, x: tf.Tensor4D): HostSteps<CheckOutcome> {
  if (model.outputsProbabilities) {
    return checkOutcome(false, 'squashing: softmax; the model ends in a softmax, so attacks use log-probabilities as logits');
  }
  const stats = tf.tidy(() => {
    const z = model.logits(x);
    return [nonFiniteRows(z), tf.min(z, 1), tf.max(z, 1), tf.sum(z, 1), tf.logSumExp(z, 1)];
  });
  let values: readonly tf.TypedArray[];
  try {
    values = yield* readHost(...stats);
  } finally {
    tf.dispose(stats);
  }
  const [bad, min, max, sum, lse] = values as [tf.TypedArray, tf.TypedArray, tf.TypedArray, tf.TypedArray, tf.TypedArray];
  const n = x.shape[0];
  if (bad[0]! > 0) return skipCheck(`NaN or ±Infinity in the outputs of ${bad[0]} of ${n} examples (see finite-outputs)`);
  const rows = Array.from(min, (m, i) => ({ min: m, max: max[i]!, sum: sum[i]!, logSumExp: lse[i]! }));
  const squashing = detectSquashing(rows);
  return checkOutcome(
    squashing === undefined,
    squashing
      ? `squashing: ${squashing}; on all ${n} examples ${SQUASHING_DETAIL[squashing]}`
      : `outputs are logits: over the ${n} examples no squashing (softmax, sigmoid, log-softmax) fits every row`,
  );
}

function* deterministic(model: Classifier, x: tf.Tensor4D, suites: readonly (string | null)[]): HostSteps<CheckOutcome> {
  const [diff] = yield* readScalars(tf.tidy(() => tf.max(tf.abs(tf.sub(model.logits(x), model.logits(x))))));
  const advice = suites.includes(randSuite.label)
    ? ': a randomized model, evaluated with the rand suite (EOT); only its numbers count'
    : ': a randomized model — evaluate it with --suite rand (APGD with EOT over 20 passes); single-pass attacks overestimate its robustness';
  return checkOutcome(diff === 0, `max |logits₁ − logits₂| over two passes = ${diff}${diff === 0 ? '' : advice}`);
}

/** PGD-20 at an ε whose ball contains the whole box: any image is reachable, so accuracy should collapse. */
function* largeEps(context: CheckContext, { x, y }: { x: tf.Tensor4D; y: tf.Tensor1D }): HostSteps<CheckOutcome> {
  const { bounds, norm } = context;
  const d = x.shape[1] * x.shape[2] * x.shape[3];
  const span = bounds[1] - bounds[0];
  const eps = span * (norm === 'linf' ? 1 : norm === 'l2' ? Math.sqrt(d) : d);
  const big = threatModel(norm, eps, { bounds });
  const r = yield* runAttackSteps('pgd', context.model, x, y, big, { config: { steps: 20, alpha: eps / 4 }, seed: context.seed });
  r.xAdv.dispose();
  const accuracy = mean(r.success.map((s) => 1 - s));
  return checkOutcome(
    accuracy <= 0.05,
    `PGD at ε=${eps} leaves ${(accuracy * 100).toFixed(1)}% of ${x.shape[0]} examples robust (expected ≤ 5%)`,
  );
}

function inBallAndBox({ adversarialPoints, maxBallRatio, bounds }: CheckContext): CheckOutcome {
  if (adversarialPoints === 0) return skipCheck('no adversarial point');
  return checkOutcome(
    maxBallRatio <= 1 + 1e-5,
    `${adversarialPoints} adversarial points; max ‖δ‖/ε = ${maxBallRatio.toFixed(6)}; all inside [${bounds[0]}, ${bounds[1]}]`,
  );
}

/** AutoAttack's threshold (checks.check_square_sr): Square breaking more than this fraction beyond the white-box attacks. */
export const SQUARE_BEYOND_WHITE_BOX = 0.002;

/**
 * Square, which sees only the logits, should not break what gradient attacks could not: when it breaks more
 * than 0.2% of the examples after the white-box attacks of the suite, their gradients were misleading.
 */
function squareBeyondWhiteBox({ worstCases, detail }: CheckContext): CheckOutcome {
  const n = detail.correct.length;
  const found = worstCases.flatMap((w) => {
    const at = w.sequence.findIndex((s) => s.attack === 'square' && !s.skipped);
    if (at < 1 || !w.sequence.slice(0, at).some((s) => !s.skipped)) return [];
    return [{ eps: w.eps, fraction: w.sequence[at]!.broke / n, broke: w.sequence[at]!.broke }];
  });
  if (found.length === 0) return skipCheck('no Square run after white-box attacks in the worst-case suite');
  const bad = found.filter((f) => f.fraction > SQUARE_BEYOND_WHITE_BOX);
  const shown = (bad.length ? bad : found).map((f) => `${f.broke} of ${n} (${(100 * f.fraction).toFixed(2)}%) at ε=${f.eps}`).join(', ');
  return checkOutcome(
    bad.length === 0,
    bad.length === 0
      ? `Square broke ${shown} beyond the white-box attacks (≤ 0.2%)`
      : `Square broke ${shown} beyond the white-box attacks (> 0.2%): their gradients mislead — gradient masking suspected; trust the black-box number`,
  );
}

const REGISTRY = [
  {
    code: 'finite-outputs',
    usesProbe: true,
    description: 'the logits and the input gradients of the loss are finite on clean examples (no NaN or ±Infinity)',
    run: (c) => onProbe(c, (p, m) => finiteOutputs(m, p)),
  },
  {
    code: 'monotone-eps',
    description: 'robust accuracy does not increase with ε (a larger ball contains the smaller one)',
    run: (c) =>
      monotoneEps([
        ...c.attacks.map((a) => ({ name: a.name, eps: a.eps, acc: a.robust_accuracy })),
        ...c.worstCases.map((w) => ({ name: 'worst-case', eps: w.eps, acc: w.robust_accuracy })),
      ]),
  },
  {
    code: 'pgd-le-fgsm',
    description: 'no example survives PGD but falls to FGSM (a multi-step attack should dominate one step)',
    run: pgdLeFgsm,
  },
  {
    code: 'zero-gradients',
    usesProbe: true,
    description: 'no clean example has an all-zero input gradient (gradient masking / saturated softmax)',
    run: (c) => onProbe(c, (p, m) => zeroGradients(m, p)),
  },
  {
    code: 'logits-not-probabilities',
    usesProbe: true,
    description: 'the model outputs logits, not probabilities (no softmax, sigmoid or log-softmax; CE on probabilities masks gradients)',
    run: (c) => onProbe(c, (p, m) => logitsNotProbabilities(m, p.x)),
  },
  {
    code: 'deterministic',
    usesProbe: true,
    description: 'two forward passes on the same input give the same logits (a randomised defence needs --suite rand: EOT)',
    run: (c) =>
      onProbe(c, (p, m) =>
        deterministic(
          m,
          p.x,
          c.worstCases.map((w) => w.suite),
        ),
      ),
  },
  {
    code: 'large-eps',
    usesProbe: true,
    description: 'at a very large ε (the whole box) PGD brings accuracy to about 0',
    run: (c) => onProbe(c, (p) => largeEps(c, p)),
  },
  {
    code: 'in-ball-and-box',
    description: "every adversarial point lies inside the ε-ball and the input box (the model's bounds, [0,1] by default)",
    run: inBallAndBox,
  },
  {
    code: 'square-beyond-white-box',
    description:
      'the black-box Square attack breaks at most 0.2% of examples beyond the white-box attacks before it (gradient masking otherwise)',
    run: squareBeyondWhiteBox,
  },
] as const satisfies readonly SanityCheck<string>[];

/** The code of a built-in sanity check, e.g. 'monotone-eps'; documented in docs/checks.md. */
export type CheckCode = (typeof REGISTRY)[number]['code'];

/** The sanity checks, in the order they run and appear in a report. Adding a check is adding an entry. */
export const SANITY_CHECKS: readonly SanityCheck[] = REGISTRY;

/** code → description, in registry order (what `advlab list` prints). */
export const CHECK_DOCS: Readonly<Record<CheckCode, string>> = Object.freeze(
  Object.fromEntries(SANITY_CHECKS.map((c) => [c.code, c.description])) as Record<CheckCode, string>,
);

export interface CheckResult extends CheckOutcome {
  code: CheckCode;
}

function isSteps(v: CheckOutcome | HostSteps<CheckOutcome>): v is HostSteps<CheckOutcome> {
  return typeof (v as HostSteps<CheckOutcome>).next === 'function';
}

/** Runs `checks` in order over `context`, as host steps (drive with `runHostSteps` or `runHostStepsAsync`). */
export function* sanityCheckSteps(context: CheckContext, checks: readonly SanityCheck[] = SANITY_CHECKS): HostSteps<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const c of checks) {
    const run = c.run(context);
    const { passed, skipped, detail } = isSteps(run) ? yield* run : run;
    results.push({ code: c.code, passed, skipped, detail });
  }
  return results;
}
