// Recomputes bench/parity/step_ref.py's training step in advlab and compares: the same wong-cnn weights
// (converted from PyTorch's layout), the same 128 training examples and η, the method's objective at the
// FGSM point; prints the loss, its parts and each parameter gradient's relative error against PyTorch's
// float64 numbers. Exits 1 when a relative error exceeds --tol (default 1e-3).
// When the file holds a trajectory (step_ref.py --train-steps N, FGSM), it also trains from the same float32
// weights on the same batches with advlab's Adam and prints where the two loss curves part and both models'
// final clean and BIM-10 accuracy (a report: float32 round-off grows along a training run, so no tolerance).
//
//   /usr/bin/python3 bench/parity/step_ref.py --method gradalign --out /tmp/parity.json
//   node --import tsx bench/parity/step.mts /tmp/parity.json [--backend onednn|cpu|wasm] [--tol 1e-3]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import {
  batchTensors,
  createModel,
  gradAlignPenalty,
  makeObjective,
  makeOptimizer,
  Rng,
  runAttack,
  threatModel,
  trainableVariables,
  useBackend,
  type Forward,
} from '@advlab/core';
import { loadFashionMnist } from '@advlab/node';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { backend: { type: 'string', default: 'auto' }, tol: { type: 'string', default: '1e-3' } },
});
const ref = JSON.parse(readFileSync(positionals[0] ?? '/tmp/parity.json', 'utf8'));
const used = await useBackend(values.backend as 'auto');

/** PyTorch layout → tf.js layout for wong-cnn's parameters (conv OIHW → HWIO; NCHW flatten → NHWC flatten). */
function toTf(name: string, shape: number[], data: number[]): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(data, shape, 'float32');
    if (name.startsWith('conv') && name.endsWith('.w')) return tf.transpose(t, [2, 3, 1, 0]);
    if (name === 'fc1.w') return tf.reshape(tf.transpose(tf.reshape(t, [100, 32, 7, 7]), [2, 3, 1, 0]), [1568, 100]);
    if (name === 'fc2.w') return tf.transpose(t);
    return t;
  });
}

const names = Object.keys(ref.params);
/** advlab's wong-cnn holding PyTorch's initial weights. */
function pytorchInitialModel() {
  const m = createModel('wong-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
  m.setWeights(names.map((n) => toTf(n, ref.params[n].shape, ref.params[n].data)));
  return m;
}
const model = pytorchInitialModel();
const data = loadFashionMnist();
const { x, y } = batchTensors(
  data.train,
  Array.from({ length: ref.batch }, (_, i) => i),
);
const eta = tf.transpose(tf.tensor4d(ref.eta, [ref.batch, 1, 28, 28]), [0, 2, 3, 1]) as tf.Tensor4D;
const forward: Forward = (xx, training) => model.apply(xx, { training }) as tf.Tensor2D;
const objective = makeObjective({ method: ref.method, lambda: ref.lambda }, ref.eps);
const prepared = objective.prepare(forward, x, y, { eps: ref.eps, rng: new Rng(0) });
const points = ref.method === 'gradalign' ? [prepared[0]!, eta] : prepared;
const xAdvSum = tf.sum(prepared[0]!).dataSync()[0]!;
const vars = trainableVariables(model);
const { value, grads } = tf.variableGrads(() => objective.loss(forward, x, y, points, { eps: ref.eps, rng: new Rng(0) }), vars);
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-12, Math.abs(b));
const rows: [string, number, number, number][] = [['loss', value.dataSync()[0]!, ref.loss, 0]];
if (ref.method === 'gradalign') rows.push(['penalty', gradAlignPenalty(forward, x, y, eta).dataSync()[0]!, ref.parts.penalty, 0]);
rows.push(['Σ x_adv', xAdvSum, ref.x_adv_sum, 0]);
let worst = 0;
for (const r of rows) {
  r[3] = rel(r[1], r[2]);
  worst = Math.max(worst, r[3]);
}
console.log(`backend ${used}, method ${ref.method}, ε = ${ref.eps}, batch ${ref.batch}`);
for (const [n, a, b, e] of rows)
  console.log(
    `${n.padEnd(10)} advlab ${a.toPrecision(8).padStart(14)}  pytorch ${b.toPrecision(8).padStart(14)}  rel.err ${e.toExponential(2)}`,
  );
for (const [i, n] of names.entries()) {
  const g = grads[vars[i]!.name]!;
  const expected = toTf(n, ref.params[n].shape, ref.grads[n]);
  const err = tf.tidy(() => tf.div(tf.norm(tf.sub(g, expected)), tf.norm(expected)).dataSync()[0]!);
  const cos = tf.tidy(() => tf.div(tf.sum(tf.mul(g, expected)), tf.mul(tf.norm(g), tf.norm(expected))).dataSync()[0]!);
  worst = Math.max(worst, err);
  console.log(
    `∇${n.padEnd(9)} ‖advlab − pytorch‖/‖pytorch‖ = ${err.toExponential(2)}  cos = ${cos.toFixed(6)}  ‖pytorch‖ = ${tf.tidy(() => tf.norm(expected).dataSync()[0]!).toExponential(3)}`,
  );
}
if (ref.trajectory) followTrajectory();
const tol = Number(values.tol);
console.log(
  worst <= tol
    ? `OK: worst relative error ${worst.toExponential(2)} ≤ ${tol}`
    : `MISMATCH: worst relative error ${worst.toExponential(2)} > ${tol}`,
);
process.exit(worst <= tol ? 0 : 1);

function followTrajectory(): void {
  const t = ref.trajectory as { losses: number[]; clean_acc: number; bim10_acc: number };
  const m = pytorchInitialModel();
  const f: Forward = (xx, training) => m.apply(xx, { training }) as tf.Tensor2D;
  const opt = makeOptimizer('adam', 1e-3);
  const vs = trainableVariables(m);
  const fgsm = makeObjective({ method: 'fgsm' }, ref.eps);
  const perEpoch = data.train.n - (data.train.n % ref.batch);
  const ours: number[] = [];
  for (let step = 0; step < t.losses.length; step++) {
    const start = (step * ref.batch) % perEpoch;
    const b = batchTensors(
      data.train,
      Array.from({ length: ref.batch }, (_, i) => start + i),
    );
    const pts = fgsm.prepare(f, b.x, b.y, { eps: ref.eps, rng: new Rng(0) });
    ours.push(tf.tidy(() => opt.minimize(() => fgsm.loss(f, b.x, b.y, pts, { eps: ref.eps, rng: new Rng(0) }), true, vs)!.dataSync()[0]!));
    tf.dispose([b.x, b.y, ...pts]);
  }
  const parted = ours.findIndex((l, i) => Math.abs(l - t.losses[i]!) > 1e-3 * Math.abs(t.losses[i]!));
  console.log(
    `trajectory: ${t.losses.length} FGSM-AT steps; loss curves agree to 1e-3 up to step ${parted < 0 ? t.losses.length : parted}`,
  );
  for (let i = 0; i < t.losses.length; i += Math.max(1, Math.floor(t.losses.length / 12)))
    console.log(`  step ${String(i).padStart(4)}  advlab ${ours[i]!.toFixed(4)}  pytorch ${t.losses[i]!.toFixed(4)}`);
  const test = batchTensors(
    data.test,
    Array.from({ length: 1000 }, (_, i) => i),
  );
  const classifier = {
    name: 'parity',
    numClasses: 10,
    inputShape: [28, 28, 1] as [number, number, number],
    logits: (xx: tf.Tensor4D) => f(xx, false),
  };
  const clean = tf.tidy(() => tf.equal(tf.argMax(classifier.logits(test.x), 1), test.y).dataSync());
  const bim = runAttack('bim', classifier, test.x, test.y, threatModel('linf', ref.eps), {
    config: { steps: 10, alpha: ref.eps / 4, finalIterate: true },
  });
  const robust = Array.from(clean).filter((c, i) => c && !bim.success[i]).length / 1000;
  const cleanAcc = Array.from(clean).filter(Boolean).length / 1000;
  console.log(
    `after ${t.losses.length} steps: clean ${(100 * cleanAcc).toFixed(1)}% (pytorch ${(100 * t.clean_acc).toFixed(1)}%), BIM-10 ${(100 * robust).toFixed(1)}% (pytorch ${(100 * t.bim10_acc).toFixed(1)}%)`,
  );
  tf.dispose([test.x, test.y, bim.xAdv]);
}
