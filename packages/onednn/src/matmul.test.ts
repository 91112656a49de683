// Native BatchMatMul / _FusedMatMul vs tf.js cpu: transposes, batch broadcasting, bias and activations.
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { compare, randomArray, Rng, size, SKIP } from './test-util.ts';

/** [a shape, b shape] before transposes are applied; transposes swap the last two dims of the stored tensor. */
const SHAPES: [number[], number[]][] = [
  [
    [5, 7],
    [7, 3],
  ],
  [
    [1, 1],
    [1, 1],
  ],
  [
    [17, 33],
    [33, 9],
  ],
  [
    [4, 5, 6],
    [4, 6, 7],
  ], // equal batches
  [
    [4, 5, 6],
    [6, 7],
  ], // one B for the whole batch (folded into one 2-D product)
  [
    [5, 6],
    [3, 6, 7],
  ], // one A for every B
  [
    [2, 3, 5, 6],
    [6, 4],
  ],
  [
    [2, 3, 5, 6],
    [2, 3, 6, 4],
  ],
  [
    [1, 5, 6],
    [3, 6, 2],
  ], // batch 1 broadcast
  [
    [64, 300],
    [300, 100],
  ],
];

function stored(shape: number[], transposed: boolean): number[] {
  if (!transposed) return shape;
  const s = shape.slice();
  [s[s.length - 2], s[s.length - 1]] = [s[s.length - 1]!, s[s.length - 2]!];
  return s;
}

test('BatchMatMul matches cpu for every transpose combination and batch broadcast', { skip: SKIP }, async () => {
  const rng = new Rng(1);
  for (const [as, bs] of SHAPES) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const sa = stored(as, ta),
          sb = stored(bs, tb);
        const av = randomArray(rng, size(sa)),
          bv = randomArray(rng, size(sb));
        await compare(`a${sa} b${sb} tA=${ta} tB=${tb}`, () => tf.matMul(tf.tensor(av, sa), tf.tensor(bv, sb), ta, tb), {
          tol: 1e-5,
          native: ['BatchMatMul'],
        });
      }
    }
  }
});

test('_FusedMatMul with bias and each activation matches cpu; dense-layer gradients too', { skip: SKIP }, async () => {
  const rng = new Rng(2);
  const activations = ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid', 'prelu'] as const;
  for (const [i, [as, bs]] of SHAPES.entries()) {
    const activation = activations[i % activations.length]!;
    const ta = i % 2 === 1,
      tb = i % 3 === 1;
    const sa = stored(as, ta),
      sb = stored(bs, tb);
    const n = bs[bs.length - 1]!;
    const av = randomArray(rng, size(sa), 2),
      bv = randomArray(rng, size(sb)),
      biasv = randomArray(rng, n);
    const alphav = randomArray(rng, n, 0.3);
    await compare(
      `fused a${sa} b${sb} ${activation}`,
      () =>
        tf.fused.matMul({
          a: tf.tensor(av, sa),
          b: tf.tensor(bv, sb),
          transposeA: ta,
          transposeB: tb,
          bias: tf.tensor1d(biasv),
          activation,
          leakyreluAlpha: 0.1,
          ...(activation === 'prelu' ? { preluActivationWeights: tf.tensor1d(alphav) } : {}),
        }),
      { tol: 1e-5, native: ['_FusedMatMul'] },
    );
  }
  // a dense layer's gradients: dx = dy·Wᵀ, dW = xᵀ·dy (transposed products), db = Σ dy
  const xv = randomArray(rng, 32 * 50),
    wv = randomArray(rng, 50 * 20),
    bv = randomArray(rng, 20);
  await compare(
    'dense gradients',
    () =>
      tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b)))),
      )([tf.tensor2d(xv, [32, 50]), tf.tensor2d(wv, [50, 20]), tf.tensor1d(bv)]),
    { tol: 1e-4, native: ['BatchMatMul', 'Sum'] },
  );
});

test('unsupported matmul patterns fall back to the cpu kernel', { skip: SKIP }, async () => {
  const rng = new Rng(3);
  // batch dims that broadcast against each other ([2,1] with [1,3]) — tf.js's own semantics, via cpu
  const av = randomArray(rng, 2 * 4 * 5),
    bv = randomArray(rng, 3 * 5 * 2);
  await compare('batch [2,1] x [1,3]', () => tf.matMul(tf.tensor(av, [2, 1, 4, 5]), tf.tensor(bv, [1, 3, 5, 2])), {
    tol: 1e-5,
    fallback: ['BatchMatMul'],
  });
  // a bias that is not along the last axis
  const a2 = randomArray(rng, 6 * 4),
    b2 = randomArray(rng, 4 * 3),
    bias2 = randomArray(rng, 6 * 3);
  await compare(
    'fused matmul with a [M, N] bias',
    () => tf.fused.matMul({ a: tf.tensor2d(a2, [6, 4]), b: tf.tensor2d(b2, [4, 3]), bias: tf.tensor2d(bias2, [6, 3]), activation: 'relu' }),
    { tol: 1e-5, fallback: ['_FusedMatMul'] },
  );
});
