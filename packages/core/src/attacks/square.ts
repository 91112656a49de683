import * as tf from '@tensorflow/tfjs-core';
import { AttackError, ConfigError } from '../errors.ts';
import type { AnyClassifier, Classifier } from '../models/classifier.ts';
import { queryLogits, readHost, runHostSteps, type HostSteps } from './host.ts';
import { batchRows, whereRows } from '../threat/norms.ts';
import type { ThreatModel } from '../threat/threat.ts';
import type { Rng } from '../util/rng.ts';
import type { AttackDefinition } from './types.ts';

/**
 * The Square attack (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020) with AutoAttack's settings: a
 * score-based black-box random search that only ever asks the model for logits (no gradients), so gradient
 * masking (quantisation, non-differentiable preprocessing, saturated softmax) does not stop it.
 *
 * Each iteration changes one square window of side s at one position for the whole batch (drawn from the
 * seeded Rng, as AutoAttack does; the signs are drawn per example and channel) and keeps the candidate only where it lowers the margin loss
 * z_y − max_{i≠y} z_i; an example whose margin drops below 0 is misclassified and is neither updated nor
 * queried again. Every candidate is built inside B(x, ε) ∩ [lo, hi]^d (and projected once more).
 */
export interface SquareConfig {
  /**
   * Iterations (AutoAttack's `n_queries`, default 5000). Each costs one forward pass per example still
   * being attacked, after one forward pass for the initial point: at most queries + 1 per example.
   */
  queries: number;
  /** Initial fraction p of the image a window covers (default 0.8); halved on the schedule of `squareP`. */
  pInit: number;
}

/** Throws ConfigError naming the first bad field: `queries` an integer ≥ 1, `pInit` a number in (0, 1]. */
export function validateSquareConfig(c: SquareConfig): void {
  if (!Number.isInteger(c.queries) || c.queries < 1) throw new ConfigError('queries', 'an integer ≥ 1', String(c.queries));
  if (!(c.pInit > 0 && c.pInit <= 1)) throw new ConfigError('pInit', 'a number in (0, 1]', String(c.pInit));
}

/** The iterations (on AutoAttack's 10000-iteration scale) after which p halves. */
const P_BREAKPOINTS = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000] as const;

/**
 * The fraction of the image a window covers at `iteration` (0-based) of `totalIterations`, as AutoAttack's
 * `p_selection` with `resc_schedule=True` (autoattack/square.py, lines 192–219): the iteration is first
 * rescaled to a budget of 10000, it' = trunc(iteration / totalIterations · 10000), then p = pInit / 2^k with
 * k the number of breakpoints 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 that it' exceeds (strictly).
 */
export function squareP(pInit: number, iteration: number, totalIterations: number): number {
  const it = Math.trunc((iteration / totalIterations) * 10000);
  let halvings = 0;
  for (const b of P_BREAKPOINTS) if (it > b) halvings++;
  return pInit / 2 ** halvings;
}

/** Python 3's `round` on a float: to the nearest integer, ties to even. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The norms Square runs under. */
export type SquareNorm = 'linf' | 'l2';

/**
 * Side s of the square window for fraction p on images [h, w, c], as AutoAttack (autoattack/square.py,
 * L∞ lines 255–256, L2 lines 341–344): s = round(√(p · h·w·c / c)) with Python's half-to-even rounding, at
 * least 1 (L∞) or at least 3 and odd (L2), and at most min(h, w).
 */
export function squareWindowSize(norm: SquareNorm, p: number, shape: readonly [number, number, number]): number {
  const [h, w, c] = shape;
  const side = roundHalfEven(Math.sqrt((p * (h * w * c)) / c));
  if (norm === 'linf') return Math.min(Math.max(side, 1), Math.min(h, w));
  let s = Math.max(side, 3);
  if (s % 2 === 0) s += 1;
  return Math.min(s, Math.min(h, w));
}

/**
 * Nested centred squares on a rows × cols patch: the square of half-width k around the centre gets weight
 * 1/(k+1)² added (so the centre is largest); scaled to unit L2 norm. An empty patch for rows = 0.
 */
function centredSquares(rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  if (rows === 0 || cols === 0) return out;
  const cr = Math.floor(rows / 2);
  const cc = Math.floor(cols / 2);
  for (let k = 0; k <= Math.max(cr, cc); k++) {
    const r0 = Math.max(cr - k, 0);
    const r1 = Math.min(cr + k + 1, rows);
    const c0 = Math.max(cc - k, 0);
    const c1 = Math.min(cc + k + 1, cols);
    for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[r * cols + c]! += 1 / (k + 1) ** 2;
  }
  return unitL2(out);
}

function unitL2(v: Float64Array): Float64Array {
  let ss = 0;
  for (const a of v) ss += a * a;
  const norm = Math.sqrt(ss);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

/**
 * The L2 window pattern η of side s (the paper's "meta pseudo-Gaussian", AutoAttack's `eta`, square.py lines
 * 143–190): the top ⌊s/2⌋ rows hold a centred-squares bump, the bottom s − ⌊s/2⌋ rows minus one, the whole
 * scaled to unit L2 norm. Row-major s × s. (The random transpose AutoAttack applies is drawn by the caller.)
 */
export function squareEta(s: number): Float32Array {
  const top = Math.floor(s / 2);
  const out = new Float64Array(s * s);
  out.set(centredSquares(top, s), 0);
  const bottom = centredSquares(s - top, s);
  for (let i = 0; i < bottom.length; i++) out[top * s + i] = -bottom[i]!;
  return new Float32Array(unitL2(out));
}

const sign = (rng: Rng): number => (rng.next() < 0.5 ? -1 : 1);

/**
 * The L2 starting directions (AutoAttack square.py lines 306–320), NHWC, before scaling to the ε-sphere: a
 * grid of tiles of side s = ⌊min(h, w)/5⌋ (at least 1; AutoAttack divides by zero below 5 pixels) starting at
 * offset ⌊(h − 5s)/2⌋ (clamped at 0), each tile an η(s) of random orientation times a random sign per
 * channel. Only tiles that fit inside the image are placed. Randomness comes from `rng` (per example and tile).
 */
function l2InitialDirections(n: number, shape: readonly [number, number, number], rng: Rng): Float32Array {
  const [h, w, c] = shape;
  const s = Math.max(Math.floor(Math.min(h, w) / 5), 1);
  const eta = squareEta(s);
  const startH = Math.max(Math.floor((h - 5 * s) / 2), 0);
  const startW = Math.max(Math.floor((w - 5 * s) / 2), 0);
  const tilesH = Math.floor(h / s);
  const tilesW = Math.floor(w / s);
  const out = new Float32Array(n * h * w * c);
  const signs = new Float32Array(c);
  for (let i = 0; i < n; i++) {
    for (let th = 0; th < tilesH; th++) {
      const r0 = startH + th * s;
      if (r0 + s > h) continue;
      for (let tw = 0; tw < tilesW; tw++) {
        const c0 = startW + tw * s;
        if (c0 + s > w) continue;
        const transpose = rng.next() < 0.5;
        for (let ch = 0; ch < c; ch++) signs[ch] = sign(rng);
        for (let a = 0; a < s; a++)
          for (let b = 0; b < s; b++) {
            const v = transpose ? eta[b * s + a]! : eta[a * s + b]!;
            const base = ((i * h + r0 + a) * w + c0 + b) * c;
            for (let ch = 0; ch < c; ch++) out[base + ch]! += signs[ch]! * v;
          }
      }
    }
  }
  return out;
}

/**
 * The margin z_y − max_{i≠y} z_i per example (negative iff misclassified): the loss Square minimises.
 * `labels` int32 [n]; returns a new [n] tensor.
 */
export function squareMargin(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const isLabel = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]), 'bool');
    const zy = tf.sum(tf.where(isLabel, logits, tf.zerosLike(logits)), 1);
    const others = tf.max(tf.where(isLabel, tf.fill(logits.shape, Number.NEGATIVE_INFINITY), logits), 1);
    return tf.sub(zy, others) as tf.Tensor1D;
  });
}

/** squareMargin on host logits [m·K] (row j has label `labelOf(j)`); equal to the tensor version in float32. */
function hostMargins(logits: Float32Array, k: number, labelOf: (j: number) => number): Float32Array {
  const m = logits.length / k;
  const out = new Float32Array(m);
  for (let j = 0; j < m; j++) {
    const y = labelOf(j);
    let other = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) if (c !== y && logits[j * k + c]! > other) other = logits[j * k + c]!;
    out[j] = logits[j * k + y]! - other;
  }
  return out;
}

/**
 * The s × s window with top-left corner (top, left) as a [1, h, w, 1] tensor broadcast over the batch: 1 inside
 * (or, with `eta`, η row-major — transposed if asked — inside), 0 outside. Built on the host: one window serves
 * the whole batch, so this is h·w numbers, not a batch of index arithmetic.
 */
function windowTensor(top: number, left: number, s: number, h: number, w: number, eta?: Float32Array, transposed = false): tf.Tensor4D {
  const out = new Float32Array(h * w);
  for (let a = 0; a < s; a++)
    for (let b = 0; b < s; b++) out[(top + a) * w + left + b] = eta ? eta[transposed ? b * s + a : a * s + b]! : 1;
  return tf.tensor4d(out, [1, h, w, 1]);
}

/** Per-example Euclidean norm over [1, 2, 3], kept as [m, 1, 1, 1]. */
const imageNorm = (t: tf.Tensor) => tf.sqrt(tf.sum(tf.square(t), [1, 2, 3], true));
/** Per-example, per-channel Euclidean norm over height and width, kept as [m, 1, 1, c]. */
const channelNorm = (t: tf.Tensor) => tf.sqrt(tf.sum(tf.square(t), [1, 2], true));

/** The working set: the examples still being attacked (not yet misclassified), compacted. */
interface Working {
  /** Global indices of the rows. */
  idx: number[];
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
  best: tf.Tensor4D;
}

/** What `squareSearch` returns; the caller disposes `xAdv`. */
export interface SquareResult {
  /** Per example, the point of lowest margin found (the first misclassified one for fooled examples). */
  xAdv: tf.Tensor4D;
  /** Final per-example margin z_y − max_{i≠y} z_i at `xAdv` (< 0: misclassified), as the search saw it. */
  margins: Float32Array;
  /** Forward passes spent per example (1 for the initial point, then 1 per iteration it took part in). */
  queries: Int32Array;
  /** Iterations run (fewer than `config.queries` if every example was fooled earlier). */
  iterations: number;
}

/**
 * Called after the initial point (iteration 0) and after each iteration t = 1, 2, … with a host copy of
 * every example's current margin (tests and diagnostics only).
 */
export type SquareObserver = (iteration: number, margins: Float32Array) => void;

/** result with rows `global` replaced by `rows` (a new tensor; result is disposed). */
function writeRows(result: tf.Tensor4D, global: number[], rows: tf.Tensor4D): tf.Tensor4D {
  const next = tf.tidy(() => batchRows(global, result.shape[0]).write(rows, result));
  result.dispose();
  return next;
}

function gatherWorking(w: Working, keep: number[]): Working {
  const idx = tf.tensor1d(keep, 'int32');
  const next = tf.tidy(() => ({
    idx: keep.map((j) => w.idx[j]!),
    x: tf.gather(w.x, idx) as tf.Tensor4D,
    labels: tf.gather(w.labels, idx) as tf.Tensor1D,
    best: tf.gather(w.best, idx) as tf.Tensor4D,
  }));
  idx.dispose();
  return next;
}

/**
 * A window's first row (or column) in a side of `size`: uniform over [0, size − s], every placement possible.
 * (AutoAttack's random_int(0, h − s) never picks h − s, so its windows never reach the last rows and columns
 * once s < h: a bias that costs little on 32×32 images and much on small ones, not copied.)
 */
const corner = (size: number, s: number, rng: Rng): number => rng.int(size - s + 1);

/** L∞ candidate: in each example's window, every channel set to ±ε (a random sign per channel), then projected. */
function linfCandidate(w: Working, threat: ThreatModel, s: number, rng: Rng): tf.Tensor4D {
  const [m, h, wd, c] = w.x.shape;
  // One window for the whole batch this step (AutoAttack's square.py), a random sign per example and channel.
  const top = corner(h, s, rng);
  const left = corner(wd, s, rng);
  const steps = new Float32Array(m * c);
  for (let i = 0; i < steps.length; i++) steps[i] = sign(rng) * 2 * threat.eps;
  return tf.tidy(() => {
    const step = tf.mul(windowTensor(top, left, s, h, wd), tf.tensor4d(steps, [m, 1, 1, c]));
    // best + 2ε·sign clipped to [x − ε, x + ε] ∩ box: x ± ε (box-clipped) inside the window, best elsewhere.
    return threat.project(tf.add(w.best, step) as tf.Tensor4D, w.x);
  });
}

/**
 * L2 candidate (AutoAttack square.py lines 339–379): in window 1, the current perturbation (normalised per
 * channel) plus a fresh signed η, rescaled per channel to carry the mass of windows 1 ∪ 2 plus an equal share
 * of the unused budget ε² − ‖δ‖²; window 2 (outside window 1) is zeroed, which frees mass to move; the whole
 * perturbation is then put on the ε-sphere and clipped to the box.
 */
function l2Candidate(w: Working, threat: ThreatModel, s: number, rng: Rng): tf.Tensor4D {
  const [m, h, wd, c] = w.x.shape;
  const eps = threat.eps;
  // Both windows and the η orientation shared by the batch this step (AutoAttack's square.py); signs per example and channel.
  const top = corner(h, s, rng);
  const left = corner(wd, s, rng);
  const top2 = corner(h, s, rng);
  const left2 = corner(wd, s, rng);
  const transposed = rng.next() < 0.5;
  const signs = new Float32Array(m * c);
  for (let i = 0; i < signs.length; i++) signs[i] = sign(rng);
  const eta = squareEta(s);
  return tf.tidy(() => {
    const delta = tf.sub(w.best, w.x);
    const mask1 = windowTensor(top, left, s, h, wd);
    const union = tf.maximum(mask1, windowTensor(top2, left2, s, h, wd));
    const normWindow1 = channelNorm(tf.mul(delta, mask1));
    const normUnion = channelNorm(tf.mul(delta, union));
    const normImage = imageNorm(delta);
    const pattern = windowTensor(top, left, s, h, wd, eta, transposed);
    let fresh = tf.add(tf.mul(pattern, tf.tensor4d(signs, [m, 1, 1, c])), tf.div(tf.mul(delta, mask1), tf.add(normWindow1, 1e-12)));
    const budget = tf.sqrt(tf.add(tf.div(tf.relu(tf.sub(eps * eps, tf.square(normImage))), c), tf.square(normUnion)));
    fresh = tf.mul(tf.div(fresh, tf.add(channelNorm(fresh), 1e-12)), budget);
    const next = tf.add(tf.mul(delta, tf.sub(1, union)), fresh);
    const onSphere = tf.mul(tf.div(next, tf.add(imageNorm(next), 1e-12)), eps);
    return threat.project(tf.add(w.x, onSphere) as tf.Tensor4D, w.x);
  });
}

/** The starting points: L∞ vertical stripes (±ε per column and channel), L2 η tiles scaled to the ε-sphere. */
function initialPoint(x: tf.Tensor4D, threat: ThreatModel, rng: Rng): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (threat.norm === 'linf') {
    // AutoAttack square.py lines 234–235: every column of every channel gets +ε or −ε, constant down the column.
    const signs = new Float32Array(n * w * c);
    for (let i = 0; i < signs.length; i++) signs[i] = sign(rng);
    return tf.tidy(() => threat.project(tf.add(x, tf.mul(tf.tensor4d(signs, [n, 1, w, c]), threat.eps)) as tf.Tensor4D, x));
  }
  const dirs = l2InitialDirections(n, [h, w, c], rng);
  return tf.tidy(() => {
    const d = tf.tensor4d(dirs, [n, h, w, c]);
    const onSphere = tf.mul(tf.div(d, tf.add(imageNorm(d), 1e-12)), threat.eps);
    return threat.project(tf.add(x, onSphere) as tf.Tensor4D, x);
  });
}

/**
 * The Square search itself. Deterministic given `rng`'s state: each step draws the batch's window position(s)
 * and orientation, then the signs of the examples still being attacked, in example order.
 *
 * Host traffic: one read at the start (the initial margins, [n]) and exactly ONE read per iteration — the
 * candidate margins of the m examples still being attacked ([m] floats). Acceptance (strictly lower margin),
 * the margin bookkeeping and the choice of survivors are then made on the host from that vector; points stay
 * on the backend. Survivors are compacted (gathered) only in iterations where some example got fooled.
 *
 * As AutoAttack's square.py (commit a392200), each step places one window (and for L2 a second one and one η
 * orientation) for the whole batch, with a random sign per example and channel. Deliberate differences:
 * corners are uniform over [0, h − s] (AutoAttack's never reach h − s); a candidate is kept only if its margin
 * is strictly lower (AutoAttack also keeps any with margin ≤ 0), and an example stops at margin < 0
 * (AutoAttack: ≤ 0); the L2 start also works below 5 pixels. No restarts, no CE loss.
 *
 * Throws AttackError for the L1 norm, ConfigError for a bad config.
 */
export function squareSearch(
  model: Classifier,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  threat: ThreatModel,
  config: SquareConfig,
  rng: Rng,
  observe?: SquareObserver,
): SquareResult {
  return runHostSteps(squareSteps(model, x, labels, threat, config, rng, observe));
}

/**
 * squareSearch as host steps: every model query goes through `queryLogits`, so an AsyncClassifier (ONNX, a
 * remote model) is attacked the same way under `runHostStepsAsync` — the same points for the same seed.
 */
export function* squareSteps(
  model: AnyClassifier,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  threat: ThreatModel,
  config: SquareConfig,
  rng: Rng,
  observe?: SquareObserver,
): HostSteps<SquareResult> {
  validateSquareConfig(config);
  const norm = threat.norm;
  if (norm !== 'linf' && norm !== 'l2') {
    throw new AttackError(`square: the ${norm} norm is not supported (the Square attack runs under linf and l2)`);
  }
  const [n, h, w, c] = x.shape;
  const k = model.numClasses;
  let result = initialPoint(x, threat, rng);
  const labelsInt = tf.cast(labels, 'int32') as tf.Tensor1D;
  let margins: Float32Array;
  let label: Int32Array;
  try {
    label = Int32Array.from((yield* readHost(labelsInt))[0]!);
    const initLogits = yield* queryLogits(model, result);
    margins = hostMargins(initLogits, k, (i) => label[i]!);
  } catch (e) {
    tf.dispose([result, labelsInt]);
    throw e;
  }
  const queries = new Int32Array(n).fill(1);
  observe?.(0, margins.slice());

  const alive = [...margins.keys()].filter((i) => !(margins[i]! < 0));
  let work: Working | undefined;
  if (alive.length > 0) {
    const all = tf.tidy(() => ({ idx: [...Array(n).keys()], x: tf.clone(x), labels: tf.clone(labelsInt), best: tf.clone(result) }));
    work = alive.length === n ? all : gatherWorking(all, alive);
    if (work !== all) tf.dispose([all.x, all.labels, all.best]);
  }
  labelsInt.dispose();
  const release = (wk: Working) => tf.dispose([wk.x, wk.labels, wk.best]);

  let t = 0;
  try {
    for (; t < config.queries && work; t++) {
      const wk: Working = work;
      const m = wk.idx.length;
      const s = squareWindowSize(norm, squareP(config.pInit, t, config.queries), [h, w, c]);
      const candidate = norm === 'linf' ? linfCandidate(wk, threat, s, rng) : l2Candidate(wk, threat, s, rng);
      let accept: boolean[];
      let fooled: number[];
      try {
        // The one host read of this iteration: the candidates' logits [m, K], as any model (black box too) answers.
        const cm = hostMargins(yield* queryLogits(model, candidate), k, (j) => label[wk.idx[j]!]!);
        accept = new Array<boolean>(m).fill(false);
        fooled = [];
        for (let j = 0; j < m; j++) {
          const i = wk.idx[j]!;
          queries[i]!++;
          if (cm[j]! < margins[i]!) {
            accept[j] = true;
            margins[i] = cm[j]!;
          }
          if (margins[i]! < 0) fooled.push(j);
        }
        if (accept.some(Boolean)) {
          const best = tf.tidy(() => whereRows(tf.tensor1d(accept, 'bool'), candidate, wk.best));
          wk.best.dispose();
          wk.best = best;
        }
      } finally {
        candidate.dispose();
      }
      observe?.(t + 1, margins.slice());
      if (fooled.length > 0) {
        const rows = tf.tidy(() => tf.gather(wk.best, tf.tensor1d(fooled, 'int32')) as tf.Tensor4D);
        result = writeRows(
          result,
          fooled.map((j) => wk.idx[j]!),
          rows,
        );
        rows.dispose();
        const isFooled = new Set(fooled);
        const keep = [...wk.idx.keys()].filter((j) => !isFooled.has(j));
        work = keep.length > 0 ? gatherWorking(wk, keep) : undefined;
        release(wk);
      }
    }
    if (work) result = writeRows(result, work.idx, work.best);
  } catch (e) {
    result.dispose();
    throw e;
  } finally {
    if (work) release(work);
  }
  return { xAdv: result, margins, queries, iterations: t };
}

/**
 * Square (untargeted, margin loss) with AutoAttack's defaults: 5000 iterations, pInit 0.8. For cost accounting
 * `cost` reports FORWARD PASSES per example (queries + 1: the initial point and one per iteration), not
 * gradient evaluations: Square computes none. Examples stop being queried once misclassified, so the actual
 * count is usually lower.
 */
export const square: AttackDefinition<SquareConfig> = {
  name: 'square',
  description:
    'Square (Andriushchenko et al. 2020): score-based black-box random search over square windows on the margin loss; no gradients (cost = forward passes)',
  targeted: false,
  cost: (c) => c.queries + 1,
  defaults: () => ({ queries: 5000, pInit: 0.8 }),
  propose: (args) => squareSearch(args.model, args.x, args.labels, args.threat, args.config, args.rng).xAdv,
  *proposeSteps(args) {
    return (yield* squareSteps(args.model, args.x, args.labels, args.threat, args.config, args.rng)).xAdv;
  },
};
