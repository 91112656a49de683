// Training on the 'wasm' backend with advlab's JS kernels. References come from tf.js's own 'cpu' backend,
// selected with plain tf.setBackend('cpu'): this file never calls useBackend('cpu'), so the cpu kernels
// are tf.js's originals (node --test runs each test file in its own process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../util/rng.ts';
import { AdvlabError } from '../errors.ts';
import { useBackend } from './index.ts';
import { isJsKernelRegistered } from './kernel-io.ts';
import { relErr } from '../testing/numeric.ts';

await useBackend('wasm');

function randomArray(rng: Rng, size: number): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.normal();
  return a;
}

/** Run `f` on a backend ('cpu' = tf.js's pure reference) and return its outputs as arrays. */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Float32Array[]> {
  if (backend === 'cpu') assert.ok(await tf.setBackend('cpu'));
  else await useBackend('wasm');
  assert.equal(tf.getBackend(), backend);
  const outs = tf.tidy(f);
  const arrays = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  await useBackend('wasm');
  return arrays;
}

test('wasm has the gradient kernels tf.js 4.22 lacks', () => {
  for (const k of [
    'Conv2DBackpropFilter',
    'DepthwiseConv2dNativeBackpropFilter',
    'DepthwiseConv2dNativeBackpropInput',
    'UnsortedSegmentSum',
  ]) {
    assert.ok(tf.getKernel(k, 'wasm'), k);
    assert.ok(isJsKernelRegistered(k, 'wasm'), k);
  }
});

test('tf.grads of a small conv net loss w.r.t. its filters: wasm equals tf.js cpu (rel ≤ 1e-4)', async () => {
  const rng = new Rng(11);
  const xv = randomArray(rng, 3 * 10 * 10 * 2);
  const f1v = randomArray(rng, 3 * 3 * 2 * 4);
  const f2v = randomArray(rng, 2 * 2 * 4 * 5);
  const wv = randomArray(rng, 5 * 4 * 4 * 3);
  const labels = [0, 2, 1];
  const grads = () => {
    const x = tf.tensor4d(xv, [3, 10, 10, 2]);
    const w = tf.tensor2d(wv, [80, 3]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
    const loss = (f1: tf.Tensor, f2: tf.Tensor) => {
      const h1 = tf.relu(tf.conv2d(x, f1 as tf.Tensor4D, 2, 'same')); // [3,5,5,4]
      const h2 = tf.relu(
        tf.conv2d(
          h1,
          f2 as tf.Tensor4D,
          [1, 1],
          [
            [0, 0],
            [1, 0],
            [0, 1],
            [0, 0],
          ],
        ),
      ); // [3,5,5,5]
      const pooled = tf.reshape(tf.avgPool(h2, 2, 1, 'valid'), [3, 80]); // [3,4,4,5]
      return tf.losses.softmaxCrossEntropy(y, tf.matMul(pooled, w));
    };
    return tf.grads(loss)([tf.tensor4d(f1v, [3, 3, 2, 4]), tf.tensor4d(f2v, [2, 2, 4, 5])]);
  };
  const ref = await on('cpu', grads);
  const got = await on('wasm', grads);
  for (let i = 0; i < ref.length; i++) {
    const e = relErr(got[i]!, ref[i]!);
    assert.ok(e <= 1e-4, `filter ${i + 1}: rel err ${e}`);
    assert.ok(
      ref[i]!.some((v) => Math.abs(v) > 1e-6),
      'non-trivial gradient',
    );
  }
});

function seededNet(seed: number): tfl.Sequential {
  const init = (s: number) => tfl.initializers.glorotUniform({ seed: seed + s });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [12, 12, 1], filters: 6, kernelSize: 4, strides: 2, activation: 'relu', kernelInitializer: init(1) }),
      tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu', kernelInitializer: init(2) }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(3) }),
      tfl.layers.dense({ units: 4, kernelInitializer: init(4) }),
    ],
  });
}

test('a layers conv model trains on wasm: optimizer.minimize lowers the loss on a fixed batch', () => {
  assert.equal(tf.getBackend(), 'wasm');
  const rng = new Rng(21);
  const model = seededNet(100);
  const x = tf.tensor4d(
    Float32Array.from({ length: 16 * 144 }, () => rng.next()),
    [16, 12, 12, 1],
  );
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 16 }, () => rng.int(4)),
      'int32',
    ),
    4,
  );
  const opt = tf.train.adam(0.01);
  const losses: number[] = [];
  for (let step = 0; step < 12; step++) {
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
  }
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  assert.ok(losses.at(-1)! < 0.7 * losses[0]!, `loss did not fall: ${losses.map((l) => l.toFixed(3))}`);
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
});

test('no tensor leak: 20 gradient calls inside tf.tidy on wasm', () => {
  const rng = new Rng(5);
  const model = seededNet(7);
  const x = tf.tensor4d(
    Float32Array.from({ length: 8 * 144 }, () => rng.next()),
    [8, 12, 12, 1],
  );
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const lossFn = () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar;
  tf.tidy(() => tf.variableGrads(lossFn, vars)); // warm-up (lazy allocations)
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(lossFn, vars);
      const inputGrad = tf.grad((xx: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, model.apply(xx) as tf.Tensor))(x);
      assert.ok(Object.keys(grads).length === vars.length && inputGrad.shape.length === 4);
    });
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y]);
  model.dispose();
});

test('Conv2DBackpropFilter with NCHW on wasm fails with E_BACKEND naming the data format', () => {
  const x = tf.zeros([1, 2, 5, 5]);
  const dy = tf.zeros([1, 3, 5, 5]);
  assert.throws(
    () =>
      tf
        .engine()
        .runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3] } as never),
    (e: unknown) => e instanceof AdvlabError && e.code === 'E_BACKEND' && /NCHW/.test(e.message),
  );
  tf.dispose([x, dy]);
});

/** Σ a·b in float64 */
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

test('depthwise backprop kernels on wasm are the adjoints of depthwiseConv2d (any stride, pad, dilation)', () => {
  const rng = new Rng(31);
  const configs: {
    x: [number, number, number, number];
    f: [number, number, number, number];
    s: number | [number, number];
    pad: 'same' | 'valid';
    d: number;
  }[] = [
    { x: [2, 7, 6, 3], f: [3, 3, 3, 1], s: 1, pad: 'same', d: 1 },
    { x: [2, 9, 8, 2], f: [3, 2, 2, 2], s: [2, 1], pad: 'valid', d: 1 },
    { x: [1, 10, 10, 3], f: [3, 3, 3, 2], s: 2, pad: 'same', d: 1 },
    { x: [2, 9, 9, 2], f: [3, 3, 2, 1], s: 1, pad: 'same', d: 2 },
    { x: [1, 11, 10, 2], f: [2, 3, 2, 3], s: 1, pad: 'valid', d: 2 },
  ];
  for (const c of configs) {
    tf.tidy(() => {
      const x = tf.tensor4d(
        randomArray(
          rng,
          c.x.reduce((a, b) => a * b),
        ),
        c.x,
      );
      const f = tf.tensor4d(
        randomArray(
          rng,
          c.f.reduce((a, b) => a * b),
        ),
        c.f,
      );
      const y = tf.depthwiseConv2d(x, f, c.s, c.pad, 'NHWC', c.d);
      const dy = tf.tensor4d(randomArray(rng, y.size), y.shape);
      const attrs = { strides: c.s, dilations: c.d, pad: c.pad };
      const dx = tf
        .engine()
        .runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { ...attrs, inputShape: c.x } as never) as tf.Tensor;
      const df = tf
        .engine()
        .runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: c.f } as never) as tf.Tensor;
      const lhs = dot(y.dataSync(), dy.dataSync()); // <conv(x, f), dy>
      const scale = Math.max(1, Math.abs(lhs));
      assert.ok(Math.abs(dot(x.dataSync(), dx.dataSync()) - lhs) / scale < 1e-4, `input adjoint ${JSON.stringify(c)}`);
      assert.ok(Math.abs(dot(f.dataSync(), df.dataSync()) - lhs) / scale < 1e-4, `filter adjoint ${JSON.stringify(c)}`);
    });
  }
});

test('depthwise conv gradients and gather gradients (UnsortedSegmentSum) on wasm equal tf.js cpu', async () => {
  const rng = new Rng(41);
  const xv = randomArray(rng, 2 * 8 * 7 * 3);
  const fv = randomArray(rng, 3 * 3 * 3 * 2);
  const pv = randomArray(rng, 6 * 4);
  const ids = [0, 5, 2, 2, 5, 5, 1];
  const compute = () => {
    const [gx, gf] = tf.grads((x: tf.Tensor, f: tf.Tensor) =>
      tf.sum(tf.square(tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, [2, 1], 'same'))),
    )([tf.tensor4d(xv, [2, 8, 7, 3]), tf.tensor4d(fv, [3, 3, 3, 2])]);
    const gp = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, tf.tensor1d(ids, 'int32')), tf.range(1, 5))))(tf.tensor2d(pv, [6, 4]));
    const seg = tf.unsortedSegmentSum(tf.tensor2d(pv, [6, 4]), tf.tensor1d([3, 0, 3, 9, -1, 1], 'int32'), 4);
    return [gx!, gf!, gp, seg];
  };
  const ref = await on('cpu', compute);
  const got = await on('wasm', compute);
  const names = ['depthwise dx', 'depthwise dfilter', 'gather grad', 'unsortedSegmentSum'];
  for (let i = 0; i < ref.length; i++) assert.ok(relErr(got[i]!, ref[i]!) <= 1e-5, names[i]);
  // out-of-range segment ids (9, -1) are dropped: segment 2 gets nothing
  assert.deepEqual(Array.from(got[3]!.slice(8, 12)), [0, 0, 0, 0]);
});
