// Scratch: which tf.js kernels a training step / input gradient of a zoo model runs, and their time.
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../core/src/backend/index.ts';
import { createModel, type ModelName } from '../../core/src/models/zoo.ts';
import { trainableVariables } from '../src/test-util.ts';

const backend = (process.argv[2] ?? 'cpu') as 'cpu' | 'wasm' | 'onednn';
const name = (process.argv[3] ?? 'cnn') as ModelName;
const batch = Number(process.argv[4] ?? 32);
await useBackend(backend);
const shape: [number, number, number] = name === 'resnet' ? [32, 32, 3] : [28, 28, 1];
const model = createModel(name, { inputShape: shape, numClasses: 10, seed: 1 });
const x = tf.randomUniform([batch, ...shape]);
const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
const opt = tf.train.sgd(0.01);
const vars = trainableVariables(model);
const step = () =>
  tf.tidy(() => {
    opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, false, vars);
  });
step();
const prof = await tf.profile(step);
const agg = new Map<string, { n: number; ms: number }>();
for (const k of prof.kernels) {
  const a = agg.get(k.name) ?? { n: 0, ms: 0 };
  a.n++;
  a.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  agg.set(k.name, a);
}
for (const [k, v] of [...agg].sort((a, b) => b[1].ms - a[1].ms)) console.log(k.padEnd(28), v.n, v.ms.toFixed(2));
