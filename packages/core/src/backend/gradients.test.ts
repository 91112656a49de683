// Second-order gradients through ops whose gradient functions tf.js 4.22 lacks (gradients.ts), on cpu and wasm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng.ts';
import { type BackendName, useBackend } from './index.ts';
import { EXTRA_GRADIENTS, RECOMPUTE_GRADIENTS, registerExtraGradients } from './gradients.ts';
import { relErr } from '../testing/numeric.ts';

await useBackend('cpu');
const BACKENDS_UNDER_TEST: BackendName[] = ['cpu', 'wasm'];

function randomArray(rng: Rng, size: number, scale = 1): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = scale * rng.normal();
  return a;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

test('gradient fixes are registered once: output-saving gradients replaced, missing ones added', () => {
  for (const g of [...EXTRA_GRADIENTS, ...RECOMPUTE_GRADIENTS]) {
    assert.equal(tf.getGradient(g.kernelName)?.gradFunc, g.gradFunc, g.kernelName);
  }
  for (const k of ['Exp', 'Sigmoid', 'Tanh', 'Softmax', 'Elu']) {
    assert.ok(!(tf.getGradient(k)!.outputsToSave ?? []).some(Boolean), `${k} no longer saves its output`);
  }
  const names = registerExtraGradients();
  for (const k of [
    'Exp',
    'Sigmoid',
    'Greater',
    'LogicalAnd',
    'EluGrad',
    'AvgPoolGrad',
    'DepthwiseConv2dNativeBackpropInput',
    'Conv2DBackpropFilter',
  ]) {
    assert.ok(names.includes(k), k);
  }
  assert.equal(tf.getGradient('Greater')!.gradFunc, EXTRA_GRADIENTS.find((g) => g.kernelName === 'Greater')!.gradFunc);
  assert.deepEqual(registerExtraGradients(), names); // idempotent
});

for (const backend of BACKENDS_UNDER_TEST) {
  test(`${backend}: second order through elu, leakyRelu and clipByValue matches the analytic result`, async () => {
    await useBackend(backend);
    const rng = new Rng(1);
    const xv = Array.from(randomArray(rng, 40)).map((v) => (Math.abs(v) < 0.05 ? v + 0.2 : v));
    tf.tidy(() => {
      const x = tf.tensor1d(xv);
      // elu: inner gradient g = elu'(x) = x < 0 ? e^x : 1 ; d/dx Σ g² = x < 0 ? 2e^{2x} : 0
      const gElu = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(tf.grad((z: tf.Tensor) => tf.sum(tf.elu(z)))(xx))))(x);
      const wantElu = xv.map((v) => (v < 0 ? 2 * Math.exp(2 * v) : 0));
      assert.ok(relErr(gElu.dataSync(), wantElu) < 1e-5, 'elu');

      // leakyRelu through a weight w: Σ_i (∂/∂x_i Σ leakyRelu(w x))² = w² Σ s_i², s_i = w x_i > 0 ? 1 : α
      const w = tf.scalar(0.7);
      const alpha = 0.2;
      const inner = (ww: tf.Tensor) => tf.grad((xx: tf.Tensor) => tf.sum(tf.leakyRelu(tf.mul(ww, xx), alpha)))(x);
      const gLeaky = tf.grad((ww: tf.Tensor) => tf.sum(tf.square(inner(ww))))(w);
      const sumS2 = xv.reduce((a, v) => a + (0.7 * v > 0 ? 1 : alpha * alpha), 0);
      assert.ok(Math.abs(gLeaky.dataSync()[0]! - 2 * 0.7 * sumS2) < 1e-4 * sumS2, 'leakyRelu');

      // clipByValue (LogicalAnd / LessEqual in its gradient): d/dw Σ (w·1[|w x| < 0.5])² = 2 w · count
      const innerClip = (ww: tf.Tensor) => tf.grad((xx: tf.Tensor) => tf.sum(tf.clipByValue(tf.mul(ww, xx), -0.5, 0.5)))(x);
      const gClip = tf.grad((ww: tf.Tensor) => tf.sum(tf.square(innerClip(ww))))(w);
      const count = xv.filter((v) => Math.abs(0.7 * v) < 0.5).length;
      assert.ok(Math.abs(gClip.dataSync()[0]! - 2 * 0.7 * count) < 1e-4 * count, 'clipByValue');
    });
  });

  test(`${backend}: second order through exp, sigmoid, tanh, softmax, elu and logSumExp matches finite differences`, async () => {
    await useBackend(backend);
    const xv = [-1.1, 0.5, -0.3, 1.7, 0.2, -0.6];
    const weights = tf.tensor2d([
      [1, 2, 3],
      [0.5, -1, 2],
    ]);
    const labels = tf.tensor2d([
      [0, 1, 0],
      [1, 0, 0],
    ]);
    const inner: Record<string, (z: tf.Tensor) => tf.Tensor> = {
      exp: (z) => tf.sum(tf.mul(tf.exp(z), weights)),
      sigmoid: (z) => tf.sum(tf.square(tf.sigmoid(z))),
      tanh: (z) => tf.sum(tf.mul(tf.tanh(z), weights)),
      softmax: (z) => tf.sum(tf.mul(tf.softmax(z), weights)),
      elu: (z) => tf.sum(tf.mul(tf.elu(z), weights)),
      // cross-entropy written with logSumExp (tf.logSoftmax / tf.losses.softmaxCrossEntropy are customGrads
      // whose second order tf.js cannot compute)
      crossEntropy: (z) => tf.neg(tf.sum(tf.mul(labels, tf.sub(z, tf.logSumExp(z, -1, true))))),
    };
    for (const [name, f] of Object.entries(inner)) {
      // G(x) = Σ (∂/∂z f(z) at z = x ⊙ weights)², differentiated w.r.t. x
      const G = (x: tf.Tensor) => tf.sum(tf.square(tf.grad((z: tf.Tensor) => f(tf.mul(z, weights)))(x)));
      const got = tf.tidy(() =>
        tf
          .grad(G)(tf.tensor2d(xv, [2, 3]))
          .dataSync(),
      );
      const h = 1e-2;
      const fd = xv.map((_, i) =>
        tf.tidy(() => {
          const p = xv.slice(),
            m = xv.slice();
          p[i]! += h;
          m[i]! -= h;
          return (G(tf.tensor2d(p, [2, 3])).dataSync()[0]! - G(tf.tensor2d(m, [2, 3])).dataSync()[0]!) / (2 * h);
        }),
      );
      const e = relErr(got, fd);
      assert.ok(e < 2e-3, `${name}: ${Array.from(got)} vs finite differences ${fd} (rel ${e})`);
    }
    tf.dispose([weights, labels]);
  });

  test(`${backend}: gradients of AvgPoolGrad, DepthwiseConv2dNativeBackpropInput and Conv2DBackpropFilter are exact adjoints`, async () => {
    await useBackend(backend);
    const rng = new Rng(2);
    /** For L linear in `arg`: <L(arg), ddx> must equal <arg, ∂/∂arg Σ L(arg)·ddx>. */
    const checkAdjoint = (label: string, arg: tf.Tensor, L: (a: tf.Tensor) => tf.Tensor) =>
      tf.tidy(() => {
        const out = L(arg);
        const ddx = tf.tensor(randomArray(rng, out.size), out.shape);
        const adj = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(L(a), ddx)))(arg);
        const lhs = dot(out.dataSync(), ddx.dataSync());
        const rhs = dot(arg.dataSync(), adj.dataSync());
        assert.ok(Math.abs(lhs - rhs) <= 1e-4 * Math.max(1, Math.abs(lhs)), `${label}: ${lhs} vs ${rhs}`);
        assert.ok(tf.max(tf.abs(adj)).dataSync()[0]! > 0, `${label}: non-zero adjoint`);
      });
    const run = (kernel: string, inputs: Record<string, tf.Tensor>, attrs: object) =>
      tf.engine().runKernel(kernel, inputs, attrs as never) as tf.Tensor;

    for (const [pad, size, stride] of [
      ['valid', 2, 2],
      ['same', 3, 2],
      ['same', 3, 1],
      ['valid', [2, 3], [1, 2]],
    ] as const) {
      const input = tf.zeros([2, 7, 8, 3]);
      const pooledShape = tf.avgPool(input as tf.Tensor4D, size as [number, number], stride as [number, number], pad).shape;
      const dy = tf.tensor(
        randomArray(
          rng,
          pooledShape.reduce((a, b) => a * b),
        ),
        pooledShape,
      );
      checkAdjoint(`AvgPoolGrad ${pad} ${size} ${stride}`, dy, (d) =>
        run('AvgPoolGrad', { dy: d, input }, { filterSize: size, strides: stride, pad }),
      );
      tf.dispose([input, dy]);
    }
    type Shape4 = [number, number, number, number];
    const depthwiseCases: { x: Shape4; f: Shape4; strides: number; pad: 'same' | 'valid' }[] = [
      { x: [2, 7, 6, 3], f: [3, 3, 3, 2], strides: 1, pad: 'same' },
      { x: [1, 9, 8, 2], f: [2, 3, 2, 1], strides: 2, pad: 'valid' },
    ];
    for (const c of depthwiseCases) {
      const filter = tf.tensor(
        randomArray(
          rng,
          c.f.reduce((a, b) => a * b),
        ),
        c.f,
      );
      const yShape = tf.depthwiseConv2d(tf.zeros(c.x) as tf.Tensor4D, filter as tf.Tensor4D, c.strides, c.pad).shape;
      const dy = tf.tensor(
        randomArray(
          rng,
          yShape.reduce((a, b) => a * b),
        ),
        yShape,
      );
      const attrs = { strides: c.strides, dilations: 1, pad: c.pad, inputShape: c.x };
      checkAdjoint('DepthwiseBackpropInput wrt dy', dy, (d) => run('DepthwiseConv2dNativeBackpropInput', { dy: d, filter }, attrs));
      checkAdjoint('DepthwiseBackpropInput wrt filter', filter, (f) => run('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, attrs));
      tf.dispose([filter, dy]);
    }
    const filterCases: { x: Shape4; f: Shape4; strides: number | [number, number]; pad: 'same' | 'valid' }[] = [
      { x: [2, 7, 6, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
      { x: [3, 10, 10, 2], f: [4, 4, 2, 5], strides: 2, pad: 'valid' }, // wong-cnn's shape of conv
      { x: [1, 9, 8, 2], f: [2, 3, 2, 3], strides: [2, 1], pad: 'same' },
    ];
    for (const c of filterCases) {
      const x = tf.tensor(
        randomArray(
          rng,
          c.x.reduce((a, b) => a * b),
        ),
        c.x,
      );
      const yShape = tf.conv2d(x as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.strides, c.pad).shape;
      const dy = tf.tensor(
        randomArray(
          rng,
          yShape.reduce((a, b) => a * b),
        ),
        yShape,
      );
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f };
      checkAdjoint(`Conv2DBackpropFilter wrt x ${c.pad} ${c.strides}`, x, (a) => run('Conv2DBackpropFilter', { x: a, dy }, attrs));
      checkAdjoint(`Conv2DBackpropFilter wrt dy ${c.pad} ${c.strides}`, dy, (d) => run('Conv2DBackpropFilter', { x, dy: d }, attrs));
      tf.dispose([x, dy]);
    }
  });
}

test('GradAlign-style second order (d/dθ ‖∇ₓL‖²) of a conv net: wasm equals cpu', async () => {
  const rng = new Rng(9);
  const xv = randomArray(rng, 2 * 10 * 10 * 2);
  const p = {
    c1: randomArray(rng, 3 * 3 * 2 * 4, 0.5),
    dw: randomArray(rng, 3 * 3 * 4 * 1, 0.5),
    c2: randomArray(rng, 2 * 2 * 4 * 6, 0.5),
    w: randomArray(rng, 6 * 4 * 4 * 3, 0.3),
  };
  const compute = async (backend: BackendName) => {
    await useBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor4d(xv, [2, 10, 10, 2]);
      const y = tf.oneHot(tf.tensor1d([1, 2], 'int32'), 3);
      const net = (xx: tf.Tensor, c1: tf.Tensor, dw: tf.Tensor, c2: tf.Tensor, w: tf.Tensor) => {
        let h: tf.Tensor4D = tf.leakyRelu(tf.conv2d(xx as tf.Tensor4D, c1 as tf.Tensor4D, 1, 'same'), 0.1);
        h = tf.elu(tf.depthwiseConv2d(h, dw as tf.Tensor4D, 1, 'same'));
        h = tf.mul(h, tf.sigmoid(h)); // swish
        h = tf.avgPool(h, 2, 2, 'valid'); // [2,5,5,4]
        h = tf.relu(tf.conv2d(h, c2 as tf.Tensor4D, 1, 'valid')); // [2,4,4,6]
        const z = tf.matMul(tf.reshape(h, [2, 96]), w as tf.Tensor2D);
        return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.sub(z, tf.logSumExp(z, -1, true))), -1)));
      };
      const params = [
        tf.tensor4d(p.c1, [3, 3, 2, 4]),
        tf.tensor4d(p.dw, [3, 3, 4, 1]),
        tf.tensor4d(p.c2, [2, 2, 4, 6]),
        tf.tensor2d(p.w, [96, 3]),
      ];
      const gradNorm = (c1: tf.Tensor, dw: tf.Tensor, c2: tf.Tensor, w: tf.Tensor) =>
        tf.sum(tf.square(tf.grad((xx: tf.Tensor) => net(xx, c1, dw, c2, w))(x)));
      const grads = tf
        .grads(gradNorm)(params)
        .map((g) => g.dataSync() as Float32Array);
      // central finite differences of ‖∇ₓL‖² in the dense weights (smooth in w: no ReLU kink moves)
      const gw = grads[3]!;
      const coords = Array.from(gw.keys())
        .sort((a, b) => Math.abs(gw[b]!) - Math.abs(gw[a]!))
        .slice(0, 4);
      const h = 1e-2;
      const fd = coords.map((k) => {
        const at = (delta: number) => {
          const wv = p.w.slice();
          wv[k]! += delta;
          return gradNorm(params[0]!, params[1]!, params[2]!, tf.tensor2d(wv, [96, 3])).dataSync()[0]!;
        };
        return (at(h) - at(-h)) / (2 * h);
      });
      return {
        grads,
        fdErr: relErr(
          coords.map((k) => gw[k]!),
          fd,
        ),
      };
    });
  };
  const ref = await compute('cpu');
  const got = await compute('wasm');
  assert.ok(ref.fdErr < 1e-2 && got.fdErr < 1e-2, `vs finite differences: cpu ${ref.fdErr}, wasm ${got.fdErr}`);
  for (let i = 0; i < ref.grads.length; i++) {
    assert.ok(
      ref.grads[i]!.some((v) => Math.abs(v) > 1e-7),
      `param ${i}: non-trivial`,
    );
    const e = relErr(got.grads[i]!, ref.grads[i]!);
    assert.ok(e <= 1e-4, `param ${i}: rel err ${e}`);
  }
});
