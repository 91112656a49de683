import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy } from '../losses/losses.ts';
import { cpu, mlpClassifier } from '../testing/fixtures.ts';
import { Rng } from '../util/rng.ts';
import { inputHessian, meanLoss, meanLossHessian, variablesHessian, type HessianOperator, type WeightedModel } from './hessian.ts';
import { inputTopEigenvalues } from './input.ts';
import { densityCurve, hutchinsonTrace, spectralDensity, topEigenvalues } from './spectrum.ts';
import { symmetricEigen } from './symmetric-eigen.ts';

await cpu();

/** Softmax regression z = x·W + b on n examples of dimension d: small enough for its exact Hessian. */
function softmaxRegression(n: number, d: number, k: number, seed: number) {
  const rng = new Rng(seed);
  const xs = Array.from({ length: n * d }, () => rng.next());
  const ys = Array.from({ length: n }, (_, i) => i % k);
  const w = Array.from({ length: d * k }, () => rng.normal());
  const b = Array.from({ length: k }, () => 0.3 * rng.normal());
  const W = tf.variable(tf.tensor2d(w, [d, k]));
  const B = tf.variable(tf.tensor1d(b));
  const model: WeightedModel & { numClasses: number; inputShape: [number, number, number]; name: string } = {
    name: 'softmax-regression',
    numClasses: k,
    inputShape: [1, 1, d],
    variables: [W, B],
    logits: (x) => tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), W), B) as tf.Tensor2D),
  };
  const x = tf.tensor4d(xs, [n, 1, 1, d]);
  const y = tf.tensor1d(ys, 'int32');
  // Host float64 copies of exactly the float32 values the tensors hold.
  const xv = Array.from(x.dataSync());
  const wv = Array.from(W.dataSync());
  const bv = Array.from(B.dataSync());
  const probs = Array.from({ length: n }, (_, i) => {
    const z = Array.from(
      { length: k },
      (_, c) => bv[c]! + Array.from({ length: d }, (_, j) => xv[i * d + j]! * wv[j * k + c]!).reduce((s, t) => s + t, 0),
    );
    const m = Math.max(...z);
    const e = z.map((t) => Math.exp(t - m));
    const s = e.reduce((a, t) => a + t, 0);
    return e.map((t) => t / s);
  });
  /** ∂²(mean CE)/∂θ∂θ' with θ = [vec(W) row-major, b]: (1/n)·Σᵢ (diag(pᵢ) − pᵢpᵢᵀ)[c, c'] · x̃ᵢⱼ·x̃ᵢⱼ', x̃ = [x, 1]. */
  const dim = (d + 1) * k;
  const index = (j: number, c: number) => (j < d ? j * k + c : d * k + c);
  const weightHessian = Array.from({ length: dim }, () => new Array<number>(dim).fill(0));
  for (let i = 0; i < n; i++) {
    const p = probs[i]!;
    const xt = (j: number) => (j < d ? xv[i * d + j]! : 1);
    for (let j = 0; j <= d; j++)
      for (let c = 0; c < k; c++)
        for (let j2 = 0; j2 <= d; j2++)
          for (let c2 = 0; c2 < k; c2++) {
            const a = (c === c2 ? p[c]! : 0) - p[c]! * p[c2]!;
            weightHessian[index(j, c)]![index(j2, c2)]! += (a * xt(j) * xt(j2)) / n;
          }
  }
  /** ∇ₓ²ℓᵢ = W·(diag(pᵢ) − pᵢpᵢᵀ)·Wᵀ per example. */
  const inputHessians = probs.map((p) =>
    Array.from({ length: d }, (_, j) =>
      Array.from({ length: d }, (_, j2) => {
        let s = 0;
        for (let c = 0; c < k; c++)
          for (let c2 = 0; c2 < k; c2++) s += wv[j * k + c]! * ((c === c2 ? p[c]! : 0) - p[c]! * p[c2]!) * wv[j2 * k + c2]!;
        return s;
      }),
    ),
  );
  const meanCe = probs.reduce((s, p, i) => s - Math.log(p[ys[i]!]!), 0) / n;
  return { model, x, y, weightHessian, inputHessians, meanCe, dispose: () => tf.dispose([W, B, x, y]) };
}

/** The dense matrix of an operator on a single flat space, column by column from unit vectors. */
function denseMatrix(op: HessianOperator): number[][] {
  const sizes = op.shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const dim = sizes.reduce((a, b) => a + b, 0);
  const cols: number[][] = [];
  for (let c = 0; c < dim; c++) {
    const e = new Float32Array(dim);
    e[c] = 1;
    let at = 0;
    const v = op.shapes.map((s, i) => {
      const t = tf.tensor(e.subarray(at, at + sizes[i]!), s as number[]);
      at += sizes[i]!;
      return t;
    });
    const hv = op.apply(v);
    cols.push(hv.flatMap((t) => Array.from(t.dataSync())));
    tf.dispose([...v, ...hv]);
  }
  return Array.from({ length: dim }, (_, r) => cols.map((col) => col[r]!)); // rows
}

const maxAbs = (m: number[][]) => Math.max(...m.flat().map(Math.abs));
const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));

test('meanLossHessian equals the closed-form Hessian of softmax regression (any batch size) and meanLoss its loss', () => {
  const f = softmaxRegression(7, 3, 3, 1);
  for (const batchSize of [500, 3, 1]) {
    const got = denseMatrix(meanLossHessian(f.model, f.x, f.y, { batchSize }));
    assert.ok(
      maxDiff(got, f.weightHessian) < 1e-6 * Math.max(1, maxAbs(f.weightHessian)),
      `batch ${batchSize}: ${maxDiff(got, f.weightHessian)}`,
    );
  }
  assert.ok(Math.abs(meanLoss(f.model, f.x, f.y, { batchSize: 2 }) - f.meanCe) < 1e-6);
  f.dispose();
});

test('topEigenvalues, hutchinsonTrace and spectralDensity agree with the exact spectrum', () => {
  const f = softmaxRegression(9, 4, 3, 2);
  const exact = symmetricEigen(f.weightHessian).values; // ascending; PSD, so the top ones are the largest
  const op = meanLossHessian(f.model, f.x, f.y);
  const tight = topEigenvalues(op, { top: 3, maxIterations: 3000, tolerance: 1e-9, rng: new Rng(3) });
  for (let i = 0; i < 3; i++) {
    const want = exact[exact.length - 1 - i]!;
    assert.ok(Math.abs(tight.eigenvalues[i]! - want) < 1e-4 * exact.at(-1)!, `eigenvalue ${i}: ${tight.eigenvalues[i]} vs ${want}`);
  }
  // PyHessian's defaults stop on a 1e-3 relative change: the top eigenvalue is then within a few per cent.
  const quick = topEigenvalues(op, { rng: new Rng(4) });
  assert.ok(Math.abs(quick.eigenvalues[0]! - exact.at(-1)!) < 0.03 * exact.at(-1)!);
  assert.ok(quick.iterations[0]! <= 100);

  const trueTrace = exact.reduce((a, b) => a + b, 0);
  const trace = hutchinsonTrace(op, { samples: 1500, rng: new Rng(5) });
  assert.equal(trace.samples.length, 1500);
  assert.ok(Math.abs(trace.trace - trueTrace) < 4 * trace.standardError, `trace ${trace.trace} ± ${trace.standardError} vs ${trueTrace}`);
  assert.ok(trace.standardError < 0.1 * trueTrace);

  // Lanczos for as many steps as the dimension recovers every eigenvalue its start vector touches.
  const dim = exact.length;
  const density = spectralDensity(op, { steps: dim, runs: 2, rng: new Rng(6) });
  for (let r = 0; r < 2; r++) {
    assert.ok(Math.abs(density.weights[r]!.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    density.nodes[r]!.forEach((node, j) => {
      if (density.weights[r]![j]! < 1e-4) return;
      const nearest = Math.min(...exact.map((e) => Math.abs(e - node)));
      assert.ok(nearest < 1e-3 * exact.at(-1)!, `run ${r} node ${node} (weight ${density.weights[r]![j]}) is ${nearest} from the spectrum`);
    });
  }
  const curve = densityCurve(density, { points: 2000 });
  let area = 0;
  for (let i = 1; i < curve.x.length; i++) area += ((curve.y[i]! + curve.y[i - 1]!) / 2) * (curve.x[i]! - curve.x[i - 1]!);
  assert.ok(Math.abs(area - 1) < 1e-2, `density integrates to ${area}`);
  f.dispose();
});

test('variablesHessian of a ReLU MLP matches finite differences of its gradient and is symmetric', () => {
  const d = 4;
  const { classifier, vars } = mlpClassifier(d, 5, 3, 7, [1, 1, d]);
  const rng = new Rng(8);
  const x = tf.tensor4d(
    Array.from({ length: 6 * d }, () => rng.next()),
    [6, 1, 1, d],
  );
  const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
  const variables = Object.values(vars);
  const loss = () => tf.mean(crossEntropy(classifier.logits(x), y)) as tf.Scalar;
  const got = denseMatrix(variablesHessian(loss, variables));
  // Central differences of the gradient, one coordinate at a time.
  const flatGrad = () =>
    tf.tidy(() => {
      const g = tf.variableGrads(loss, variables).grads;
      return variables.flatMap((v) => Array.from(g[v.name]!.dataSync()));
    });
  const h = 1e-2;
  const fd: number[][] = [];
  variables.forEach((v) => {
    const base = v.dataSync().slice();
    for (let i = 0; i < base.length; i++) {
      const shifted = (s: number) => {
        const w = base.slice();
        w[i] = w[i]! + s;
        v.assign(tf.tensor(w, v.shape));
        return flatGrad();
      };
      const plus = shifted(h);
      const minus = shifted(-h);
      v.assign(tf.tensor(base, v.shape));
      fd.push(plus.map((p, j) => (p - minus[j]!) / (2 * h)));
    }
  });
  const scale = maxAbs(fd);
  assert.ok(maxDiff(got, fd) < 2e-3 * scale, `HVP vs finite differences: ${maxDiff(got, fd)} (scale ${scale})`);
  const transposed = got.map((row, i) => row.map((_, j) => got[j]![i]!));
  assert.ok(maxDiff(got, transposed) < 1e-5 * scale);
  tf.dispose([x, y, ...variables]);
});

test('inputHessian is each example’s own ∇ₓ²ℓ and inputTopEigenvalues finds each top eigenvalue', () => {
  const f = softmaxRegression(5, 6, 4, 3);
  const op = inputHessian(f.model, f.x, f.y);
  const rng = new Rng(9);
  const v = tf.randomNormal(f.x.shape, 0, 1, 'float32', rng.seed());
  const [hv] = op.apply([v]);
  const vv = v.dataSync();
  const got = hv!.dataSync();
  const d = 6;
  f.inputHessians.forEach((m, i) => {
    for (let j = 0; j < d; j++) {
      const want = m[j]!.reduce((s, a, j2) => s + a * vv[i * d + j2]!, 0);
      assert.ok(Math.abs(got[i * d + j]! - want) < 1e-5, `example ${i}, coordinate ${j}`);
    }
  });
  tf.dispose([v, hv!]);
  const top = inputTopEigenvalues(f.model, f.x, f.y, { maxIterations: 500, tolerance: 1e-7, rng });
  assert.ok(top.converged);
  f.inputHessians.forEach((m, i) => {
    const want = symmetricEigen(m).values.at(-1)!;
    assert.ok(Math.abs(top.values[i]! - want) < 1e-3 * Math.max(want, 1e-3), `example ${i}: ${top.values[i]} vs ${want}`);
  });
  f.dispose();
});

test('1000 weight HVPs and the solvers leave tf.memory().numTensors flat', () => {
  const f = softmaxRegression(8, 3, 3, 4);
  const op = meanLossHessian(f.model, f.x, f.y, { batchSize: 3 });
  const v = op.shapes.map((s) => tf.ones(s as number[]));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 1000; i++) tf.dispose(op.apply(v));
  assert.equal(tf.memory().numTensors, before);
  topEigenvalues(op, { top: 2, rng: new Rng(1) });
  hutchinsonTrace(op, { samples: 20, rng: new Rng(2) });
  spectralDensity(op, { steps: 8, rng: new Rng(3) });
  inputTopEigenvalues(f.model, f.x, f.y, { rng: new Rng(4) });
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(v);
  f.dispose();
});

test('operators reject vectors of the wrong parts and options out of range, naming them', () => {
  const f = softmaxRegression(4, 3, 3, 5);
  const op = meanLossHessian(f.model, f.x, f.y);
  const bad = [tf.zeros([3, 2]), tf.zeros([3])];
  assert.throws(() => op.apply(bad), /part 0 must have shape \[3,3\], got \[3,2\]/);
  assert.throws(() => op.apply([bad[1]!]), /2 parts expected, got 1/);
  assert.throws(() => meanLossHessian(f.model, f.x, f.y, { batchSize: 0 }), /batchSize/);
  assert.throws(() => topEigenvalues(op, { top: 0, rng: new Rng(1) }), /top/);
  assert.throws(() => hutchinsonTrace(op, { samples: 0, rng: new Rng(1) }), /samples/);
  assert.throws(() => topEigenvalues(op, { maxIterations: 0, rng: new Rng(1) }), /maxIterations/);
  assert.throws(() => spectralDensity(op, { steps: 0, rng: new Rng(1) }), /steps/);
  tf.dispose(bad);
  // tf.js loses the second-order path through tf.customGrad: an error, not a product missing terms.
  const custom = variablesHessian(
    () => tf.mean(tf.losses.softmaxCrossEntropy(tf.oneHot(f.y, 3), f.model.logits(f.x))) as tf.Scalar,
    f.model.variables,
  );
  const ones = custom.shapes.map((s) => tf.ones(s as number[]));
  assert.throws(() => custom.apply(ones), /not twice differentiable in .* \(a tf.customGrad op/);
  tf.dispose(ones);
  f.dispose();
});
