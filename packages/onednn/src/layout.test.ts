// Native PadV2 / Slice vs tf.js cpu, and their dimension-merging planners.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { padPlan, slicePlan, tilePlan } from './kernels/layout.ts';
import { compare, randomArray, Rng, SKIP } from './test-util.ts';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

test('padPlan / slicePlan merge dimensions copied whole', () => {
  assert.deepEqual(
    padPlan(
      [128, 28, 28, 1],
      [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ],
    ),
    {
      inShape: [128, 28, 28],
      before: [0, 1, 1],
      outShape: [128, 30, 30],
    },
  );
  assert.deepEqual(
    padPlan(
      [4, 5],
      [
        [1, 2],
        [0, 0],
      ],
    ),
    { inShape: [20], before: [5], outShape: [35] },
  );
  assert.deepEqual(slicePlan([8, 30, 30, 16], [0, 1, 1, 0], [8, 28, 28, 16]), {
    inShape: [8, 30, 480],
    begin: [0, 1, 16],
    size: [8, 28, 448],
  });
  assert.deepEqual(slicePlan([6, 4], [2, 0], [3, 4]), { inShape: [24], begin: [8], size: [12] });
  assert.deepEqual(tilePlan([1, 1, 1, 16], [128, 32, 32, 1]), { inShape: [1, 1, 16], reps: [128, 32, 32] });
  assert.deepEqual(tilePlan([3, 4], [2, 1]), { inShape: [12], reps: [2] });
  assert.equal(tilePlan([3], [0]), null);
});

test('Tile matches cpu', { skip: SKIP }, async () => {
  const rng = new Rng(3);
  const cases: [number[], number[]][] = [
    [
      [1, 1, 1, 16],
      [32, 8, 8, 1],
    ], // a batch-norm gradient's per-channel term over the batch
    [
      [3, 4],
      [2, 3],
    ],
    [[5], [4]],
    [
      [2, 1, 3],
      [1, 5, 2],
    ],
    [
      [2, 3, 1, 2, 2],
      [2, 1, 3, 1, 2],
    ],
  ];
  for (const [shape, reps] of cases) {
    const xv = randomArray(rng, size(shape));
    await compare(`tile [${shape}] x ${reps}`, () => tf.tile(tf.tensor(xv, shape), reps), { tol: 0, native: ['Tile'] });
  }
});

test('PadV2 matches cpu', { skip: SKIP }, async () => {
  const rng = new Rng(1);
  const cases: [number[], [number, number][], number][] = [
    [
      [2, 28, 28, 1],
      [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ],
      0,
    ],
    [
      [3, 7, 5, 16],
      [
        [0, 0],
        [2, 1],
        [0, 3],
        [0, 0],
      ],
      0,
    ],
    [
      [4, 6],
      [
        [1, 0],
        [2, 3],
      ],
      -1.5,
    ],
    [[5], [[3, 4]], 2],
    [
      [2, 3, 4],
      [
        [1, 1],
        [0, 0],
        [0, 2],
      ],
      0,
    ],
    [
      [1, 2, 3, 4, 5],
      [
        [0, 1],
        [1, 0],
        [0, 0],
        [2, 2],
        [1, 0],
      ],
      0.5,
    ],
  ];
  for (const [shape, paddings, value] of cases) {
    const xv = randomArray(rng, size(shape));
    await compare(`pad [${shape}] ${JSON.stringify(paddings)}`, () => tf.pad(tf.tensor(xv, shape), paddings, value), {
      tol: 0,
      native: ['PadV2'],
    });
  }
});

test('Slice matches cpu, and a zero-padding layer gradient runs natively', { skip: SKIP }, async () => {
  const rng = new Rng(2);
  const cases: [number[], number[], number[]][] = [
    [
      [8, 30, 30, 16],
      [0, 1, 1, 0],
      [8, 28, 28, 16],
    ],
    [
      [5, 6],
      [1, 2],
      [3, 3],
    ],
    [
      [5, 6],
      [1, 0],
      [3, -1],
    ],
    [[10], [3], [4]],
    [
      [2, 3, 4, 5, 6],
      [1, 0, 2, 1, 3],
      [1, 3, 2, 3, 2],
    ],
  ];
  for (const [shape, begin, sz] of cases) {
    const xv = randomArray(rng, size(shape));
    await compare(`slice [${shape}] at ${begin} size ${sz}`, () => tf.slice(tf.tensor(xv, shape), begin, sz), {
      tol: 0,
      native: ['Slice'],
    });
  }
  const xv = randomArray(rng, 4 * 9 * 9 * 3);
  const rv = randomArray(rng, 4 * 11 * 11 * 3);
  await compare(
    'gradient of pad',
    () =>
      tf.grad((x: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.pad(x, [
              [0, 0],
              [1, 1],
              [1, 1],
              [0, 0],
            ]),
            tf.tensor(rv, [4, 11, 11, 3]),
          ),
        ),
      )(tf.tensor(xv, [4, 9, 9, 3])),
    { tol: 0, native: ['PadV2', 'Slice'] },
  );
});
