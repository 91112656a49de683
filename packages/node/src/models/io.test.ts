import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
  copyFileSync,
  rmSync,
  readdirSync,
  unlinkSync,
  symlinkSync,
  renameSync,
  realpathSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { AdvlabError, ModelFormatError, createModel, isProbabilityModel, MODEL_NAMES, type ModelMeta, type ModelName } from '@advlab/core';
import { relErr, tinyCnnGraphModelFiles, tinyCnnLayersModel, tinyCnnWeights } from '@advlab/core/testing';
import { loadClassifier, loadGraphModel, loadModel, saveModel } from './io.ts';

await tf.setBackend('cpu');

const tmp = mkdtempSync(join(tmpdir(), 'advlab-io-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const freshDir = (label: string) => join(tmp, `${label}-${counter++}`);

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.equal(x.length, y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

const shapeFor = (name: ModelName): [number, number, number] => (name === 'resnet' ? [32, 32, 3] : [28, 28, 1]);

for (const name of MODEL_NAMES) {
  test(`${name}: save → load round trip gives identical predictions`, async () => {
    const shape = shapeFor(name);
    const m = createModel(name, { inputShape: shape, numClasses: 10, seed: 11 });
    if (name === 'resnet') {
      // Non-trivial batch-norm moving statistics, so they must round-trip too.
      const bn = m.getLayer('stage2_bn1');
      const [g, b, mean, v] = bn.getWeights();
      bn.setWeights([
        tf.randomUniform(g!.shape, 0.5, 1.5, 'float32', 1),
        tf.randomUniform(b!.shape, -0.5, 0.5, 'float32', 2),
        tf.randomUniform(mean!.shape, -0.5, 0.5, 'float32', 3),
        tf.randomUniform(v!.shape, 0.5, 2, 'float32', 4),
      ]);
    }
    const dir = freshDir(name);
    const res = await saveModel(m, dir);
    assert.deepEqual(readdirSync(dir).sort(), ['model.json', 'weights.bin']); // no temp files left behind
    assert.equal(readFileSync(res.weightsBin).length, res.weightBytes);
    assert.equal(res.weightBytes, m.countParams() * 4);
    const { model, meta } = await loadModel(dir);
    assert.equal(meta, undefined);
    const x = tf.randomUniform([4, ...shape], 0, 1, 'float32', 99);
    const y0 = m.predict(x) as tf.Tensor;
    const y1 = model.predict(x) as tf.Tensor;
    assert.equal(maxAbsDiff(y0, y1), 0);
    tf.dispose([x, y0, y1]);
    m.dispose();
    model.dispose();
  });
}

test('model.json is valid JSON in the tf.js layers-model format; metadata round-trips', async () => {
  const m = createModel('wong-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const dir = freshDir('meta');
  const meta: ModelMeta = {
    dataset: 'mnist',
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    inputShape: [28, 28, 1],
    numClasses: 10,
    trainedWith: { attack: 'fgsm-rs', eps: 0.3, epochs: 10, seed: 1 },
    note: 'extra keys survive',
  };
  await saveModel(m, dir, meta);
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  for (const k of ['modelTopology', 'format', 'generatedBy', 'convertedBy', 'weightsManifest', 'advlab']) {
    assert.ok(k in json, `missing key ${k}`);
  }
  assert.equal(json.format, 'layers-model');
  assert.equal(json.convertedBy, null);
  assert.match(json.generatedBy, /TensorFlow\.js tfjs-layers/);
  assert.equal(typeof json.modelTopology, 'object');
  assert.equal(json.modelTopology.class_name, 'Sequential');
  assert.equal(json.weightsManifest.length, 1);
  assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
  const ws = json.weightsManifest[0].weights as { name: string; shape: number[]; dtype: string }[];
  assert.equal(ws.length, m.getWeights().length);
  assert.deepEqual(ws[0], { name: 'conv1/kernel', shape: [4, 4, 1, 16], dtype: 'float32' });
  const bytes = ws.reduce((a, w) => a + w.shape.reduce((p, d) => p * d, 1) * 4, 0);
  assert.equal(readFileSync(join(dir, 'weights.bin')).length, bytes);
  assert.deepEqual(json.advlab, meta);
  const loaded = await loadModel(dir);
  assert.deepEqual(loaded.meta, meta);
  // A path to model.json itself also works.
  const again = await loadModel(join(dir, 'model.json'));
  assert.deepEqual(again.meta, meta);
  m.dispose();
  loaded.model.dispose();
  again.model.dispose();
});

test('saving over an existing model replaces it', async () => {
  const dir = freshDir('overwrite');
  const a = createModel('linear', { inputShape: [4, 4, 1], numClasses: 3, seed: 1 });
  const b = createModel('linear', { inputShape: [4, 4, 1], numClasses: 3, seed: 2 });
  await saveModel(a, dir, { dataset: 'a' });
  await saveModel(b, dir, { dataset: 'b' });
  const { model, meta } = await loadModel(dir);
  assert.equal(meta?.dataset, 'b');
  const x = tf.ones([1, 4, 4, 1]);
  assert.equal(maxAbsDiff(b.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor), 0);
  [a, b, model].forEach((m) => {
    m.dispose();
  });
});

test('weights changed after saving are refused by the sha256 model.json records; a model without the record still loads', async () => {
  const dir = freshDir('sha');
  const m = createModel('linear', { inputShape: [4, 4, 1], numClasses: 3, seed: 1 });
  await saveModel(m, dir, { dataset: 'a' });
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  assert.match(json.advlabWeightsSha256, /^[0-9a-f]{64}$/);
  const bytes = readFileSync(join(dir, 'weights.bin'));
  bytes[7] = bytes[7]! ^ 0x10;
  writeFileSync(join(dir, 'weights.bin'), bytes);
  await assert.rejects(
    loadModel(dir),
    (e: any) =>
      e.code === 'E_MODEL_FORMAT' &&
      /weights\.bin: expected the weights model\.json records .*changed after the model was saved/.test(e.message),
  );
  delete json.advlabWeightsSha256; // as a model saved by other tools
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  (await loadModel(dir)).model.dispose();
  m.dispose();
});

// ---------------------------------------------------------------------------------------------
// Hostile / broken folders. Each case starts from a valid saved linear model and breaks one thing.

/** A valid model at <root>/model, with a valid copy of weights.bin at <root>/weights.bin and <root>/x. */
async function fixture(): Promise<{ root: string; dir: string; json: Record<string, any>; nWeights: number; bytes: number }> {
  const root = freshDir('bad');
  const dir = join(root, 'model');
  const m = createModel('linear', { inputShape: [4, 4, 1], numClasses: 3, seed: 5 });
  await saveModel(m, dir, { dataset: 'x' });
  m.dispose();
  copyFileSync(join(dir, 'weights.bin'), join(root, 'weights.bin'));
  copyFileSync(join(dir, 'weights.bin'), join(root, 'x'));
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  return { root, dir, json, nWeights: 2, bytes: (16 * 3 + 3) * 4 };
}

const writeJson = (dir: string, json: unknown) => writeFileSync(join(dir, 'model.json'), JSON.stringify(json));

async function rejects(dir: string, code: string, pattern: RegExp): Promise<AdvlabError> {
  try {
    const { model } = await loadModel(dir);
    model.dispose();
  } catch (e) {
    assert.ok(e instanceof AdvlabError, `not an AdvlabError: ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return e;
  }
  assert.fail(`loadModel(${dir}) did not throw`);
}

test('the fixture itself loads (so each rejection below is caused by the one change)', async () => {
  const { dir, root, json } = await fixture();
  const { model } = await loadModel(dir);
  model.dispose();
  // and a weights file in a subfolder is fine
  mkdirSync(join(dir, 'sub'));
  copyFileSync(join(root, 'weights.bin'), join(dir, 'sub', 'w.bin'));
  json.weightsManifest[0].paths = ['sub/w.bin'];
  writeJson(dir, json);
  (await loadModel(dir)).model.dispose();
});

test('rejects weights paths outside the model folder', async () => {
  const { dir, root, json } = await fixture();
  const cases: [string, RegExp][] = [
    ['../weights.bin', /"\.\." segment/],
    ['/etc/passwd', /absolute path/],
    [join(root, 'weights.bin'), /absolute path/], // a valid weights file, but absolute
    ['a/../../x', /"\.\." segment/],
    ['a/../../model/weights.bin', /"\.\." segment/],
    ['..\\weights.bin', /backslash/],
    ['https://example.com/weights.bin', /URL scheme/],
    ['file:///etc/passwd', /URL scheme/],
    ['C:weights.bin', /URL scheme or drive letter/],
    ['', /non-empty string/],
  ];
  mkdirSync(join(dir, 'a'));
  for (const [p, why] of cases) {
    json.weightsManifest[0].paths = [p];
    writeJson(dir, json);
    const e = await rejects(dir, 'E_MODEL_FORMAT', why);
    assert.ok(e instanceof ModelFormatError);
    assert.match(e.message, /weightsManifest\[0\]\.paths\[0\] to be a relative path inside the model folder/);
    assert.ok(e.message.startsWith(join(dir, 'model.json')), e.message);
  }
  json.weightsManifest[0].paths = [42];
  writeJson(dir, json);
  await rejects(dir, 'E_MODEL_FORMAT', /non-empty string/);
});

test('a weights shard or model.json that is a symbolic link out of the model folder is refused; links inside it load', async () => {
  const { dir, json } = await fixture();
  const outside = mkdtempSync(join(tmpdir(), 'advlab-io-outside-'));
  after(() => rmSync(outside, { recursive: true, force: true }));
  copyFileSync(join(dir, 'weights.bin'), join(outside, 'weights.bin'));
  // A link to a valid weights file outside: its manifest path passes the textual checks.
  symlinkSync(join(outside, 'weights.bin'), join(dir, 'linked.bin'));
  json.weightsManifest[0].paths = ['linked.bin'];
  writeJson(dir, json);
  const e = await rejects(dir, 'E_MODEL_FORMAT', /inside the model folder .* once symbolic links are resolved/);
  assert.ok(e instanceof ModelFormatError);
  assert.equal(e.file, join(dir, 'linked.bin'));
  assert.match(e.expected, /^weightsManifest\[0\]\.paths\[0\] inside the model folder/);
  assert.equal(e.found, `a link to ${join(realpathSync(outside), 'weights.bin')}`);
  // A linked folder on the way out is caught the same way.
  symlinkSync(outside, join(dir, 'elsewhere'));
  json.weightsManifest[0].paths = ['elsewhere/weights.bin'];
  writeJson(dir, json);
  await rejects(dir, 'E_MODEL_FORMAT', /elsewhere\/weights\.bin: expected weightsManifest\[0\]\.paths\[0\] inside the model folder/);
  // A link inside the folder to a file inside it is fine.
  symlinkSync('weights.bin', join(dir, 'alias.bin'));
  json.weightsManifest[0].paths = ['alias.bin'];
  writeJson(dir, json);
  (await loadModel(dir)).model.dispose();
  // model.json itself: a link out of the folder is refused, before it is parsed.
  renameSync(join(dir, 'model.json'), join(outside, 'model.json'));
  symlinkSync(join(outside, 'model.json'), join(dir, 'model.json'));
  const j = await rejects(dir, 'E_MODEL_FORMAT', /model\.json: expected model\.json inside the model folder/);
  assert.equal((j as ModelFormatError).file, join(dir, 'model.json'));
  // The model folder may itself be reached through a link.
  unlinkSync(join(dir, 'model.json'));
  renameSync(join(outside, 'model.json'), join(dir, 'model.json'));
  symlinkSync(dir, join(outside, 'model-link'));
  (await loadModel(join(outside, 'model-link'))).model.dispose();
});

test('rejects weights.bin one byte short or one byte long, naming expected and found byte counts', async () => {
  const { dir, bytes, nWeights } = await fixture();
  const w = readFileSync(join(dir, 'weights.bin'));
  assert.equal(w.length, bytes);
  writeFileSync(join(dir, 'weights.bin'), w.subarray(0, bytes - 1));
  await rejects(dir, 'E_MODEL_FORMAT', new RegExp(`weights\\.bin: expected ${bytes} bytes for ${nWeights} weights, found ${bytes - 1}$`));
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat([w, Buffer.from([0])]));
  await rejects(dir, 'E_MODEL_FORMAT', new RegExp(`weights\\.bin: expected ${bytes} bytes for ${nWeights} weights, found ${bytes + 1}$`));
  writeFileSync(join(dir, 'weights.bin'), w);
  (await loadModel(dir)).model.dispose();
});

test('rejects a missing weights file, missing model.json and a missing folder with the path', async () => {
  const { dir } = await fixture();
  unlinkSync(join(dir, 'weights.bin'));
  await rejects(dir, 'E_MODEL_MISSING', /weights\.bin: not found/);
  unlinkSync(join(dir, 'model.json'));
  const e = await rejects(dir, 'E_MODEL_MISSING', /model\.json: not found/);
  assert.ok(e.message.includes(join(dir, 'model.json')));
  await rejects(join(dir, 'nope'), 'E_MODEL_MISSING', /nope.*model\.json: not found/);
});

test('rejects model.json that is not JSON, not an object, or not a layers model', async () => {
  const { dir, json } = await fixture();
  writeFileSync(join(dir, 'model.json'), '{"modelTopology": {');
  const e = await rejects(dir, 'E_MODEL_FORMAT', /model\.json: expected valid JSON, found a parse error/);
  assert.ok(e instanceof ModelFormatError);
  writeFileSync(join(dir, 'model.json'), '[1, 2]');
  await rejects(dir, 'E_MODEL_FORMAT', /expected a JSON object, found an array/);
  writeJson(dir, { ...json, format: 'graph-model' });
  await rejects(
    dir,
    'E_MODEL_FORMAT',
    /expected a tf.js LayersModel \(loadGraphModel reads a graph-model folder\), found format "graph-model"/,
  );
  writeJson(dir, { ...json, modelTopology: 'Sequential' });
  await rejects(dir, 'E_MODEL_FORMAT', /expected modelTopology to be an object, found "Sequential"/);
  writeJson(dir, { ...json, modelTopology: null });
  await rejects(dir, 'E_MODEL_FORMAT', /expected modelTopology to be an object, found null/);
  writeJson(dir, { ...json, weightsManifest: { paths: ['weights.bin'] } });
  await rejects(dir, 'E_MODEL_FORMAT', /expected weightsManifest to be an array, found an object/);
  writeJson(dir, { ...json, advlab: { inputShape: [28, 28] } });
  await rejects(dir, 'E_MODEL_FORMAT', /advlab\.inputShape/);
  // format absent is fine
  const { format: _f, ...noFormat } = json;
  writeJson(dir, noFormat);
  (await loadModel(dir)).model.dispose();
});

test('rejects quantized and unsupported dtypes', async () => {
  const { dir, json } = await fixture();
  const orig = structuredClone(json.weightsManifest[0].weights);
  json.weightsManifest[0].weights[0] = { ...orig[0], dtype: 'uint8', quantization: { dtype: 'uint8', scale: 0.01, min: -1 } };
  writeJson(dir, json);
  await rejects(dir, 'E_MODEL_FORMAT', /quantization not supported/);
  json.weightsManifest[0].weights[0] = { ...orig[0], dtype: 'uint16' };
  writeJson(dir, json);
  await rejects(dir, 'E_MODEL_FORMAT', /uint16 quantization \(quantization not supported/);
  json.weightsManifest[0].weights[0] = { ...orig[0], quantization: { dtype: 'float16' } };
  writeJson(dir, json);
  await rejects(dir, 'E_MODEL_FORMAT', /float16 quantization \(quantization not supported/);
  json.weightsManifest[0].weights[0] = { ...orig[0], dtype: 'complex64' };
  writeJson(dir, json);
  await rejects(dir, 'E_MODEL_FORMAT', /dtype \(logits\/kernel\) to be float32, int32 or bool, found "complex64"/);
  json.weightsManifest[0].weights[0] = { ...orig[0], shape: [16, -3] };
  writeJson(dir, json);
  await rejects(dir, 'E_MODEL_FORMAT', /shape \(logits\/kernel\) to be an array of non-negative integers/);
});

test('topology / weights mismatches and unknown layer classes become ModelFormatError', async () => {
  const { dir, json } = await fixture();
  // Same byte count, different weight shapes than the topology needs.
  const j1 = structuredClone(json);
  j1.weightsManifest[0].weights[0].shape = [3, 16];
  writeJson(dir, j1);
  await rejects(dir, 'E_MODEL_FORMAT', /expected a tf\.js LayersModel topology/);
  const j2 = structuredClone(json);
  j2.modelTopology.config.layers[1].class_name = 'Lambda';
  writeJson(dir, j2);
  await rejects(dir, 'E_MODEL_FORMAT', /expected a tf\.js LayersModel topology.*found .*Lambda/s);
});

test('loads a Keras-converter style model.json (model_config, group shards, generatedBy keras)', async () => {
  const { dir, json } = await fixture();
  const w = readFileSync(join(dir, 'weights.bin'));
  // split across two shards, the way tfjs-converter names them
  writeFileSync(join(dir, 'group1-shard1of2.bin'), w.subarray(0, 100));
  writeFileSync(join(dir, 'group1-shard2of2.bin'), w.subarray(100));
  unlinkSync(join(dir, 'weights.bin'));
  const keras = {
    format: 'layers-model',
    generatedBy: 'keras v2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: {
      keras_version: '2.15.0',
      backend: 'tensorflow',
      model_config: json.modelTopology,
      training_config: { loss: 'categorical_crossentropy' },
    },
    weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: json.weightsManifest[0].weights }],
  };
  writeJson(dir, keras);
  const { model, meta } = await loadModel(dir);
  assert.equal(meta, undefined);
  const ref = createModel('linear', { inputShape: [4, 4, 1], numClasses: 3, seed: 5 });
  const x = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 1);
  assert.equal(maxAbsDiff(ref.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor), 0);
  ref.dispose();
  model.dispose();
});

test('isProbabilityModel: softmax endings yes, zoo models no', async () => {
  const dense = tfl.sequential({
    layers: [tfl.layers.flatten({ inputShape: [2, 2, 1] }), tfl.layers.dense({ units: 3, activation: 'softmax' })],
  });
  const act = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [2, 2, 1] }),
      tfl.layers.dense({ units: 3 }),
      tfl.layers.activation({ activation: 'softmax' }),
    ],
  });
  const sm = tfl.sequential({
    layers: [tfl.layers.flatten({ inputShape: [2, 2, 1] }), tfl.layers.dense({ units: 3 }), tfl.layers.softmax()],
  });
  const inp = tfl.input({ shape: [2, 2, 1] });
  const fn = tfl.model({
    inputs: inp,
    outputs: tfl.layers.dense({ units: 3, activation: 'softmax' }).apply(tfl.layers.flatten().apply(inp)) as tfl.SymbolicTensor,
  });
  const nested = tfl.sequential({ layers: [tfl.layers.inputLayer({ inputShape: [2, 2, 1] }), dense] });
  for (const m of [dense, act, sm, fn, nested]) assert.equal(isProbabilityModel(m), true, m.name);
  const sigmoid = tfl.sequential({
    layers: [tfl.layers.flatten({ inputShape: [2, 2, 1] }), tfl.layers.dense({ units: 3, activation: 'sigmoid' })],
  });
  assert.equal(isProbabilityModel(sigmoid), false);
  for (const name of MODEL_NAMES) {
    const m = createModel(name, { inputShape: shapeFor(name), numClasses: 10, seed: 0 });
    assert.equal(isProbabilityModel(m), false, name);
    m.dispose();
  }
  // survives a save / load
  const dir = freshDir('softmax');
  await saveModel(dense, dir);
  const { model } = await loadModel(dir);
  assert.equal(isProbabilityModel(model), true);
  [dense, act, sm, fn, sigmoid, model].forEach((m) => {
    m.dispose();
  });
});

test('graph-model folders: loadGraphModel and loadClassifier read them with the same checks; each loader names the other', async () => {
  const w = tinyCnnWeights({ inputShape: [8, 8, 1], filters: 3, kernelSize: 3, numClasses: 4 }, 5);
  const dir = freshDir('graph');
  mkdirSync(dir, { recursive: true });
  const files = tinyCnnGraphModelFiles(w, { identityOutput: true });
  writeFileSync(join(dir, 'model.json'), files.modelJson);
  writeFileSync(join(dir, files.shardName), files.shard);
  const reference = tinyCnnLayersModel(w);
  const x = tf.randomUniform([5, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const { classifier, format } = await loadClassifier(dir);
  assert.equal(format, 'graph-model');
  const got = tf.tidy(() => classifier.logits(x).arraySync());
  const want = tf.tidy(() => (reference.apply(x) as tf.Tensor).arraySync());
  assert.ok(relErr((got as number[][]).flat(), (want as number[][]).flat()) < 1e-5);
  await assert.rejects(loadModel(dir), (e: unknown) => e instanceof ModelFormatError && /loadGraphModel/.test(e.message));
  const layersDir = freshDir('layers-for-graph');
  await saveModel(reference, layersDir);
  await assert.rejects(loadGraphModel(layersDir), (e: unknown) => e instanceof ModelFormatError && /loadModel/.test(e.message));
  assert.equal((await loadClassifier(layersDir)).format, 'layers-model');
  // The manifest's paths stay inside the folder, whatever the format.
  const evil = JSON.parse(files.modelJson);
  evil.weightsManifest[0].paths = ['../outside.bin'];
  writeFileSync(join(dir, 'model.json'), JSON.stringify(evil));
  await assert.rejects(loadGraphModel(dir), ModelFormatError);
  // A shard one byte short is refused before anything is built.
  writeFileSync(join(dir, 'model.json'), files.modelJson);
  writeFileSync(join(dir, files.shardName), files.shard.subarray(1));
  await assert.rejects(loadGraphModel(dir), (e: unknown) => e instanceof ModelFormatError && /bytes/.test(e.message));
  tf.dispose([x]);
  reference.dispose();
});
