// Native convolution kernels (Conv2D, FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter) vs tf.js cpu.
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { compare, randomArray, Rng, SKIP } from './test-util.ts';

type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;
interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
  rounding?: 'floor' | 'round' | 'ceil';
}

/** Random configurations: strides 1–3, dilation 1–2, kernel 1–5, channels 1–17, batch 1–3, all padding kinds. */
function cases(count: number, seed: number): Case[] {
  const rng = new Rng(seed);
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rng.int(4);
    // with a numeric pad tf.js sizes both output dims from the filter height (a tf.js quirk the addon does
    // not reproduce: such convolutions fall back, tested below), so numeric pads get square filters
    const kh = 1 + rng.int(5),
      kw = kind === 2 ? kh : 1 + rng.int(5);
    // tf.js requires strides or dilations to be 1
    const dilated = rng.int(4) === 0;
    const dilations: [number, number] = dilated ? (kind === 2 ? [2, 2] : [1 + rng.int(2), 2]) : [1, 1];
    const strides: [number, number] = dilated ? [1, 1] : [1 + rng.int(3), 1 + rng.int(3)];
    let pad: Pad;
    let rounding: Case['rounding'];
    if (kind === 0) pad = 'same';
    else if (kind === 1) pad = 'valid';
    else if (kind === 2) {
      pad = rng.int(3);
      rounding = (['floor', 'round', 'ceil'] as const)[rng.int(3)];
    } else
      pad = [
        [0, 0],
        [rng.int(3), rng.int(3)],
        [rng.int(3), rng.int(3)],
        [0, 0],
      ];
    out.push({
      n: 1 + rng.int(3),
      h: (kh - 1) * dilations[0] + 1 + rng.int(8),
      w: (kw - 1) * dilations[1] + 1 + rng.int(8),
      ci: 1 + rng.int(17),
      co: 1 + rng.int(17),
      kh,
      kw,
      strides,
      dilations,
      pad,
      ...(rounding ? { rounding } : {}),
    });
  }
  return out;
}

function describe(c: Case): string {
  return `x[${c.n},${c.h},${c.w},${c.ci}] f[${c.kh},${c.kw},${c.ci},${c.co}] s${c.strides} d${c.dilations} pad ${JSON.stringify(c.pad)}${c.rounding ? ` ${c.rounding}` : ''}`;
}

function outShape(c: Case): number[] {
  return backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], [c.kh, c.kw, c.ci, c.co], c.strides, c.dilations, c.pad, c.rounding)
    .outShape;
}

// plus the few-input-channel layers whose input gradient takes the addon's matmul + col2im path
const CASES = [
  ...cases(48, 1),
  { n: 2, h: 9, w: 8, ci: 1, co: 5, kh: 3, kw: 3, strides: [1, 1], dilations: [1, 1], pad: 'same' },
  {
    n: 3,
    h: 10,
    w: 11,
    ci: 1,
    co: 4,
    kh: 4,
    kw: 4,
    strides: [2, 2],
    dilations: [1, 1],
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
  { n: 1, h: 7, w: 9, ci: 2, co: 3, kh: 2, kw: 3, strides: [3, 2], dilations: [1, 1], pad: 'valid' },
  { n: 2, h: 8, w: 8, ci: 2, co: 6, kh: 5, kw: 5, strides: [1, 3], dilations: [1, 1], pad: 'same' },
] as Case[];

test('Conv2D forward matches cpu over strides, padding, dilations, kernel sizes and channels', { skip: SKIP }, async () => {
  const rng = new Rng(2);
  for (const c of CASES) {
    const xv = randomArray(rng, c.n * c.h * c.w * c.ci);
    const fv = randomArray(rng, c.kh * c.kw * c.ci * c.co, 0.5);
    await compare(
      describe(c),
      () =>
        tf.conv2d(
          tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]),
          tf.tensor4d(fv, [c.kh, c.kw, c.ci, c.co]),
          c.strides,
          c.pad as 'same',
          'NHWC',
          c.dilations,
          c.rounding,
        ),
      { tol: 1e-5, native: ['Conv2D'] },
    );
  }
});

test('Conv2D gradients (Conv2DBackpropInput, Conv2DBackpropFilter) match cpu', { skip: SKIP }, async () => {
  const rng = new Rng(3);
  // tf.js has no gradient for dilated convolutions and ignores dimRoundingMode in the gradient
  for (const c of CASES.filter((k) => k.dilations[0] === 1 && k.dilations[1] === 1 && !k.rounding)) {
    const xv = randomArray(rng, c.n * c.h * c.w * c.ci);
    const fv = randomArray(rng, c.kh * c.kw * c.ci * c.co, 0.5);
    const ys = outShape(c);
    const rv = randomArray(
      rng,
      ys.reduce((a, b) => a * b, 1),
    );
    await compare(
      describe(c),
      () => {
        const r = tf.tensor(rv, ys);
        return tf.grads((x: tf.Tensor, f: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad as 'same'), r)),
        )([tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]), tf.tensor4d(fv, [c.kh, c.kw, c.ci, c.co])]);
      },
      { tol: 1e-4, native: ['Conv2DBackpropInput', 'Conv2DBackpropFilter'] },
    );
  }
});

test('FusedConv2D with bias and every activation matches cpu; its gradient too', { skip: SKIP }, async () => {
  const rng = new Rng(4);
  const activations = ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid', 'prelu'] as const;
  for (const [i, c] of CASES.slice(0, 14).entries()) {
    const activation = activations[i % activations.length]!;
    const xv = randomArray(rng, c.n * c.h * c.w * c.ci, 2);
    const fv = randomArray(rng, c.kh * c.kw * c.ci * c.co, 0.5);
    const bv = randomArray(rng, c.co);
    const av = randomArray(rng, c.co, 0.3);
    await compare(
      `${describe(c)} ${activation}`,
      () =>
        tf.fused.conv2d({
          x: tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]),
          filter: tf.tensor4d(fv, [c.kh, c.kw, c.ci, c.co]),
          strides: c.strides,
          pad: c.pad as 'same',
          dilations: c.dilations,
          ...(c.rounding ? { dimRoundingMode: c.rounding } : {}),
          bias: tf.tensor1d(bv),
          activation,
          leakyreluAlpha: 0.15,
          ...(activation === 'prelu' ? { preluActivationWeights: tf.tensor1d(av) } : {}),
        }),
      { tol: 1e-5, native: ['FusedConv2D'] },
    );
  }
  // the gradient of a fused relu convolution: dy·step(y) through both backprops and the bias reduction
  const c = CASES.find((k) => k.dilations[0] === 1 && k.dilations[1] === 1 && !k.rounding)!;
  const xv = randomArray(rng, c.n * c.h * c.w * c.ci);
  const fv = randomArray(rng, c.kh * c.kw * c.ci * c.co, 0.5);
  const bv = randomArray(rng, c.co, 0.1);
  await compare(
    `gradient of fused relu conv ${describe(c)}`,
    () =>
      tf.grads((x: tf.Tensor, f: tf.Tensor, b: tf.Tensor) =>
        tf.sum(
          tf.square(
            tf.fused.conv2d({
              x: x as tf.Tensor4D,
              filter: f as tf.Tensor4D,
              strides: c.strides,
              pad: c.pad as 'same',
              bias: b,
              activation: 'relu',
            }),
          ),
        ),
      )([tf.tensor4d(xv, [c.n, c.h, c.w, c.ci]), tf.tensor4d(fv, [c.kh, c.kw, c.ci, c.co]), tf.tensor1d(bv)]),
    // (under a gradient tape tf.js runs a fused relu conv unfused: Conv2D + Add + Relu)
    { tol: 1e-4, native: ['Conv2D', 'Add', 'Relu', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Step', 'Sum'] },
  );
});

test('unsupported convolutions fall back to the cpu kernel with the same result', { skip: SKIP }, async () => {
  const rng = new Rng(5);
  const xv = randomArray(rng, 2 * 3 * 7 * 6),
    fv = randomArray(rng, 3 * 3 * 3 * 4);
  // NCHW input
  await compare('NCHW', () => tf.conv2d(tf.tensor4d(xv, [2, 3, 7, 6]), tf.tensor4d(fv, [3, 3, 3, 4]), 1, 'same', 'NCHW'), {
    tol: 1e-5,
    fallback: ['Conv2D'],
  });
  // a bias that is not per output channel (a full [N, OH, OW, OC] tensor)
  const bv = randomArray(rng, 2 * 7 * 6 * 4);
  await compare(
    'fused conv with a full-shape bias',
    () =>
      tf.fused.conv2d({
        x: tf.tensor4d(xv, [2, 7, 6, 3]),
        filter: tf.tensor4d(fv, [3, 3, 3, 4]),
        strides: 1,
        pad: 'same',
        bias: tf.tensor4d(bv, [2, 7, 6, 4]),
        activation: 'relu',
      }),
    { tol: 1e-5, fallback: ['FusedConv2D'] },
  );
  // numeric pad with a non-square filter: tf.js sizes the output width from the filter height
  await compare(
    'numeric pad, non-square filter',
    () =>
      tf.conv2d(tf.tensor4d(xv.subarray(0, 2 * 7 * 6 * 3), [2, 7, 6, 3]), tf.tensor4d(fv.subarray(0, 3 * 1 * 3 * 4), [3, 1, 3, 4]), 1, 1),
    { tol: 1e-5, fallback: ['Conv2D'] },
  );
});
