import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { cpu } from '../testing/fixtures.ts';
import {
  tinyCnnGraphArtifacts,
  tinyCnnGraphModelFiles,
  tinyCnnLayersModel,
  tinyCnnWeights,
  type TinyCnnGraphOptions,
  type TinyCnnSpec,
} from '../testing/graph-model.ts';
import { ConfigError, ModelFormatError, ShapeError } from '../errors.ts';
import { crossEntropy } from '../losses/losses.ts';
import { inputGradient } from '../attacks/gradient.ts';
import { runAttack } from '../attacks/run.ts';
import { threatModel } from '../threat/threat.ts';
import { classifierFromLayersModel } from './classifier.ts';
import { classifierFromGraphModel, type GraphModelLike } from './graph-model.ts';

await cpu();

const SPEC: TinyCnnSpec = { inputShape: [8, 8, 2], filters: 4, kernelSize: 3, numClasses: 5 };
const W = tinyCnnWeights(SPEC, 11);

const load = (opts: TinyCnnGraphOptions = {}, w = W): Promise<GraphModel> =>
  loadGraphModel(tf.io.fromMemory(tinyCnnGraphArtifacts(w, opts)));

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Labels the layers model gets right: its own predictions. */
function ownLabels(logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.cast(tf.argMax(logits, 1), 'int32') as tf.Tensor1D);
}

test('fixture: model.json + shard round-trip to the same artifacts; the graph loads with its shapes', async () => {
  const files = tinyCnnGraphModelFiles(W, { identityOutput: true });
  const json = JSON.parse(files.modelJson);
  assert.equal(json.format, 'graph-model');
  assert.deepEqual(json.weightsManifest[0].paths, [files.shardName]);
  const art = tinyCnnGraphArtifacts(W, { identityOutput: true });
  assert.deepEqual(new Uint8Array(art.weightData as ArrayBuffer), files.shard);
  const g = await loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      format: json.format,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: files.shard.buffer,
    }),
  );
  assert.deepEqual(g.inputs[0]!.shape, [-1, 8, 8, 2]);
  assert.equal(g.outputs[0]!.name, 'Identity');
  g.dispose();
});

for (const fused of [false, true]) {
  test(`GraphModel (${fused ? 'fused ops' : 'plain ops'}): logits and input gradients equal the LayersModel's within 1e-5`, async () => {
    const g = await load({ fused, identityOutput: true });
    const m = tinyCnnLayersModel(W);
    const cg = classifierFromGraphModel(g);
    const cl = classifierFromLayersModel(m);
    assert.equal(cg.name, 'graph-model');
    assert.deepEqual(cg.inputShape, [8, 8, 2]);
    assert.equal(cg.numClasses, 5, 'found by one forward pass (the output node has no static shape)');
    assert.deepEqual(cg.bounds, [0, 1]);
    assert.equal(cg.outputsProbabilities, false);
    const x = tf.randomUniform([6, 8, 8, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const zg = cg.logits(x);
    const zl = cl.logits(x);
    assert.deepEqual(zg.shape, [6, 5]);
    assert.ok(maxAbsDiff(zg, zl) < 1e-5, `logits differ by ${maxAbsDiff(zg, zl)}`);
    const gg = inputGradient(cg, crossEntropy, x, tf.tensor1d([1, 2, 3, 4, 0, 1], 'int32'));
    const gl = inputGradient(cl, crossEntropy, x, tf.tensor1d([1, 2, 3, 4, 0, 1], 'int32'));
    const scale = tf.max(tf.abs(gl)).dataSync()[0]!;
    assert.ok(scale > 1e-3, `the input gradient is not zero (max ${scale})`);
    assert.ok(maxAbsDiff(gg, gl) < 1e-5, `gradients differ by ${maxAbsDiff(gg, gl)}`);
    tf.dispose([x, zg, zl, gg, gl]);
    g.dispose();
    m.dispose();
  });
}

test('PGD through a GraphModel drops accuracy; the same attack on the LayersModel gives the same points; memory flat', async () => {
  const g = await load({ fused: true });
  const m = tinyCnnLayersModel(W);
  const cg = classifierFromGraphModel(g, { name: 'tiny-graph' });
  const cl = classifierFromLayersModel(m);
  const n = 40;
  const x = tf.randomUniform([n, 8, 8, 2], 0, 1, 'float32', 5) as tf.Tensor4D;
  const y = tf.tidy(() => ownLabels(cl.logits(x)));
  const th = threatModel('linf', 0.03);
  const rg = runAttack('pgd', cg, x, y, th, { config: { steps: 10 }, seed: 4 });
  const rl = runAttack('pgd', cl, x, y, th, { config: { steps: 10 }, seed: 4 });
  const robust = 1 - rg.success.reduce((a, b) => a + b, 0) / n;
  assert.ok(robust < 0.5, `PGD at ε=0.03 leaves ${robust} of the (100% clean) examples robust`);
  assert.deepEqual(Array.from(rg.success), Array.from(rl.success));
  assert.ok(maxAbsDiff(rg.xAdv, rl.xAdv) < 1e-4, `adversarial points differ by ${maxAbsDiff(rg.xAdv, rl.xAdv)}`);
  tf.dispose([rg.xAdv, rl.xAdv]);

  const once = () => {
    for (const name of ['fgsm', 'pgd', 'apgd-ce']) runAttack(name, cg, x, y, th, { config: { steps: 3 }, seed: 1 }).xAdv.dispose();
    tf.tidy(() => {
      cg.logits(x);
      inputGradient(cg, crossEntropy, x, y);
    });
  };
  once();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) once();
  assert.equal(tf.memory().numTensors, before);
  // Outside tidy, logits leaves exactly its result.
  const z = cg.logits(x);
  assert.equal(tf.memory().numTensors, before + 1);
  tf.dispose([z, x, y]);
  g.dispose();
  m.dispose();
});

test('softmax output: detected from the graph (through Identity), logits are log-probabilities; the option wins', async () => {
  const g = await load({ softmax: true, identityOutput: true });
  const m = tinyCnnLayersModel(W, { softmax: true });
  const cg = classifierFromGraphModel(g);
  const cl = classifierFromLayersModel(m);
  assert.equal(cg.outputsProbabilities, true);
  assert.equal(cl.outputsProbabilities, true);
  const x = tf.randomUniform([4, 8, 8, 2], 0, 1, 'float32', 8) as tf.Tensor4D;
  const zg = cg.logits(x);
  assert.ok(maxAbsDiff(zg, cl.logits(x)) < 1e-5);
  assert.ok(tf.max(zg).dataSync()[0]! <= 0, 'log-probabilities are ≤ 0');
  assert.equal(classifierFromGraphModel(g, { outputsProbabilities: false }).outputsProbabilities, false);
  // Without a reachable topology nothing is detected: default false.
  const opaque: GraphModelLike = { inputs: g.inputs, outputs: g.outputs, execute: (i, o) => g.execute(i, o) };
  assert.equal(classifierFromGraphModel(opaque).outputsProbabilities, false);
  const plain = await load({ identityOutput: true });
  assert.equal(classifierFromGraphModel(plain).outputsProbabilities, false);
  tf.dispose([x, zg]);
  [g, plain].forEach((v) => {
    v.dispose();
  });
  m.dispose();
});

test('bounds, mean and std apply to a GraphModel as to a LayersModel', async () => {
  const g = await load();
  const m = tinyCnnLayersModel(W);
  const opts = { bounds: [0, 255] as const, mean: [120, 130], std: 60 };
  const cg = classifierFromGraphModel(g, opts);
  const cl = classifierFromLayersModel(m, opts);
  assert.deepEqual(cg.bounds, [0, 255]);
  assert.deepEqual(cg.mean, [120, 130]);
  assert.deepEqual(cg.std, [60, 60]);
  const x = tf.randomUniform([3, 8, 8, 2], 0, 255, 'float32', 9) as tf.Tensor4D;
  const outside = tf.tidy(() => m.predict(tf.div(tf.sub(x, tf.tensor1d([120, 130])), 60)) as tf.Tensor);
  const zg = cg.logits(x);
  assert.ok(maxAbsDiff(zg, outside) < 1e-5);
  assert.ok(maxAbsDiff(zg, cl.logits(x)) < 1e-5);
  assert.throws(
    () => classifierFromGraphModel(g, { std: [1, 0] }),
    (e: unknown) => e instanceof ConfigError && e.option === 'std',
  );
  tf.dispose([x, outside, zg]);
  g.dispose();
  m.dispose();
});

test('unknown height/width: inputShape is required, must agree with the graph, and is then used', async () => {
  const g = await load({ unknownSpatial: true });
  assert.deepEqual(g.inputs[0]!.shape, [-1, -1, -1, 2]);
  assert.throws(
    () => classifierFromGraphModel(g, { name: 'any-size' }),
    (e: unknown) =>
      e instanceof ModelFormatError && /^any-size: /.test(e.message) && /inputShape/.test(e.message) && /\[-1, -1, -1, 2\]/.test(e.message),
  );
  assert.throws(
    () => classifierFromGraphModel(g, { inputShape: [8, 8, 3] }),
    (e: unknown) => e instanceof ConfigError && e.option === 'inputShape',
  );
  assert.throws(
    () => classifierFromGraphModel(g, { inputShape: [8, 0, 2] }),
    (e: unknown) => e instanceof ConfigError && e.option === 'inputShape',
  );
  const c = classifierFromGraphModel(g, { inputShape: [8, 8, 2] });
  assert.deepEqual(c.inputShape, [8, 8, 2]);
  assert.equal(c.numClasses, 5);
  const bad = tf.zeros([1, 9, 9, 2]) as tf.Tensor4D;
  assert.throws(
    () => c.logits(bad),
    (e: unknown) => e instanceof ShapeError && /expected input \[n, 8, 8, 2\]/.test(e.message),
  );
  // a wrong numClasses option is caught at the first call
  const wrongK = classifierFromGraphModel(g, { inputShape: [8, 8, 2], numClasses: 3 });
  assert.equal(wrongK.numClasses, 3);
  const x = tf.zeros([2, 8, 8, 2]) as tf.Tensor4D;
  assert.throws(
    () => wrongK.logits(x),
    (e: unknown) => e instanceof ShapeError && /expected output \[2, 3\], found \[2,5\]/.test(e.message),
  );
  assert.throws(
    () => classifierFromGraphModel(g, { inputShape: [8, 8, 2], numClasses: 1 }),
    (e: unknown) => e instanceof ConfigError && e.option === 'numClasses',
  );
  tf.dispose([bad, x]);
  g.dispose();
});

test('structural GraphModelLike: predict-only objects, several outputs, non-float inputs', () => {
  const Wt = tf.keep(tf.randomNormal([12, 3], 0, 1, 'float32', 1));
  const forward = (x: tf.Tensor) => tf.matMul(tf.reshape(x, [x.shape[0]!, -1]), Wt);
  const predictOnly: GraphModelLike = {
    inputs: [{ name: 'x', shape: [null, 2, 2, 3], dtype: 'float32' }],
    outputs: [{ name: 'y', shape: [null, 3] }],
    predict: (i) => forward(i as tf.Tensor),
  };
  const c = classifierFromGraphModel(predictOnly, { name: 'fake' });
  assert.equal(c.numClasses, 3, 'from the output shape');
  assert.deepEqual(c.inputShape, [2, 2, 3]);
  const x = tf.randomUniform([2, 2, 2, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const g = tf.grad((xx: tf.Tensor) => tf.sum(c.logits(xx as tf.Tensor4D)))(x);
  const expected = tf.tidy(() => tf.reshape(tf.tile(tf.reshape(tf.sum(Wt, 1), [1, 12]), [2, 1]), [2, 2, 2, 3]));
  assert.ok(maxAbsDiff(g, expected) < 1e-5);

  const two: GraphModelLike = {
    inputs: [{ name: 'x', shape: [-1, 2, 2, 3], dtype: 'float32' }],
    outputs: [{ name: 'logits' }, { name: 'probs' }],
    execute: (i, o) => {
      assert.equal(o, 'logits', 'the chosen output is asked for');
      return forward(i as tf.Tensor);
    },
  };
  assert.throws(
    () => classifierFromGraphModel(two),
    (e: unknown) => e instanceof ModelFormatError && /outputName/.test(e.message) && /logits, probs/.test(e.message),
  );
  const chosen = classifierFromGraphModel(two, { outputName: 'logits' });
  assert.equal(chosen.numClasses, 3);
  tf.dispose(chosen.logits(x));

  const ints: GraphModelLike = { ...predictOnly, inputs: [{ name: 'x', shape: [-1, 2, 2, 3], dtype: 'int32' }] };
  assert.throws(
    () => classifierFromGraphModel(ints),
    (e: unknown) => e instanceof ModelFormatError && /float32 input/.test(e.message) && /int32/.test(e.message),
  );
  const rank2: GraphModelLike = { ...predictOnly, inputs: [{ name: 'x', shape: [-1, 12], dtype: 'float32' }] };
  assert.throws(
    () => classifierFromGraphModel(rank2),
    (e: unknown) => e instanceof ModelFormatError && /rank 4/.test(e.message),
  );
  const k1: GraphModelLike = { ...predictOnly, outputs: [{ name: 'y', shape: [-1, 1] }] };
  assert.throws(
    () => classifierFromGraphModel(k1),
    (e: unknown) => e instanceof ModelFormatError && /K >= 2/.test(e.message),
  );
  tf.dispose([x, g, expected, Wt]);
});

test('a LayersModel passed as a GraphModel: a ModelFormatError pointing to classifierFromLayersModel', () => {
  const m = tinyCnnLayersModel(W);
  assert.throws(
    () => classifierFromGraphModel(m as unknown as GraphModelLike),
    (e: unknown) =>
      e instanceof ModelFormatError &&
      e.code === 'E_MODEL_FORMAT' &&
      /expected a GraphModel \(use classifierFromLayersModel for a tf\.LayersModel\), found a tf\.LayersModel/.test(e.message),
  );
  assert.throws(
    () => classifierFromGraphModel({} as GraphModelLike),
    (e: unknown) => e instanceof ModelFormatError && /found an object without layers or execute/.test(e.message),
  );
  m.dispose();
});
