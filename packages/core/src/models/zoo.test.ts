import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { AdvlabError, ConfigError } from '../errors.ts';
import { suggest, editDistance } from '../util/suggest.ts';
import { createModel, MODELS, MODEL_NAMES, type ModelName, type ModelOptions } from './zoo.ts';

await tf.setBackend('cpu');

const SHAPES: Record<ModelName, [number, number, number][]> = {
  mlp: [
    [28, 28, 1],
    [1, 1, 2],
  ],
  'wong-cnn': [
    [28, 28, 1],
    [32, 32, 3],
  ],
  cnn: [
    [28, 28, 1],
    [32, 32, 3],
  ],
  resnet: [
    [32, 32, 3],
    [28, 28, 1],
  ],
  linear: [
    [28, 28, 1],
    [1, 1, 2],
  ],
};

function weightsOf(m: tfl.LayersModel): Float32Array[] {
  return m.getWeights().map((w) => w.dataSync() as Float32Array);
}

function disposeModel(m: tfl.LayersModel): void {
  m.dispose();
}

test('MODELS lists every zoo model with a description', () => {
  assert.deepEqual([...MODEL_NAMES].sort(), ['cnn', 'linear', 'mlp', 'resnet', 'wong-cnn']);
  for (const m of MODELS) assert.ok(m.description.length > 10, m.name);
});

for (const name of MODEL_NAMES) {
  for (const shape of SHAPES[name]) {
    test(`${name} on ${shape.join('x')}: builds and outputs [n, K] logits`, () => {
      const K = shape[0] === 1 ? 3 : 10;
      const opts: ModelOptions = { inputShape: shape, numClasses: K, seed: 7, hidden: shape[0] === 1 ? 8 : undefined };
      const m = createModel(name, opts);
      assert.deepEqual(m.inputs[0]!.shape, [null, ...shape]);
      assert.deepEqual(m.outputs[0]!.shape, [null, K]);
      const x = tf.randomUniform([3, ...shape], 0, 1, 'float32', 1) as tf.Tensor4D;
      const y = m.predict(x) as tf.Tensor;
      assert.deepEqual(y.shape, [3, K]);
      const v = Array.from(y.dataSync());
      assert.ok(v.every(Number.isFinite));
      // logits, not probabilities: rows do not sum to 1 and values can be negative or > 1.
      const sum0 = v.slice(0, K).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum0 - 1) > 1e-3, `row sums to ${sum0}`);
      tf.dispose([x, y]);
      disposeModel(m);
    });
  }
}

test('mlp hidden option sets the width', () => {
  const m = createModel('mlp', { inputShape: [1, 1, 2], numClasses: 2, seed: 1, hidden: 8 });
  assert.deepEqual(m.getLayer('dense1').outputShape, [null, 8]);
  assert.deepEqual(m.getLayer('dense2').outputShape, [null, 8]);
  const d = createModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  assert.deepEqual(d.getLayer('dense1').outputShape, [null, 256]);
  disposeModel(m);
  disposeModel(d);
});

for (const name of MODEL_NAMES) {
  test(`${name}: same seed → identical weights, different seed → different kernels`, () => {
    const shape = SHAPES[name][0]!;
    const a = createModel(name, { inputShape: shape, numClasses: 10, seed: 42 });
    const b = createModel(name, { inputShape: shape, numClasses: 10, seed: 42 });
    const c = createModel(name, { inputShape: shape, numClasses: 10, seed: 43 });
    const wa = weightsOf(a);
    const wb = weightsOf(b);
    const wc = weightsOf(c);
    assert.equal(wa.length, wb.length);
    for (let i = 0; i < wa.length; i++) assert.deepEqual(wa[i], wb[i], `weight ${i}`);
    // every kernel (rank >= 2) differs between seeds
    const kernels = a
      .getWeights()
      .map((w, i) => (w.rank >= 2 ? i : -1))
      .filter((i) => i >= 0);
    assert.ok(kernels.length >= 1);
    for (const i of kernels) assert.notDeepEqual(wa[i], wc[i], `kernel ${i} equal across seeds`);
    // and layer kernels within one model do not repeat (per-layer seeds differ)
    const firstVals = kernels.map((i) => wa[i]![0]);
    assert.equal(new Set(firstVals).size, firstVals.length);
    [a, b, c].forEach(disposeModel);
  });
}

/** Naive PyTorch-style Conv2d(k=4, stride=2, padding=1) + ReLU for one output channel. */
function torchConvRelu(
  x: Float32Array,
  [h, w, cin]: [number, number, number],
  kernel: Float32Array, // [4, 4, cin, cout]
  bias: Float32Array,
  cout: number,
  oc: number,
): number[][] {
  const oh = Math.floor((h + 2 - 4) / 2) + 1;
  const ow = Math.floor((w + 2 - 4) / 2) + 1;
  const out: number[][] = [];
  for (let i = 0; i < oh; i++) {
    const row: number[] = [];
    for (let j = 0; j < ow; j++) {
      let s = bias[oc]!;
      for (let ki = 0; ki < 4; ki++) {
        for (let kj = 0; kj < 4; kj++) {
          const yi = i * 2 - 1 + ki;
          const xj = j * 2 - 1 + kj;
          if (yi < 0 || yi >= h || xj < 0 || xj >= w) continue;
          for (let c = 0; c < cin; c++) {
            s += x[(yi * w + xj) * cin + c]! * kernel[((ki * 4 + kj) * cin + c) * cout + oc]!;
          }
        }
      }
      row.push(Math.max(0, s));
    }
    out.push(row);
  }
  return out;
}

test('wong-cnn: intermediate shapes 14x14x16 and 7x7x32 on 28x28x1, padding matches PyTorch pad=1', () => {
  const m = createModel('wong-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 3 });
  assert.deepEqual(m.getLayer('conv1').outputShape, [null, 14, 14, 16]);
  assert.deepEqual(m.getLayer('conv2').outputShape, [null, 7, 7, 32]);
  assert.deepEqual(m.getLayer('dense1').outputShape, [null, 100]);
  // Also run it: the actual intermediate tensors have these shapes.
  const probe = tfl.model({ inputs: m.inputs, outputs: [m.getLayer('conv1').output, m.getLayer('conv2').output] as tfl.SymbolicTensor[] });
  const x = tf.randomUniform([1, 28, 28, 1], 0, 1, 'float32', 5);
  const [h1, h2] = probe.predict(x) as tf.Tensor[];
  assert.deepEqual(h1!.shape, [1, 14, 14, 16]);
  assert.deepEqual(h2!.shape, [1, 7, 7, 32]);
  // Compare conv1 with a naive PyTorch-semantics convolution (symmetric 1-pixel padding), incl. borders.
  const [kernel, bias] = m.getLayer('conv1').getWeights();
  const got = h1!.dataSync();
  for (const oc of [0, 5, 15]) {
    const want = torchConvRelu(
      x.dataSync() as Float32Array,
      [28, 28, 1],
      kernel!.dataSync() as Float32Array,
      bias!.dataSync() as Float32Array,
      16,
      oc,
    );
    for (let i = 0; i < 14; i++) {
      for (let j = 0; j < 14; j++) {
        const g = got[(i * 14 + j) * 16 + oc]!;
        assert.ok(Math.abs(g - want[i]![j]!) < 1e-5, `oc ${oc} (${i},${j}): ${g} vs ${want[i]![j]}`);
      }
    }
  }
  tf.dispose([x, h1!, h2!]);
  m.dispose();
  // Odd sizes: PyTorch gives (27 + 2 - 4) / 2 + 1 = 13 where TF 'same' would give 14.
  const odd = createModel('wong-cnn', { inputShape: [27, 27, 1], numClasses: 10, seed: 3 });
  assert.deepEqual(odd.getLayer('conv1').outputShape, [null, 13, 13, 16]);
  assert.deepEqual(odd.getLayer('conv2').outputShape, [null, 6, 6, 32]);
  odd.dispose();
});

test('linear: logits = flatten(x)·W + b exactly', () => {
  const m = createModel('linear', { inputShape: [1, 1, 2], numClasses: 3, seed: 0 });
  m.setWeights([
    tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]),
    tf.tensor1d([0.5, -1, 0]),
  ]);
  const y = m.predict(tf.tensor4d([0.5, 0.25], [1, 1, 1, 2])) as tf.Tensor;
  assert.deepEqual(Array.from(y.dataSync()), [0.5 + 1 + 0.5, 1 + 1.25 - 1, 1.5 + 1.5]);
  m.dispose();
});

test('unknown model names throw ConfigError with a suggestion when close', () => {
  const err = (n: string) => {
    try {
      createModel(n as ModelName, { inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
    } catch (e) {
      return e as ConfigError;
    }
    assert.fail(`no error for ${n}`);
  };
  const e1 = err('wong_cnn');
  assert.ok(e1 instanceof ConfigError);
  assert.ok(e1 instanceof AdvlabError);
  assert.equal(e1.code, 'E_CONFIG');
  assert.equal(e1.option, 'model');
  assert.equal(e1.expected, 'one of mlp, wong-cnn, cnn, resnet, linear');
  assert.equal(e1.found, 'wong_cnn');
  assert.match(e1.message, /^model: expected one of mlp, wong-cnn, cnn, resnet, linear, found wong_cnn \(did you mean wong-cnn\?\)$/);
  assert.match(err('resnett').message, /\(did you mean resnet\?\)/);
  assert.match(err('lnear').message, /\(did you mean linear\?\)/);
  assert.match(err('MLP').message, /\(did you mean mlp\?\)/);
  const far = err('transformer');
  assert.doesNotMatch(far.message, /did you mean/);
  assert.equal(far.found, 'transformer');
});

test('bad options throw ConfigError', () => {
  assert.throws(
    () => createModel('mlp', { inputShape: [28, 28] as unknown as [number, number, number], numClasses: 10, seed: 0 }),
    ConfigError,
  );
  assert.throws(() => createModel('mlp', { inputShape: [28, 28, 1], numClasses: 1, seed: 0 }), ConfigError);
  assert.throws(() => createModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 0.5 }), ConfigError);
  assert.throws(() => createModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 0, hidden: 0 }), ConfigError);
  assert.throws(() => createModel('wong-cnn', { inputShape: [2, 2, 1], numClasses: 10, seed: 0 }), ConfigError);
});

test('suggest / editDistance', () => {
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('wnog', 'wong'), 1); // transposition
  const known = ['mlp', 'wong-cnn', 'cnn', 'resnet', 'linear'];
  assert.equal(suggest('wong-cn', known), 'wong-cnn');
  assert.equal(suggest('wongcnn', known), 'wong-cnn');
  assert.equal(suggest('cnm', known), 'cnn');
  assert.equal(suggest('resent', known), 'resnet');
  assert.equal(suggest('vgg16', known), undefined);
  assert.equal(suggest('', known), undefined);
  assert.equal(suggest('x', known), undefined);
  assert.equal(suggest('pgd', ['pgd', 'fgsm'], 2), 'pgd');
  assert.equal(suggest('fgsn', ['pgd', 'fgsm'], 0), undefined);
});

test("init 'torch' draws every kernel and bias from U(±1/√fan_in), like PyTorch's default", async () => {
  const m = createModel('wong-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 3, init: 'torch' });
  const he = createModel('wong-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 3, init: 'he' });
  const again = createModel('wong-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 3, init: 'torch' });
  const weights = m.getWeights();
  for (const [i, w] of weights.entries()) {
    // a bias follows its kernel and takes the kernel's fan-in
    const kernel = w.shape.length < 2 ? weights[i - 1]! : w;
    const fanIn = kernel.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const v = w.dataSync();
    assert.deepEqual(Array.from(v), Array.from(again.getWeights()[i]!.dataSync()), 'same seed, same weights');
    const bound = 1 / Math.sqrt(fanIn);
    let max = 0;
    for (let j = 0; j < v.length; j++) max = Math.max(max, Math.abs(v[j]!));
    assert.ok(max <= bound + 1e-7 && max > 0.9 * bound, `layer ${i}: max |w| ${max} vs bound ${bound}`);
    assert.notDeepEqual(Array.from(v), Array.from(he.getWeights()[i]!.dataSync()));
  }
});
