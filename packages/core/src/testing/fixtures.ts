import '../util/tf-gradients.ts';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Classifier } from '../models/classifier.ts';
import { Rng } from '../util/rng.ts';
import { useBackend } from '../backend/index.ts';
import { getAttack } from '../attacks/registry.ts';

/** Test-only helpers: tiny hand-built classifiers and data, free of tfjs-layers. */

/** The cpu backend as advlab sets it up (fast conv-filter kernel, second-order gradient fixes). */
export async function cpu(): Promise<void> {
  await useBackend('cpu');
}

/** A linear classifier z = W·vec(x) + b on inputs [h,w,c]. */
export function linearClassifier(w: number[][], b: number[], inputShape: [number, number, number]): Classifier {
  const W = tf.keep(tf.tensor2d(w)); // [d, K]
  const B = tf.keep(tf.tensor1d(b));
  return {
    name: 'linear',
    numClasses: b.length,
    inputShape,
    logits: (x) => tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), W), B) as tf.Tensor2D),
  };
}

/** A small two-layer tanh/relu MLP with trainable variables. */
export function mlpClassifier(d: number, hidden: number, k: number, seed: number, inputShape: [number, number, number]) {
  const rng = new Rng(seed);
  const vars = {
    w1: tf.variable(tf.randomNormal([d, hidden], 0, Math.sqrt(2 / d), 'float32', rng.seed())),
    b1: tf.variable(tf.zeros([hidden])),
    w2: tf.variable(tf.randomNormal([hidden, k], 0, Math.sqrt(1 / hidden), 'float32', rng.seed())),
    b2: tf.variable(tf.zeros([k])),
  };
  const classifier: Classifier = {
    name: 'mlp-fixture',
    numClasses: k,
    inputShape,
    logits: (x) =>
      tf.tidy(() => {
        const h = tf.relu(tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), vars.w1), vars.b1));
        return tf.add(tf.matMul(h, vars.w2), vars.b2) as tf.Tensor2D;
      }),
  };
  return { classifier, vars };
}

/**
 * A K-class problem in [0,1]^d: class means on a scaled simplex-like layout plus Gaussian noise, so a
 * small MLP reaches high clean accuracy yet classes lie within a few tenths of each other.
 */
export function blobs(n: number, d: number, k: number, seed: number, spread = 0.12, sampleSeed = seed) {
  const meanRng = new Rng(seed);
  const means = Array.from({ length: k }, () => Array.from({ length: d }, () => 0.2 + 0.6 * meanRng.next()));
  const rng = new Rng(sampleSeed + 7919);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    y[i] = c;
    for (let j = 0; j < d; j++) x[i * d + j] = Math.min(1, Math.max(0, means[c]![j]! + spread * rng.normal()));
  }
  return { images: x, labels: y, n, height: 1, width: 1, channels: d };
}

/** Trains an MLP fixture on `blobs` with Adam; returns it (variables stay alive for the test file). */
export function trainedMlp(seed = 1, d = 8, k = 4) {
  const data = blobs(600, d, k, seed);
  const { classifier, vars } = mlpClassifier(d, 32, k, seed, [1, 1, d]);
  const opt = tf.train.adam(0.02);
  const x = tf.tensor4d(data.images, [data.n, 1, 1, d]);
  const y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), k);
  for (let s = 0; s < 200; s++) {
    tf.tidy(() => {
      opt.minimize(() => tf.losses.softmaxCrossEntropy(y, classifier.logits(x)) as tf.Scalar, false, Object.values(vars));
    });
  }
  tf.dispose([x, y]);
  opt.dispose();
  const test = blobs(400, d, k, seed, 0.12, seed + 100);
  return { classifier, vars, test };
}

/** Runs `fn`, counting calls of Tensor.prototype.dataSync meanwhile. */
export async function countDataSync<T>(fn: () => Promise<T>): Promise<{ value: T; calls: number }> {
  const proto = tf.Tensor.prototype as { dataSync: (...a: unknown[]) => unknown };
  const dataSync = proto.dataSync;
  let calls = 0;
  proto.dataSync = function (this: tf.Tensor, ...a: unknown[]) {
    calls++;
    return dataSync.apply(this, a);
  };
  try {
    return { value: await fn(), calls };
  } finally {
    proto.dataSync = dataSync;
  }
}

/**
 * The smallest trust-boundary case: a 2-class identity model on one 1×1×2 point of class 0, and an attack
 * whose proposal is NaN. The caller disposes x and y.
 */
export function nanProposalCase() {
  const model = linearClassifier(
    [
      [1, 0],
      [0, 1],
    ],
    [0, 0],
    [1, 1, 2],
  );
  const x = tf.tensor4d([0.9, 0.1], [1, 1, 1, 2]);
  const y = tf.tensor1d([0], 'int32');
  const nanAttack = { ...getAttack('fgsm'), name: 'nan', propose: () => tf.fill([1, 1, 1, 2], Number.NaN) as tf.Tensor4D };
  return { model, x, y, nanAttack };
}
