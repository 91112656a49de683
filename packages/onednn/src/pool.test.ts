// Native MaxPool / AvgPool and their gradients vs tf.js cpu.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { poolParams } from './kernels/pool.ts';
import { compare, randomArray, Rng, SKIP } from './test-util.ts';

interface Case {
  shape: [number, number, number, number];
  size: [number, number];
  strides: [number, number];
  pad: 'same' | 'valid' | number;
  rounding?: 'floor' | 'round' | 'ceil';
}

function cases(count: number, seed: number): Case[] {
  const rng = new Rng(seed);
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rng.int(3);
    // with a numeric pad tf.js sizes both output dims from the window height and stride height (see
    // conv.test.ts), so numeric pads get square windows and strides
    const fh = 1 + rng.int(3),
      fw = kind === 2 ? fh : 1 + rng.int(3);
    const sh = 1 + rng.int(3),
      sw = kind === 2 ? sh : 1 + rng.int(3);
    const c: Case = {
      shape: [1 + rng.int(3), fh + rng.int(9), fw + rng.int(9), 1 + rng.int(17)],
      size: [fh, fw],
      strides: [sh, sw],
      pad: kind === 0 ? 'same' : kind === 1 ? 'valid' : rng.int(fh),
    };
    if (kind === 2) c.rounding = (['floor', 'round', 'ceil'] as const)[rng.int(3)];
    out.push(c);
  }
  return out;
}

const describe = (c: Case) => `x[${c.shape}] window ${c.size} strides ${c.strides} pad ${c.pad}${c.rounding ? ` ${c.rounding}` : ''}`;
const CASES = cases(40, 1);

for (const type of ['max', 'avg'] as const) {
  const op = type === 'max' ? tf.maxPool : tf.avgPool;
  const kernel = type === 'max' ? 'MaxPool' : 'AvgPool';

  test(`${kernel} forward matches cpu`, { skip: SKIP }, async () => {
    const rng = new Rng(2);
    let native = 0;
    for (const c of CASES) {
      const xv = randomArray(
        rng,
        c.shape.reduce((a, b) => a * b),
      );
      // 'ceil' rounding can add a window that lies wholly in the padding (tf.js yields -Infinity / NaN
      // there); oneDNN rejects such shapes, so they go to the cpu kernel
      const supported = poolParams(c.shape, { filterSize: c.size, strides: c.strides, pad: c.pad, dimRoundingMode: c.rounding }) !== null;
      if (supported) native++;
      await compare(describe(c), () => op(tf.tensor4d(xv, c.shape), c.size, c.strides, c.pad, c.rounding), {
        tol: 1e-5,
        ...(supported ? { native: [kernel] } : { fallback: [kernel] }),
      });
    }
    assert.ok(native >= CASES.length - 3, `only ${native} of ${CASES.length} cases ran natively`);
  });

  test(`${kernel}Grad matches cpu`, { skip: SKIP }, async () => {
    const rng = new Rng(3);
    for (const c of CASES.filter((k) => !k.rounding)) {
      // distinct values: ties in a max window may legitimately route the gradient to either element
      const xv = randomArray(
        rng,
        c.shape.reduce((a, b) => a * b),
      );
      const ys = backend_util.computePool2DInfo(c.shape, c.size, c.strides, 1, c.pad).outShape;
      const rv = randomArray(
        rng,
        ys.reduce((a, b) => a * b),
      );
      await compare(
        describe(c),
        () =>
          tf.grad((x: tf.Tensor) => tf.sum(tf.mul(op(x as tf.Tensor4D, c.size, c.strides, c.pad), tf.tensor(rv, ys))))(
            tf.tensor4d(xv, c.shape),
          ),
        { tol: 1e-4, native: [`${kernel}Grad`] },
      );
    }
  });
}
