// Scratch benchmark (not a test): forward, input gradient (one PGD step's work) and one SGD training step
// of zoo models at batch 128, on the backends named on the command line.
//   node --import tsx packages/onednn/scripts/bench.ts [backends=onednn,wasm] [models=cnn,wong-cnn] [batch=128]
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, backendInfo, type BackendName } from '../../core/src/backend/index.ts';
import { createModel, type ModelName } from '../../core/src/models/zoo.ts';
import { trainableVariables } from '../src/test-util.ts';

const backends = (process.argv[2] ?? 'onednn,wasm').split(',') as BackendName[];
const models = (process.argv[3] ?? 'cnn,wong-cnn').split(',') as ModelName[];
const batch = Number(process.argv[4] ?? 128);

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(f: () => void, budgetMs = 3000, maxRuns = 30): number {
  f(); // warm-up: primitive creation, buffer pool, JIT
  f();
  const ts: number[] = [];
  const start = performance.now();
  while (ts.length < maxRuns && (ts.length < 3 || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

for (const backend of backends) {
  await useBackend(backend);
  const bi = backendInfo();
  for (const name of models) {
    const inputShape: [number, number, number] = name === 'resnet' ? [32, 32, 3] : [28, 28, 1];
    const model = createModel(name, { inputShape, numClasses: 10, seed: 1 });
    const x = tf.randomUniform([batch, ...inputShape]);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
    const vars = trainableVariables(model);
    const opt = tf.train.sgd(0.01);
    const loss = (xx: tf.Tensor, training: boolean) =>
      tf.losses.softmaxCrossEntropy(y, model.apply(xx, { training }) as tf.Tensor) as tf.Scalar;
    const fwd = time(() => tf.tidy(() => void (model.apply(x) as tf.Tensor).dataSync()));
    const grad = time(() => tf.tidy(() => void tf.grad((xx: tf.Tensor) => loss(xx, false))(x).dataSync()));
    const train = time(() => tf.tidy(() => void opt.minimize(() => loss(x, true), true, vars)!.dataSync()));
    console.log(
      `${backend.padEnd(7)} threads=${bi.threads ?? '?'} ${name.padEnd(9)} batch ${batch}: ` +
        `forward ${fwd.toFixed(1)} ms, input gradient ${grad.toFixed(1)} ms, training step ${train.toFixed(1)} ms`,
    );
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  }
}
