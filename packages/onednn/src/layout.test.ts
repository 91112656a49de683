// Native PadV2 / Slice / Tile / GatherV2 vs tf.js cpu, and their dimension-merging planners.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { padPlan, slicePlan, tilePlan } from './kernels/layout.ts';
import { compare, compareExact, counts, randomArray, Rng, size, SKIP, TILE_CASES } from './test-util.ts';
import { useBackend } from '@advlab/node';

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
  const cases: (readonly [number[], number[]])[] = [
    [
      [1, 1, 1, 16],
      [32, 8, 8, 1],
    ], // a batch-norm gradient's per-channel term over the batch
    ...TILE_CASES,
  ];
  for (const [shape, reps] of cases) {
    const xv = randomArray(rng, size(shape));
    await compare(`tile [${shape}] x ${reps}`, () => tf.tile(tf.tensor(xv, shape), reps), { tol: 0, native: ['Tile'] });
  }
});

test('Tile of int32 and bool matches cpu exactly (tf.where broadcasts its condition with it)', { skip: SKIP }, async () => {
  const rng = new Rng(4);
  const cases: (readonly [number[], number[]])[] = [
    [
      [420, 1],
      [1, 784],
    ],
    ...TILE_CASES,
    [
      [7, 1],
      [1, 3],
    ], // a bool output whose byte count is not a multiple of 4
  ];
  for (const [shape, reps] of cases) {
    const v = randomArray(rng, size(shape), 100).map(Math.round);
    await compareExact(`tile int32 [${shape}] x ${reps}`, () => tf.tile(tf.tensor(v, shape, 'int32'), reps), { native: ['Tile'] });
    await compareExact(
      `tile bool [${shape}] x ${reps}`,
      () =>
        tf.tile(
          tf.tensor(
            v.map((x) => (x > 0 ? 1 : 0)),
            shape,
            'bool',
          ),
          reps,
        ),
      {
        native: ['Tile'],
      },
    );
  }
  await compareExact('broadcastTo bool [n, 1] → [n, d]', () => tf.broadcastTo(tf.tensor2d([1, 0, 1], [3, 1], 'bool'), [3, 5]), {
    native: ['Tile'],
  });
});

test('GatherV2 matches cpu exactly: axis / batchDims patterns, float32, int32 and bool', { skip: SKIP }, async () => {
  const rng = new Rng(5);
  const ints = (n: number, below: number) => Int32Array.from({ length: n }, () => rng.int(below));
  // x shape, indices shape, axis, batchDims
  const cases: [number[], number[], number, number][] = [
    [[420, 784], [420, 784], 1, 1], // per-row permutations (FAB's projection); multithreaded
    [[420, 28, 28, 1], [420], 0, 0], // images by index
    [[6, 5, 4], [3, 2], 1, 0],
    [[6, 5, 4], [6, 3], 2, 1],
    [[2, 3, 4, 5], [2, 3, 7], 2, 2],
    [[6, 5, 4], [4], -1, 0],
    [[10], [25], 0, 0],
  ];
  for (const [shape, ishape, axis, batchDims] of cases) {
    const a = axis < 0 ? shape.length + axis : axis;
    const idx = ints(size(ishape), shape[a]!);
    const v = randomArray(rng, size(shape), 100).map(Math.round);
    v[0] = -0;
    const label = `gather [${shape}] by [${ishape}] axis ${axis} batchDims ${batchDims}`;
    const index = () => tf.tensor(idx, ishape, 'int32');
    await compareExact(`${label} float32`, () => tf.gather(tf.tensor(v, shape), index(), axis, batchDims), { native: ['GatherV2'] });
    await compareExact(`${label} int32`, () => tf.gather(tf.tensor(v, shape, 'int32'), index(), axis, batchDims), { native: ['GatherV2'] });
    await compareExact(
      `${label} bool`,
      () =>
        tf.gather(
          tf.tensor(
            v.map((x) => (x > 0 ? 1 : 0)),
            shape,
            'bool',
          ),
          index(),
          axis,
          batchDims,
        ),
      {
        native: ['GatherV2'],
      },
    );
  }
});

test('GatherV2 with an index out of range falls back and throws the cpu error', { skip: SKIP }, async () => {
  await useBackend('onednn');
  const before = counts('GatherV2');
  const live = tf.memory().numTensors;
  for (const bad of [5, -1]) {
    assert.throws(
      () => tf.tidy(() => tf.gather(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2, 5]), tf.tensor1d([0, bad, 2], 'int32'), 1)),
      /GatherV2: the index value -?\d+ is not in \[0, 4\]/,
    );
  }
  assert.equal(tf.memory().numTensors, live);
  assert.equal(counts('GatherV2').fallback - before.fallback, 2);
  assert.equal(counts('GatherV2').errors, before.errors);
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
