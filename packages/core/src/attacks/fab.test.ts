import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { AttackError, ConfigError } from '../errors.ts';
import type { Classifier } from '../models/classifier.ts';
import { countDataSync, cpu, linearClassifier, trainedMlp } from '../testing/fixtures.ts';
import { NORMS, type Norm } from '../threat/norms.ts';
import { threatModel } from '../threat/threat.ts';
import { Rng } from '../util/rng.ts';
import { type FabConfig, fabT } from './fab.ts';
import { pgd } from './pgd.ts';
import { BALL_TOLERANCE, runAttack } from './run.ts';

await cpu();

/** The trained 4-class MLP fixture, trained once for the whole file (about 2.5 s). */
let mlpCache: ReturnType<typeof trainedMlp> | undefined;
const mlp = () => (mlpCache ??= trainedMlp(4, 8, 4));

const normOf = (norm: Norm, v: number[]) =>
  norm === 'linf' ? Math.max(0, ...v.map(Math.abs)) : norm === 'l2' ? Math.hypot(...v) : v.reduce((a, b) => a + Math.abs(b), 0);
/** The dual norm's index: the distance to {f_y = f_t} is (f_y − f_t) / ‖w_y − w_t‖_dual. */
const dualOf = (norm: Norm, v: number[]) => normOf(norm === 'linf' ? 'l1' : norm === 'l1' ? 'linf' : 'l2', v);

/**
 * A 5-class linear model on [1,1,12] inputs in [0.4, 0.6]^12 whose decision boundaries pass near the centre of that cube
 * (b_k = −w_k·0.5 plus a little noise), so the minimal perturbations are small: the tests check that the closed-form
 * minimiser x + δ* stays inside [0, 1], i.e. the box is inactive and the closed form is the true minimum.
 */
function linearCase() {
  const d = 12;
  const k = 5;
  const n = 8;
  const rng = new Rng(4); // a seed whose 8 examples fall in 3 classes, at L∞ distances 0.007–0.022
  const W = Array.from({ length: d }, () => Array.from({ length: k }, () => rng.normal()));
  const b = Array.from({ length: k }, (_, c) => -0.5 * W.reduce((a, row) => a + row[c]!, 0) + 0.3 * rng.normal());
  const model = linearClassifier(W, b, [1, 1, d]);
  const xs = Array.from({ length: n * d }, () => 0.4 + 0.2 * rng.next());
  const x = tf.tensor4d(xs, [n, 1, 1, d]);
  const logits = tf.tidy(() => model.logits(x).arraySync());
  const labels = logits.map((row) => row.indexOf(Math.max(...row)));
  const y = tf.tensor1d(labels, 'int32');
  /**
   * min over t ≠ y of (f_y − f_t)/‖w_y − w_t‖_dual (with K = 5, FAB-T's 4 targets are every other class), and whether
   * the minimiser δ* (L2: along Δw; L∞: along sign(Δw); L1: on the coordinate of largest |Δw|) keeps x + δ* in the box.
   */
  const closedForm = (norm: Norm) =>
    labels.map((yy, i) => {
      let best = { dist: Number.POSITIVE_INFINITY, inBox: false };
      for (let t = 0; t < k; t++) {
        if (t === yy) continue;
        const dw = W.map((row) => row[t]! - row[yy]!); // the direction that raises f_t − f_y
        const dist = (logits[i]![yy]! - logits[i]![t]!) / dualOf(norm, dw);
        if (dist >= best.dist) continue;
        const jMax = dw.reduce((j, v, q) => (Math.abs(v) > Math.abs(dw[j]!) ? q : j), 0);
        const step = dw.map((v, q) =>
          norm === 'l2' ? (dist * v) / normOf('l2', dw) : norm === 'linf' ? dist * Math.sign(v) : q === jMax ? dist * Math.sign(v) : 0,
        );
        best = { dist, inBox: step.every((v, q) => xs[i * d + q]! + v > 0 && xs[i * d + q]! + v < 1) };
      }
      return best;
    });
  return { model, x, y, labels, closedForm, n, d };
}

/** Per-example distances of FAB-T's proposal (before the trust boundary). A tiny ε keeps every target in play. */
function fabDistances(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, norm: Norm, config: Partial<FabConfig> = {}) {
  const threat = threatModel(norm, 1e-6);
  return tf.tidy(() => {
    const p = fabT.propose({ model, x, labels: y, threat, config: { ...fabT.defaults(threat), ...config }, rng: new Rng(0) });
    const fooled = Array.from(tf.notEqual(tf.argMax(model.logits(p), 1), y).dataSync());
    return { dist: Array.from(threat.distance(p, x).dataSync()), fooled, proposal: Array.from(p.dataSync()) };
  });
}

test('on a linear model FAB-T finds the closed-form minimal perturbation (L∞, L2, L1); PGD with a bisection over ε does not beat it', () => {
  const { model, x, y, closedForm, n, d } = linearCase();
  const xs = Array.from(x.dataSync());
  for (const norm of NORMS) {
    const cf = closedForm(norm);
    assert.ok(
      cf.every((c) => c.inBox && c.dist > 3e-3),
      `test setup (${norm}): the minimisers stay in the box`,
    );
    const exact = cf.map((c) => c.dist);
    const { dist, fooled, proposal } = fabDistances(model, x, y, norm);
    for (let i = 0; i < n; i++) {
      assert.equal(fooled[i], 1, `${norm} example ${i}: the proposal is adversarial`);
      // Adversarial points are at least the minimum away. On a linear model FAB settles at 1.0052× the minimum
      // (the fixed point of its η = 1.05 overshoot and β = 0.9 pull-back, the same for AutoAttack's FAB); allow 2%.
      assert.ok(dist[i]! >= exact[i]! * (1 - 1e-4), `${norm} example ${i}: ${dist[i]} below the exact minimum ${exact[i]}`);
      assert.ok(dist[i]! <= exact[i]! * 1.02, `${norm} example ${i}: FAB ${dist[i]} vs closed form ${exact[i]}`);
      for (let j = 0; j < d; j++) assert.ok(proposal[i * d + j]! > 0 && proposal[i * d + j]! < 1, 'box inactive');
    }
    // PGD (20 steps, α = ε/4, random start, CE) through runAttack, per example: bisection over ε for the smallest
    // ε at which PGD was seen to succeed (10 halvings of [0, 2·FAB], resolution 0.2%). That ε is never below the exact
    // minimum, and PGD sometimes gets within the resolution of it (seen: 8 of 24 examples at 1.0013×), i.e. 0.4% below
    // FAB's 1.0052×; elsewhere it stops 4–87% above. So the honest claims are: per example FAB is within 0.6% of PGD's
    // smallest successful ε or below it, and on average over the examples FAB's distance is smaller.
    const pgdEps: number[] = [];
    for (let i = 0; i < n; i++) {
      const xi = tf.tensor4d(xs.slice(i * d, (i + 1) * d), [1, 1, 1, d]);
      const yi = tf.slice(y, [i], [1]);
      const fools = (eps: number) => {
        const r = runAttack(pgd, model, xi, yi, threatModel(norm, eps), { seed: 1 });
        r.xAdv.dispose();
        return r.success[0] === 1;
      };
      let [lo, hi] = [0, 2 * dist[i]!];
      if (!fools(hi)) {
        tf.dispose([xi, yi]);
        pgdEps.push(hi); // PGD fails even at twice FAB's distance: count it as 2·FAB (in PGD's favour)
        continue;
      }
      for (let s = 0; s < 10; s++) {
        const mid = (lo + hi) / 2;
        if (fools(mid)) hi = mid;
        else lo = mid;
      }
      tf.dispose([xi, yi]);
      assert.ok(hi >= exact[i]! * (1 - 1e-4), `${norm} example ${i}: PGD at ${hi} below the exact minimum ${exact[i]}?`);
      assert.ok(dist[i]! <= hi * 1.006, `${norm} example ${i}: FAB ${dist[i]} > PGD's smallest successful ε ${hi}`);
      pgdEps.push(hi);
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const [fabMean, pgdMean] = [mean(dist.map((v, i) => v / exact[i]!)), mean(pgdEps.map((v, i) => v / exact[i]!))];
    assert.ok(fabMean < pgdMean, `${norm}: mean distance / minimum: FAB ${fabMean} vs PGD ${pgdMean}`);
  }
  tf.dispose([x, y]);
});

test('after runAttack every point lies in ball ∩ box, the proposal already lies in the box, and success is exact on the linear model', () => {
  const { model, x, y, closedForm, n, d } = linearCase();
  const xs = Array.from(x.dataSync());
  for (const norm of NORMS) {
    const exact = closedForm(norm).map((c) => c.dist);
    // ε between the minima: examples whose minimum is clearly below ε must fall, the others cannot.
    const eps = [...exact].sort((a, b) => a - b)[Math.floor(n / 2)]! * 1.03;
    const threat = threatModel(norm, eps);
    const r = runAttack(fabT, model, x, y, threat, { seed: 2 });
    const adv = Array.from(r.xAdv.dataSync());
    for (let i = 0; i < n; i++) {
      const delta = adv.slice(i * d, (i + 1) * d).map((v, j) => v - xs[i * d + j]!);
      assert.ok(
        normOf(norm, delta) <= eps * (1 + BALL_TOLERANCE) + BALL_TOLERANCE,
        `${norm} example ${i}: ‖δ‖ ${normOf(norm, delta)} > ε ${eps}`,
      );
      assert.ok(
        adv.slice(i * d, (i + 1) * d).every((v) => v >= 0 && v <= 1),
        `${norm} example ${i}: outside the box`,
      );
      if (exact[i]! < eps / 1.03) assert.equal(r.success[i], 1, `${norm} example ${i}: minimum ${exact[i]} < ε ${eps} but not fooled`);
      if (exact[i]! > eps) assert.equal(r.success[i], 0, `${norm} example ${i}: fooled beyond the exact minimum`);
    }
    r.xAdv.dispose();
  }
  tf.dispose([x, y]);

  // Box active: points near the faces of [−1, 2] (a non-default box), a nonlinear model; proposals stay in the box.
  const { classifier, test: data } = mlp();
  const m = 40;
  const near = Float32Array.from(data.images.slice(0, m * 8), (v) => (v < 0.5 ? -1 + 0.1 * v : 2 - 0.1 * (1 - v)));
  const xb = tf.tensor4d(near, [m, 1, 1, 8]);
  const yb = tf.tidy(() => tf.argMax(classifier.logits(xb), 1)) as tf.Tensor1D;
  for (const norm of NORMS) {
    const threat = threatModel(norm, { linf: 0.3, l2: 1, l1: 3 }[norm], { bounds: [-1, 2] });
    const proposal = fabT.propose({
      model: classifier,
      x: xb,
      labels: yb,
      threat,
      config: { ...fabT.defaults(threat), steps: 20 },
      rng: new Rng(0),
    });
    const p = proposal.dataSync();
    assert.ok(
      p.every((v) => v >= -1 && v <= 2),
      `${norm}: FAB's own iterates are clipped to the box`,
    );
    proposal.dispose();
    const r = runAttack(fabT, classifier, xb, yb, threat, { config: { steps: 20 } });
    const [lo, hi] = [tf.min(r.xAdv).dataSync()[0]!, tf.max(r.xAdv).dataSync()[0]!];
    assert.ok(lo >= -1 && hi <= 2, `${norm}: result in [−1, 2]: [${lo}, ${hi}]`);
    assert.ok(Math.max(...r.distance) <= threat.eps * (1 + BALL_TOLERANCE) + BALL_TOLERANCE, `${norm}: result in the ball`);
    assert.ok(
      r.success.some((s) => s === 1),
      `${norm}: fools some example`,
    );
    r.xAdv.dispose();
  }
  tf.dispose([xb, yb]);
});

test('on a trained MLP FAB-T fools at least every example PGD fools (ε for each norm)', () => {
  const { classifier, test: data } = mlp();
  const n = 100;
  const x = tf.tensor4d(data.images.slice(0, n * 8), [n, 1, 1, 8]);
  const y = tf.tensor1d(data.labels.slice(0, n), 'int32');
  for (const [norm, eps] of [
    ['linf', 0.05],
    ['l2', 0.15],
    ['l1', 0.4],
  ] as const) {
    const threat = threatModel(norm, eps);
    const f = runAttack(fabT, classifier, x, y, threat, { config: { steps: 50 }, seed: 1 });
    const p = runAttack(pgd, classifier, x, y, threat, { config: { steps: 50 }, seed: 1 });
    const count = (s: Uint8Array) => s.reduce((a, b) => a + b, 0);
    // Not a theorem for a nonlinear model; on this fixture it holds (seen: FAB-T / PGD fool 15/15, 23/23, 64/62).
    const pgdOnly = Array.from(p.success).filter((v, i) => v && !f.success[i]).length;
    assert.equal(pgdOnly, 0, `${norm}: ${pgdOnly} examples fooled by PGD but not by FAB-T`);
    assert.ok(count(f.success) > 5, `${norm}: FAB-T fools a fair number (${count(f.success)})`);
    tf.dispose([f.xAdv, p.xAdv]);
  }
  tf.dispose([x, y]);
});

test('deterministic given the seed, including random restarts', () => {
  const { classifier, test: data } = mlp();
  const n = 30;
  const x = tf.tensor4d(data.images.slice(0, n * 8), [n, 1, 1, 8]);
  const y = tf.tensor1d(data.labels.slice(0, n), 'int32');
  for (const norm of NORMS) {
    const threat = threatModel(norm, { linf: 0.03, l2: 0.1, l1: 0.3 }[norm]);
    const opts = { config: { steps: 10, restarts: 3, targetClasses: 2 }, seed: 42 };
    const a = runAttack(fabT, classifier, x, y, threat, opts);
    const b = runAttack(fabT, classifier, x, y, threat, opts);
    assert.deepEqual(Array.from(a.xAdv.dataSync()), Array.from(b.xAdv.dataSync()), `${norm}: same seed, same points`);
    assert.deepEqual(a.success, b.success);
    tf.dispose([a.xAdv, b.xAdv]);
  }
  tf.dispose([x, y]);
});

/** Counts the model's forward passes. */
function counting(model: Classifier) {
  const state = { calls: 0 };
  const wrapped: Classifier = {
    ...model,
    logits: (x) => {
      state.calls++;
      return model.logits(x);
    },
  };
  return { wrapped, state };
}

test('fewer than 2 classes is an AttackError; targetClasses is capped at K − 1; bad configs are ConfigErrors', () => {
  const one = linearClassifier([[1], [2]], [0], [1, 1, 2]);
  const x1 = tf.tensor4d([0.3, 0.6], [1, 1, 1, 2]);
  const y1 = tf.tensor1d([0], 'int32');
  assert.throws(
    () => runAttack(fabT, one, x1, y1, threatModel('l2', 0.1)),
    (e: unknown) => e instanceof AttackError && e.code === 'E_ATTACK' && /at least 2 classes/.test(e.message),
  );
  tf.dispose([x1, y1]);

  // K = 3: 9 requested targets become 2. With ε tiny no example is ever done, so every run goes its full length
  // and the number of forward passes counts the runs.
  const { model, x, y } = (() => {
    const three = linearClassifier(
      [
        [1, 0, -1],
        [0, 1, 1],
      ],
      [0, 0, 0],
      [1, 1, 2],
    );
    const xx = tf.tensor4d([0.9, 0.2, 0.6, 0.1, 0.8, 0.5], [3, 1, 1, 2]);
    const yy = tf.tidy(() => tf.argMax(three.logits(xx), 1)) as tf.Tensor1D;
    return { model: three, x: xx, y: yy };
  })();
  const threat = threatModel('linf', 1e-6);
  const calls = (targetClasses: number) => {
    const { wrapped, state } = counting(model);
    const r = runAttack(fabT, wrapped, x, y, threat, { config: { steps: 5, targetClasses } });
    r.xAdv.dispose();
    return state.calls;
  };
  const [c1, c2, c9] = [calls(1), calls(2), calls(9)];
  assert.ok(c2 > c1, `two targets run longer than one (${c2} vs ${c1})`);
  assert.equal(c9, c2, 'K = 3: targetClasses 9 runs exactly the 2 other classes');
  // 2 classes work: one target.
  const two = linearClassifier(
    [
      [1, 0],
      [0, 1],
    ],
    [0, 0],
    [1, 1, 2],
  ); // boundary x_1 = x_2: L2 distances 0.49, 0.35, 0.21
  const y2 = tf.tidy(() => tf.argMax(two.logits(x), 1)) as tf.Tensor1D;
  const r2 = runAttack(fabT, two, x, y2, threatModel('l2', 0.5));
  assert.deepEqual(Array.from(r2.success), [1, 1, 1], 'a 2-class model is attacked');
  tf.dispose([r2.xAdv, y2]);

  for (const [key, value] of [
    ['steps', 0],
    ['restarts', 1.5],
    ['targetClasses', 0],
    ['alphaMax', 2],
    ['eta', 0],
    ['beta', 0],
  ] as const) {
    assert.throws(
      () => runAttack(fabT, model, x, y, threat, { config: { [key]: value } }),
      (e: unknown) => e instanceof ConfigError && e.option === key,
      key,
    );
  }
  tf.dispose([x, y]);
});

test('tensors: none leak, the count at the model is the same after 5 and 40 steps; host reads: 1 + one per run', async () => {
  const { classifier, test: data } = mlp();
  const n = 20;
  const x = tf.tensor4d(data.images.slice(0, n * 8), [n, 1, 1, 8]);
  const y = tf.tensor1d(data.labels.slice(0, n), 'int32');
  const config = { restarts: 2, targetClasses: 2 };
  const peak = (norm: Norm, steps: number) => {
    let max = 0;
    const wrapped: Classifier = {
      ...classifier,
      logits: (xx) => {
        max = Math.max(max, tf.memory().numTensors);
        return classifier.logits(xx);
      },
    };
    const threat = threatModel(norm, 1e-6);
    const before = tf.memory().numTensors;
    const r = runAttack(fabT, wrapped, x, y, threat, { config: { ...config, steps }, seed: 3 });
    r.xAdv.dispose();
    assert.equal(tf.memory().numTensors, before, `${norm}: numTensors before and after runAttack`);
    return max;
  };
  const reads = async (norm: Norm, steps: number) => {
    const threat = threatModel(norm, 1e-6);
    const before = tf.memory().numTensors;
    const { value, calls } = await countDataSync(async () =>
      fabT.propose({ model: classifier, x, labels: y, threat, config: { ...fabT.defaults(threat), ...config, steps }, rng: new Rng(3) }),
    );
    value.dispose();
    assert.equal(tf.memory().numTensors, before, `${norm}: numTensors before and after propose`);
    return calls;
  };
  for (const norm of NORMS) {
    assert.equal(peak(norm, 40), peak(norm, 5), `${norm}: tensors alive at the model do not grow with the number of steps`);
    // ε ≈ 0: no example is ever done, so all 2 targets × 2 restarts = 4 runs happen; none reads inside its steps.
    assert.equal(await reads(norm, 5), 1 + 4, `${norm}: host reads with 5 steps`);
    assert.equal(await reads(norm, 40), 1 + 4, `${norm}: host reads with 40 steps`);
  }
  tf.dispose([x, y]);
});
