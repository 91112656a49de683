/**
 * Hessians as operators: v ↦ H·v by double backpropagation (Pearlmutter's trick, written as the gradient of
 * ⟨∇f, v⟩), never forming H. The same solvers (spectrum.ts) then serve the weight Hessian of a training loss and
 * the input Hessian of a classifier's loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../util/tf-gradients.ts';
import { ConfigError, ShapeError } from '../errors.ts';
import { crossEntropy, type AttackLoss } from '../losses/losses.ts';
import type { Classifier } from '../models/classifier.ts';
import type { TensorList } from './vectors.ts';

/** A symmetric linear map given by its action: the Hessian of some scalar function at a fixed point. */
export interface HessianOperator {
  /** The shapes of the parts of the vectors it acts on. */
  readonly shapes: readonly (readonly number[])[];
  /** H·v for v with one tensor per shape; the caller owns the result. */
  apply(v: TensorList): tf.Tensor[];
}

function checkParts(shapes: readonly (readonly number[])[], v: TensorList): void {
  if (v.length !== shapes.length) throw new ShapeError(`Hessian-vector product: ${shapes.length} parts expected, got ${v.length}`);
  v.forEach((t, i) => {
    const want = shapes[i]!;
    if (t.shape.length !== want.length || t.shape.some((d, j) => d !== want[j])) {
      throw new ShapeError(`Hessian-vector product: part ${i} must have shape [${want}], got [${t.shape}]`);
    }
  });
}

/**
 * The Hessian of `loss` with respect to `variables` (the weights a model's forward pass reads), at their current
 * values: H·v = ∇_θ ⟨∇_θ loss, v⟩. `loss` must be pure (inference mode: no dropout draws, no batch-norm updates)
 * or the operator is not a fixed matrix.
 */
export function variablesHessian(loss: () => tf.Scalar, variables: readonly tf.Variable[]): HessianOperator {
  const shapes = variables.map((w) => w.shape.slice());
  return {
    shapes,
    apply: (v) => {
      checkParts(shapes, v);
      // tf.js drops second-order paths through tf.customGrad (tf.losses.softmaxCrossEntropy is one): say so rather
      // than return a product that silently misses terms.
      const notTwice = (name: string) =>
        new ShapeError(
          `Hessian-vector product: the loss is not twice differentiable in ${name} on tf.js's tape (a tf.customGrad op in the loss? use advlab's crossEntropy)`,
        );
      return tf.tidy(() => {
        let outer: ReturnType<typeof tf.variableGrads>;
        try {
          outer = tf.variableGrads(() => {
            const inner = tf.variableGrads(loss, variables as tf.Variable[]).grads;
            return tf.addN(
              variables.map((w, i) => {
                const g = inner[w.name];
                if (!g) throw new ShapeError(`Hessian-vector product: the loss does not depend on the variable ${w.name}`);
                return tf.sum(tf.mul(g, v[i]!));
              }),
            ) as tf.Scalar;
          }, variables as tf.Variable[]);
        } catch (e) {
          if (e instanceof Error && /Cannot find a connection/.test(e.message)) throw notTwice(variables.map((w) => w.name).join(', '));
          throw e;
        }
        return variables.map((w) => {
          const g = outer.grads[w.name];
          if (!g) throw notTwice(w.name);
          return g;
        });
      });
    },
  };
}

/** A model whose weights the curvature tools differentiate: inference-mode logits and the variables they read. */
export interface WeightedModel {
  /** logits [n, K] in inference mode (pure: the same input gives the same output). */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  /** The trainable weights `logits` reads. */
  readonly variables: readonly tf.Variable[];
}

/** Options of `meanLossHessian`. */
export interface MeanLossHessianOptions {
  /** Examples per double-backprop pass (memory grows with it); default 500. */
  batchSize?: number;
  /** Per-example loss; default cross-entropy. */
  loss?: AttackLoss;
}

/**
 * The weight Hessian of the MEAN per-example loss over all of x (as PyHessian's full-dataset Hessian): each product
 * runs batch by batch, weighting batch b by n_b / n, so it is exact for any batch size.
 */
export function meanLossHessian(model: WeightedModel, x: tf.Tensor4D, y: tf.Tensor1D, opts: MeanLossHessianOptions = {}): HessianOperator {
  const n = x.shape[0];
  const batchSize = opts.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError('batchSize', 'an integer ≥ 1', String(batchSize));
  if (n < 1) throw new ShapeError('meanLossHessian: no examples');
  if (y.shape[0] !== n) throw new ShapeError(`meanLossHessian: ${n} images but ${y.shape[0]} labels`);
  const loss = opts.loss ?? crossEntropy;
  const shapes = model.variables.map((w) => w.shape.slice());
  return {
    shapes,
    apply: (v) => {
      checkParts(shapes, v);
      let total: tf.Tensor[] | undefined;
      for (let start = 0; start < n; start += batchSize) {
        const size = Math.min(batchSize, n - start);
        const part = tf.tidy(() => {
          const xb = tf.slice(x, start, size);
          const yb = tf.slice(y, start, size);
          // Sum over the batch divided by n: the batches' products add up to the mean loss's.
          return variablesHessian(() => tf.div(tf.sum(loss(model.logits(xb), yb)), n) as tf.Scalar, model.variables).apply(v);
        });
        if (total) {
          const sum = tf.tidy(() => total!.map((t, i) => tf.add(t, part[i]!)));
          tf.dispose([...total, ...part]);
          total = sum;
        } else total = part;
      }
      return total!;
    },
  };
}

/** The mean per-example loss of `model` over x, batch by batch (the value whose Hessian `meanLossHessian` takes). */
export function meanLoss(model: Pick<WeightedModel, 'logits'>, x: tf.Tensor4D, y: tf.Tensor1D, opts: MeanLossHessianOptions = {}): number {
  const n = x.shape[0];
  const batchSize = opts.batchSize ?? 500;
  const loss = opts.loss ?? crossEntropy;
  let sum = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    sum += tf.tidy(() => tf.sum(loss(model.logits(tf.slice(x, start, size)), tf.slice(y, start, size))).dataSync()[0]!);
  }
  return sum / n;
}

/**
 * The input Hessians of a classifier's per-example loss at the batch x: one part, shaped like x. Examples are
 * independent in inference mode, so the Hessian of the summed loss is block diagonal and H·v holds every
 * example's own ∇ₓ²ℓ(xᵢ)·vᵢ: batched power iteration (`inputTopEigenvalues`) reads each row separately.
 */
export function inputHessian(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, loss: AttackLoss = crossEntropy): HessianOperator {
  const shapes = [x.shape.slice()];
  return {
    shapes,
    apply: (v) => {
      checkParts(shapes, v);
      return tf.tidy(() => {
        const gradOf = tf.grad((z: tf.Tensor) => tf.sum(loss(model.logits(z as tf.Tensor4D), y)));
        return [tf.grad((z: tf.Tensor) => tf.sum(tf.mul(gradOf(z), v[0]!)))(x)];
      });
    },
  };
}
