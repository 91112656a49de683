/**
 * Sophia (Liu et al. 2023, "Sophia: A Scalable Stochastic Second-order Optimizer"), SophiaG's update: a momentum
 * m of the gradients, a diagonal Hessian estimate h refreshed every k steps as an EMA, and the clipped
 * preconditioned step θ ← θ − lr·sign(m)·min(|m| / (ρ·h + 1e-15), 1) after a decoupled weight decay
 * θ ← θ·(1 − lr·wd). A tf.js Optimizer, so `minimize`, checkpoints (getWeights/setWeights: the iteration, then m
 * and h per weight) and the learning-rate schedules work as for Adam; the Hessian estimate needs the model and a
 * batch, so the training step supplies it (`hessianDiagonal`, `refreshHessian`).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../util/tf-gradients.ts';
import { ConfigError } from '../errors.ts';
import { crossEntropy } from '../losses/losses.ts';
import type { Rng } from '../util/rng.ts';

/** A named tensor as tf.js optimisers save their state (tfjs-core does not export the type). */
type NamedTensor = { name: string; tensor: tf.Tensor };
import { variablesHessian } from '../curvature/hessian.ts';
import { rademacher } from '../curvature/vectors.ts';

/** Sophia's settings; defaults are the published code's (SophiaG): β1 0.965, β2 0.99, ρ 0.04, k 10. */
export interface SophiaOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  rho?: number;
  /** Decoupled weight decay (applied as θ·(1 − lr·wd), not through the loss); default 0. */
  weightDecay?: number;
  /** Refresh the Hessian estimate every k steps; default 10. */
  hessianEvery?: number;
}

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** The Sophia optimizer (SophiaG update). */
export class SophiaOptimizer extends tf.Optimizer {
  /** The name tf.js's serialisation registry knows the class by. */
  static get className(): string {
    return 'Sophia';
  }
  /**
   * True for a SophiaOptimizer (by its prototype chain). tf.Optimizer answers `instanceof` by duck typing, which
   * would make every optimiser a Sophia.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && Object.prototype.isPrototypeOf.call(SophiaOptimizer.prototype, value);
  }
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly rho: number;
  readonly weightDecay: number;
  readonly hessianEvery: number;
  private moments: Slot[] = [];
  private hessians: Slot[] = [];
  /** Fraction of coordinates whose last step was not clipped (|m| < ρ·h); read lazily, no sync per step. */
  private unclipped: tf.Variable = tf.variable(tf.scalar(Number.NaN), false);

  constructor(o: SophiaOptions) {
    super();
    const check = (key: string, v: number, ok: boolean) => {
      if (!ok) throw new ConfigError(key, 'a number in range for Sophia', String(v));
      return v;
    };
    this.learningRate = check('lr', o.learningRate, o.learningRate > 0);
    this.beta1 = check('beta1', o.beta1 ?? 0.965, (o.beta1 ?? 0.965) >= 0 && (o.beta1 ?? 0.965) < 1);
    this.beta2 = check('beta2', o.beta2 ?? 0.99, (o.beta2 ?? 0.99) >= 0 && (o.beta2 ?? 0.99) < 1);
    this.rho = check('rho', o.rho ?? 0.04, (o.rho ?? 0.04) > 0);
    this.weightDecay = check('weightDecay', o.weightDecay ?? 0, (o.weightDecay ?? 0) >= 0);
    const k = o.hessianEvery ?? 10;
    if (!Number.isInteger(k) || k < 1) throw new ConfigError('hessianEvery', 'an integer ≥ 1', String(k));
    this.hessianEvery = k;
  }

  private slots(name: string, i: number): { m: tf.Variable; h: tf.Variable } {
    const value = tf.engine().registeredVariables[name]!;
    this.moments[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
    this.hessians[i] ??= { originalName: `${name}/h`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
    return { m: this.moments[i]!.variable, h: this.hessians[i]!.variable };
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const named = Array.isArray(variableGradients)
      ? variableGradients.map((v) => [v.name, v.tensor] as const)
      : Object.entries(variableGradients).map(([k, t]) => [k, t] as const);
    tf.tidy(() => {
      let unclipped: tf.Scalar = tf.scalar(0);
      let total = 0;
      named.forEach(([name, gradient], i) => {
        const { m, h } = this.slots(name, i);
        if (gradient == null) return;
        const value = tf.engine().registeredVariables[name]!;
        const mNext = tf.add(tf.mul(m, this.beta1), tf.mul(gradient, 1 - this.beta1));
        m.assign(mNext);
        const ratio = tf.div(tf.abs(mNext), tf.add(tf.mul(h, this.rho), 1e-15));
        unclipped = tf.add(unclipped, tf.sum(tf.cast(tf.less(ratio, 1), 'float32')));
        total += ratio.size;
        const decayed = this.weightDecay > 0 ? tf.mul(value, 1 - this.learningRate * this.weightDecay) : value;
        value.assign(tf.sub(decayed, tf.mul(tf.mul(tf.sign(mNext), tf.minimum(ratio, 1)), this.learningRate)));
      });
      if (total > 0) this.unclipped.assign(tf.div(unclipped, total));
    });
    this.incrementIterations();
  }

  /** True when the step about to be taken should first refresh h (steps 0, k, 2k, …). */
  dueForHessian(): boolean {
    return this.iterations % this.hessianEvery === 0;
  }

  /** h ← β2·h + (1 − β2)·ĥ for a diagonal estimate ĥ, one tensor per variable (in the order of `variables`). */
  refreshHessian(variables: readonly tf.Variable[], estimate: readonly tf.Tensor[]): void {
    tf.tidy(() => {
      variables.forEach((w, i) => {
        const { h } = this.slots(w.name, i);
        h.assign(tf.add(tf.mul(h, this.beta2), tf.mul(estimate[i]!, 1 - this.beta2)));
      });
    });
  }

  /** Fraction of coordinates the last step did not clip (Sophia's tuning guide keeps it within 0.1–0.5); NaN before a step. */
  unclippedFraction(): number {
    return this.unclipped.dataSync()[0]!;
  }

  override dispose(): void {
    tf.dispose([...this.moments.map((s) => s.variable), ...this.hessians.map((s) => s.variable), this.unclipped]);
  }

  /** The state a checkpoint saves: the iteration count, then m and h for each variable (the order run directories check). */
  override async getWeights(): Promise<NamedTensor[]> {
    return [await this.saveIterations(), ...[...this.moments, ...this.hessians].map((s) => ({ name: s.originalName, tensor: s.variable }))];
  }

  /** Restores what `getWeights` saved. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const values = await this.extractIterations(weightValues);
    const half = values.length / 2;
    tf.dispose([...this.moments.map((s) => s.variable), ...this.hessians.map((s) => s.variable)]);
    const slot = (v: NamedTensor): Slot => ({ originalName: v.name, variable: v.tensor.variable(false) });
    this.moments = values.slice(0, half).map(slot);
    this.hessians = values.slice(half).map(slot);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      rho: this.rho,
      weightDecay: this.weightDecay,
      hessianEvery: this.hessianEvery,
    };
  }
}

/** How Sophia estimates the Hessian diagonal. */
export type HessianEstimator = 'gnb' | 'hutchinson';

/**
 * A diagonal Hessian estimate at the current weights, one tensor per variable. 'gnb' (Gauss-Newton-Bartlett,
 * SophiaG): labels ŷ drawn from the model's own softmax at `x`, ĥ = B·ĝ⊙ĝ with ĝ the gradient of the mean
 * cross-entropy against ŷ (an unbiased estimate of the Gauss-Newton diagonal). 'hutchinson' (SophiaH): ĥ = u⊙(H·u)
 * for a Rademacher u, H the Hessian of the mean cross-entropy against the true labels `y`.
 */
export function hessianDiagonal(
  estimator: HessianEstimator,
  logits: (x: tf.Tensor4D) => tf.Tensor2D,
  variables: readonly tf.Variable[],
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  rng: Rng,
): tf.Tensor[] {
  if (estimator === 'hutchinson') {
    const op = variablesHessian(() => tf.mean(crossEntropy(logits(x), y)) as tf.Scalar, variables);
    const u = rademacher(op.shapes, rng);
    const hu = op.apply(u);
    const out = tf.tidy(() => u.map((t, i) => tf.mul(t, hu[i]!)));
    tf.dispose([...u, ...hu]);
    return out;
  }
  if (estimator !== 'gnb') throw new ConfigError('hessianEstimator', 'gnb or hutchinson', String(estimator));
  return tf.tidy(() => {
    const sampled = sampleLabels(logits(x), rng);
    const { grads } = tf.variableGrads(() => tf.mean(crossEntropy(logits(x), sampled)) as tf.Scalar, variables as tf.Variable[]);
    return variables.map((w) => tf.mul(tf.square(grads[w.name]!), x.shape[0]));
  });
}

/**
 * One label per row drawn from softmax(logits), on the host with the run's Rng. Not tf.multinomial: tf.js's cpu
 * kernel re-seeds its generator for every row, so all rows of a batch share one uniform draw — correlated labels,
 * and a GNB estimate biased upward by the cross terms (4× on a small test).
 */
export function sampleLabels(logits: tf.Tensor2D, rng: Rng): tf.Tensor1D {
  const [n, k] = logits.shape;
  const p = tf.tidy(() => tf.softmax(logits).dataSync());
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    let c = 0;
    let cum = p[i * k]!;
    while (c < k - 1 && u >= cum) cum += p[i * k + ++c]!;
    labels[i] = c;
  }
  return tf.tensor1d(labels, 'int32');
}
