import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import '../util/tf-gradients.ts';
import { ConfigError } from '../errors.ts';
import type { ImageSet } from '../data/types.ts';
import { batchTensors, chunks, range } from '../eval/batches.ts';
import { Rng } from '../util/rng.ts';

export interface TrainOptions {
  epochs: number;
  batchSize?: number;
  optimizer?: 'adam' | 'sgd';
  lr?: number;
  /** SGD momentum (ignored by Adam). */
  momentum?: number;
  seed?: number;
  /** Train on the first `limit` examples only. */
  limit?: number;
  onBatch?: (p: BatchProgress) => void;
  onEpoch?: (m: EpochMetrics) => void;
}

export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  /** Examples per second over the epoch so far. */
  examplesPerSecond: number;
}

export interface EpochMetrics {
  epoch: number;
  loss: number;
  train_accuracy: number;
  seconds: number;
}

export function makeOptimizer(name: 'adam' | 'sgd', lr: number, momentum = 0.9): tf.Optimizer {
  if (!(lr > 0)) throw new ConfigError('--lr', 'a number > 0', String(lr));
  if (name === 'adam') return tf.train.adam(lr);
  if (name === 'sgd') return momentum > 0 ? tf.train.momentum(lr, momentum) : tf.train.sgd(lr);
  throw new ConfigError('--optimizer', 'adam or sgd', String(name));
}

/** The model's trainable tf.Variables, for optimizer.minimize. */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => (w as unknown as { read(): tf.Variable }).read());
}

/**
 * Plain (non-adversarial) training with softmax cross-entropy: seeded shuffling, one optimiser step
 * per mini-batch, each step inside tf.tidy. Mutates `model`'s weights.
 */
export function trainStandard(model: tfl.LayersModel, train: ImageSet, o: TrainOptions): EpochMetrics[] {
  const batchSize = o.batchSize ?? 128;
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new ConfigError('--epochs', 'an integer ≥ 1', String(o.epochs));
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError('--batch-size', 'an integer ≥ 1', String(batchSize));
  const n = Math.min(o.limit ?? train.n, train.n);
  if (!(n >= 1)) throw new ConfigError('--limit', 'an integer ≥ 1', String(o.limit));
  const rng = new Rng(o.seed ?? 0);
  const optimizer = makeOptimizer(o.optimizer ?? 'adam', o.lr ?? 1e-3, o.momentum);
  const vars = trainableVariables(model);
  const history: EpochMetrics[] = [];
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now();
    const order = rng.shuffle(range(n));
    const batches = chunks(order, batchSize);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    batches.forEach((idx, b) => {
      const [loss, hits] = tf.tidy(() => {
        const { x, y } = batchTensors(train, idx);
        let hitsT: tf.Tensor | undefined;
        const lossT = optimizer.minimize(
          () => {
            const logits = model.apply(x, { training: true }) as tf.Tensor2D;
            hitsT = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')));
            return tf.losses.softmaxCrossEntropy(tf.oneHot(y, logits.shape[1]), logits) as tf.Scalar;
          },
          true,
          vars,
        )!;
        const hitCount = hitsT!.dataSync()[0]!;
        hitsT!.dispose(); // kept out of minimize's scope; freed here
        return [lossT.dataSync()[0]!, hitCount];
      });
      lossSum += loss * idx.length;
      correct += hits;
      seen += idx.length;
      o.onBatch?.({
        epoch,
        epochs: o.epochs,
        batch: b + 1,
        batches: batches.length,
        loss: lossSum / seen,
        accuracy: correct / seen,
        examplesPerSecond: seen / ((performance.now() - t0) / 1000),
      });
    });
    const m = { epoch, loss: lossSum / seen, train_accuracy: correct / seen, seconds: (performance.now() - t0) / 1000 };
    history.push(m);
    o.onEpoch?.(m);
  }
  optimizer.dispose();
  return history;
}
