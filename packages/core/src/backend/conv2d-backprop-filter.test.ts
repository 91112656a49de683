import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng.ts';
import { AdvlabError } from '../errors.ts';
import { useBackend } from './index.ts';
import { conv2dBackpropFilterInfo, conv2dBackpropFilterNHWC } from './conv2d-backprop-filter.ts';
import { isJsKernelRegistered, replacedKernel } from './kernel-io.ts';
import { relErr } from '../testing/numeric.ts';

await useBackend('cpu');

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  strides: [number, number];
  pad: Pad;
}
const EXPLICIT: Pad = [
  [0, 0],
  [1, 2],
  [2, 1],
  [0, 0],
];

function randomArray(rng: Rng, size: number, zeroFraction = 0): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.next() < zeroFraction ? 0 : rng.normal();
  return a;
}

function attrsOf(c: Case) {
  return {
    strides: c.strides,
    pad: c.pad,
    dataFormat: 'NHWC' as const,
    dimRoundingMode: undefined,
    filterShape: [c.kh, c.kw, c.ci, c.co] as [number, number, number, number],
  };
}

/** Naive float64 loop straight from the definition, independent of tf.js and of the code under test. */
function naive(x: Float32Array, dy: Float32Array, c: Case, info: tf.backend_util.Conv2DInfo): Float64Array {
  const out = new Float64Array(c.kh * c.kw * c.ci * c.co);
  const { outHeight: oh, outWidth: ow } = info;
  for (let a = 0; a < c.kh; a++)
    for (let b = 0; b < c.kw; b++)
      for (let i = 0; i < c.ci; i++)
        for (let o = 0; o < c.co; o++) {
          let s = 0;
          for (let n = 0; n < c.n; n++)
            for (let y = 0; y < oh; y++)
              for (let z = 0; z < ow; z++) {
                const ih = y * c.strides[0] - info.padInfo.top + a * info.dilationHeight;
                const iw = z * c.strides[1] - info.padInfo.left + b * info.dilationWidth;
                if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) continue;
                s += x[((n * c.h + ih) * c.w + iw) * c.ci + i]! * dy[((n * oh + y) * ow + z) * c.co + o]!;
              }
          out[((a * c.kw + b) * c.ci + i) * c.co + o] = s;
        }
  return out;
}

/** Run a Conv2DBackpropFilter kernel function directly on the cpu backend and read its result. */
function runKernelFunc(f: KernelFunc, x: tf.Tensor4D, dy: tf.Tensor4D, c: Case): Float32Array {
  const info = f({ inputs: { x, dy }, backend: tf.backend(), attrs: attrsOf(c) as never }) as TensorInfo;
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

function cases(): Case[] {
  const rng = new Rng(20240607);
  const pads: Pad[] = ['same', 'valid', EXPLICIT];
  const strides: [number, number][] = [
    [1, 1],
    [2, 2],
    [3, 3],
    [1, 2],
    [2, 1],
    [3, 1],
  ];
  const out: Case[] = [];
  // every padding × stride combination, random sizes / channels / kernels within the ranges
  for (const pad of pads)
    for (const s of strides)
      for (let rep = 0; rep < 5; rep++) {
        out.push({
          n: 1 + rng.int(3),
          h: 5 + rng.int(8),
          w: 5 + rng.int(8),
          ci: 1 + rng.int(5),
          co: 1 + rng.int(5),
          kh: 1 + rng.int(4),
          kw: 1 + rng.int(4),
          strides: s,
          pad,
        });
      }
  // corners: 1×1 and largest kernels, many out channels (the unrolled-by-8 path and its remainder),
  // enough output positions to trigger the float64 flush several times
  out.push({ n: 1, h: 5, w: 5, ci: 1, co: 1, kh: 1, kw: 1, strides: [1, 1], pad: 'valid' });
  out.push({ n: 3, h: 12, w: 12, ci: 5, co: 5, kh: 4, kw: 4, strides: [1, 1], pad: 'same' });
  out.push({ n: 2, h: 9, w: 11, ci: 3, co: 8, kh: 3, kw: 2, strides: [1, 2], pad: EXPLICIT });
  out.push({ n: 2, h: 10, w: 7, ci: 2, co: 17, kh: 4, kw: 3, strides: [2, 1], pad: 'same' });
  out.push({ n: 3, h: 12, w: 12, ci: 4, co: 9, kh: 3, kw: 3, strides: [1, 1], pad: 'same' });
  out.push({ n: 8, h: 16, w: 16, ci: 3, co: 16, kh: 3, kw: 3, strides: [1, 1], pad: 'same' });
  // padding wider than the kernel: whole filter rows / columns fall outside for some outputs
  out.push({
    n: 2,
    h: 6,
    w: 7,
    ci: 4,
    co: 5,
    kh: 2,
    kw: 3,
    strides: [2, 1],
    pad: [
      [0, 0],
      [3, 1],
      [2, 4],
      [0, 0],
    ],
  });
  out.push({
    n: 1,
    h: 5,
    w: 5,
    ci: 1,
    co: 9,
    kh: 1,
    kw: 2,
    strides: [1, 3],
    pad: [
      [0, 0],
      [4, 0],
      [0, 5],
      [0, 0],
    ],
  });
  return out;
}

const tfjsCpu = replacedKernel('Conv2DBackpropFilter', 'cpu');

test('useBackend(cpu) replaced tf.js cpu Conv2DBackpropFilter and kept tf.js kernel as the reference', () => {
  assert.ok(isJsKernelRegistered('Conv2DBackpropFilter', 'cpu'));
  assert.ok(tfjsCpu, 'the tf.js cpu kernel was recorded');
  assert.notEqual(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc, tfjsCpu.kernelFunc);
});

test('conv2dBackpropFilterNHWC matches a naive loop and tf.js cpu kernel over many shapes (rel ≤ 1e-5)', () => {
  const rng = new Rng(7);
  const all = cases();
  let worst = 0;
  for (const c of all) {
    const label = JSON.stringify(c);
    const info = conv2dBackpropFilterInfo([c.n, c.h, c.w, c.ci], attrsOf(c));
    assert.ok(info.outHeight > 0 && info.outWidth > 0, label);
    const x = randomArray(rng, c.n * c.h * c.w * c.ci, 0.3); // some zeros, like post-ReLU activations
    const dyShape = [c.n, info.outHeight, info.outWidth, c.co];
    const dy = randomArray(
      rng,
      dyShape.reduce((a, b) => a * b, 1),
    );
    const got = conv2dBackpropFilterNHWC(x, [c.n, c.h, c.w, c.ci], dy, dyShape, info);
    assert.deepEqual(info.filterShape, [c.kh, c.kw, c.ci, c.co], label);

    const e1 = relErr(got, naive(x, dy, c, info));
    assert.ok(e1 <= 1e-5, `vs naive: ${e1} for ${label}`);

    const ref = tf.tidy(() => {
      const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.ci]);
      const dyt = tf.tensor4d(dy, dyShape as [number, number, number, number]);
      return runKernelFunc(tfjsCpu!.kernelFunc, xt, dyt, c);
    });
    const e2 = relErr(got, ref);
    assert.ok(e2 <= 1e-5, `vs tf.js cpu: ${e2} for ${label}`);
    worst = Math.max(worst, e1, e2);
  }
  assert.ok(all.length >= 90);
  assert.ok(worst < 1e-5);
});

test('conv2dBackpropFilterNHWC honours dilations in convInfo (used by no tf.js kernel attr, but supported)', () => {
  const rng = new Rng(8);
  for (const [c, dil] of [
    [{ n: 2, h: 11, w: 9, ci: 5, co: 6, kh: 3, kw: 2, strides: [1, 1], pad: 'same' }, [2, 3]],
    [{ n: 1, h: 12, w: 12, ci: 2, co: 9, kh: 2, kw: 3, strides: [1, 1], pad: 'valid' }, [3, 2]],
  ] as [Case, [number, number]][]) {
    const info = tf.backend_util.computeConv2DInfo(
      [c.n, c.h, c.w, c.ci],
      [c.kh, c.kw, c.ci, c.co],
      1,
      dil,
      c.pad as 'same',
      undefined,
      false,
      'channelsLast',
    );
    const x = randomArray(rng, c.n * c.h * c.w * c.ci, 0.2);
    const dyShape = [c.n, info.outHeight, info.outWidth, c.co];
    const dy = randomArray(
      rng,
      dyShape.reduce((a, b) => a * b, 1),
    );
    const got = conv2dBackpropFilterNHWC(x, [c.n, c.h, c.w, c.ci], dy, dyShape, info);
    assert.ok(relErr(got, naive(x, dy, c, info)) <= 1e-5, JSON.stringify({ c, dil }));
  }
});

test('the registered cpu kernel gives tf.grad w.r.t. a conv filter equal to tf.js own kernel', () => {
  const rng = new Rng(3);
  const c: Case = { n: 2, h: 9, w: 8, ci: 3, co: 4, kh: 3, kw: 3, strides: [2, 1], pad: 'same' };
  const x = tf.tensor4d(randomArray(rng, 2 * 9 * 8 * 3), [2, 9, 8, 3]);
  const f = tf.tensor4d(randomArray(rng, 3 * 3 * 3 * 4), [3, 3, 3, 4]);
  const loss = (filter: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, filter as tf.Tensor4D, c.strides, c.pad as 'same')));
  const g = tf.grad(loss)(f);
  const dy = tf.tidy(() => tf.mul(2, tf.conv2d(x, f, c.strides, 'same')) as tf.Tensor4D);
  const ref = runKernelFunc(tfjsCpu!.kernelFunc, x, dy, c);
  assert.ok(relErr(g.dataSync(), ref) <= 1e-5);
  tf.dispose([x, f, g, dy]);
});

test('NCHW on cpu falls back to tf.js kernel', () => {
  const rng = new Rng(5);
  const x = tf.tensor4d(randomArray(rng, 2 * 3 * 7 * 6), [2, 3, 7, 6]); // N C H W
  const dy = tf.tensor4d(randomArray(rng, 2 * 4 * 7 * 6), [2, 4, 7, 6]);
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] };
  const got = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as never) as tf.Tensor;
  // same thing in NHWC through the JS kernel
  const want = tf.tidy(
    () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.transpose(x, [0, 2, 3, 1]), dy: tf.transpose(dy, [0, 2, 3, 1]) }, {
        ...attrs,
        dataFormat: 'NHWC',
      } as never) as tf.Tensor,
  );
  assert.deepEqual(got.shape, [3, 3, 3, 4]);
  assert.ok(relErr(got.dataSync(), want.dataSync()) <= 1e-5);
  tf.dispose([x, dy, got, want]);
});

test('conv2dBackpropFilterNHWC rejects mismatched shapes with E_SHAPE', () => {
  const c: Case = { n: 1, h: 5, w: 5, ci: 2, co: 3, kh: 3, kw: 3, strides: [1, 1], pad: 'valid' };
  const info = conv2dBackpropFilterInfo([1, 5, 5, 2], attrsOf(c));
  assert.throws(
    () => conv2dBackpropFilterNHWC(new Float32Array(50), [1, 5, 5, 2], new Float32Array(27), [1, 3, 3, 4], info),
    (e: unknown) => e instanceof AdvlabError && e.code === 'E_SHAPE' && /dy \[1,3,3,3\]/.test(e.message),
  );
  assert.throws(
    () => conv2dBackpropFilterNHWC(new Float32Array(49), [1, 5, 5, 2], new Float32Array(27), [1, 3, 3, 3], info),
    (e: unknown) => e instanceof AdvlabError && e.code === 'E_SHAPE',
  );
});
