// Scratch: kernels of one input gradient (a PGD step's work) of a zoo model, with their time.
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../core/src/backend/index.ts';
import { createModel, type ModelName } from '../../core/src/models/zoo.ts';

const backend = (process.argv[2] ?? 'onednn') as 'cpu' | 'wasm' | 'onednn';
const name = (process.argv[3] ?? 'cnn') as ModelName;
const batch = Number(process.argv[4] ?? 128);
await useBackend(backend);
const shape: [number, number, number] = name === 'resnet' ? [32, 32, 3] : [28, 28, 1];
const model = createModel(name, { inputShape: shape, numClasses: 10, seed: 1 });
const x = tf.randomUniform([batch, ...shape]);
const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
const g = () => tf.tidy(() => void tf.grad((xx: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, model.apply(xx) as tf.Tensor) as tf.Scalar)(x).dataSync());
g();
g();
const prof = await tf.profile(g);
const rows = prof.kernels.map((k) => [k.name, String(k.inputShapes.map((s) => `[${s}]`).join(' ')), typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0] as const);
for (const [n, s, t] of rows.filter((r) => r[2] > 0.2).sort((a, b) => b[2] - a[2])) console.log(n.padEnd(22), t.toFixed(2).padStart(7), s);
console.log('total', rows.reduce((a, r) => a + r[2], 0).toFixed(1));
