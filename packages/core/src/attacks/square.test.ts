import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu, linearClassifier, trainedMlp } from '../testing/fixtures.ts';
import { tinyCnnLayersModel, tinyCnnWeights } from '../testing/graph-model.ts';
import { type Classifier, classifierFromLayersModel } from '../models/classifier.ts';
import { type ThreatModel, threatModel } from '../threat/threat.ts';
import { Rng } from '../util/rng.ts';
import { apgdCe } from './apgd.ts';
import { runAttack } from './run.ts';
import { square, squareEta, squareMargin, squareP, squareSearch, squareWindowSize } from './square.ts';

await cpu();

/** A fixed linear classifier on [h, w, c] images with K classes; weights scaled by `scale` (1/255 for a [0, 255] model). */
function imageLinear(shape: [number, number, number], k: number, seed: number, scale = 1): Classifier {
  const rng = new Rng(seed);
  const d = shape[0] * shape[1] * shape[2];
  const w = Array.from({ length: d }, () => Array.from({ length: k }, () => (scale * rng.normal()) / Math.sqrt(d)));
  return linearClassifier(
    w,
    Array.from({ length: k }, () => 0),
    shape,
  );
}

/** n images in [lo, hi] (a tenth of the coordinates exactly on the box's edges), labelled by the model's own prediction. */
function imagesFor(model: Classifier, n: number, seed: number, bounds: readonly [number, number] = [0, 1]) {
  const rng = new Rng(seed);
  const [h, w, c] = model.inputShape;
  const [lo, hi] = bounds;
  const data = Float32Array.from({ length: n * h * w * c }, () => {
    const u = rng.next();
    return u < 0.05 ? lo : u < 0.1 ? hi : lo + (hi - lo) * rng.next();
  });
  const x = tf.tensor4d(data, [n, h, w, c]);
  const y = tf.tidy(() => tf.cast(tf.argMax(model.logits(x), 1), 'int32') as tf.Tensor1D);
  return { x, y, data };
}

/** Per example: the distance ‖a_i − b_i‖ in `norm`, on the host (float64). */
function hostDistances(a: ArrayLike<number>, b: ArrayLike<number>, n: number, norm: 'linf' | 'l2'): number[] {
  const d = a.length / n;
  return Array.from({ length: n }, (_, i) => {
    let acc = 0;
    for (let j = 0; j < d; j++) {
      const v = a[i * d + j]! - b[i * d + j]!;
      acc = norm === 'linf' ? Math.max(acc, Math.abs(v)) : acc + v * v;
    }
    return norm === 'l2' ? Math.sqrt(acc) : acc;
  });
}

test('squareP follows AutoAttack’s schedule at the published breakpoints, rescaled to the query budget', () => {
  const p0 = 0.8;
  // 10000 queries: p halves after iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000.
  const at10000: [number, number][] = [
    [0, 0.8],
    [10, 0.8],
    [11, 0.4],
    [50, 0.4],
    [51, 0.2],
    [200, 0.2],
    [201, 0.1],
    [500, 0.1],
    [501, 0.05],
    [1000, 0.05],
    [1001, 0.025],
    [2000, 0.025],
    [2001, 0.0125],
    [4000, 0.0125],
    [4001, 0.00625],
    [6000, 0.00625],
    [6001, 0.003125],
    [8000, 0.003125],
    [8001, 0.0015625],
    [9999, 0.0015625],
  ];
  for (const [it, p] of at10000) assert.equal(squareP(p0, it, 10000), p, `10000 queries, iteration ${it}`);
  // 5000 queries: it' = trunc(it / 5000 · 10000) = 2·it, so the breakpoints fall at 5, 25, 100, 250, 500, 1000, 2000, 3000, 4000.
  const at5000: [number, number][] = [
    [0, 0.8],
    [5, 0.8],
    [6, 0.4],
    [25, 0.4],
    [26, 0.2],
    [100, 0.2],
    [101, 0.1],
    [250, 0.1],
    [251, 0.05],
    [500, 0.05],
    [501, 0.025],
    [1000, 0.025],
    [1001, 0.0125],
    [2000, 0.0125],
    [2001, 0.00625],
    [3000, 0.00625],
    [3001, 0.003125],
    [4000, 0.003125],
    [4001, 0.0015625],
    [4999, 0.0015625],
  ];
  for (const [it, p] of at5000) assert.equal(squareP(p0, it, 5000), p, `5000 queries, iteration ${it}`);
  // 100 queries: it' = 100·it, so iteration 1 is already past the breakpoints 10 and 50.
  assert.deepEqual(
    [0, 1, 2, 3, 5, 6].map((it) => squareP(1, it, 100)),
    [1, 0.25, 0.25, 0.125, 0.125, 0.0625],
  );

  // Window side: round(√(p·h·w)) with Python's ties-to-even, ≥ 1 (L∞) or ≥ 3 and odd (L2), ≤ min(h, w).
  assert.equal(squareWindowSize('linf', 0.8, [32, 32, 3]), 29);
  assert.equal(squareWindowSize('linf', 0.05, [32, 32, 3]), 7);
  assert.equal(squareWindowSize('l2', 0.1, [32, 32, 3]), 11); // round(10.12) = 10, made odd
  assert.equal(squareWindowSize('linf', 0.25, [5, 5, 1]), 2, 'round(2.5) = 2 (ties to even, as Python)');
  assert.equal(squareWindowSize('linf', 0.25, [7, 7, 1]), 4, 'round(3.5) = 4');
  assert.equal(squareWindowSize('l2', 0.001, [32, 32, 3]), 3);
  assert.equal(squareWindowSize('linf', 0.0001, [32, 32, 3]), 1);
  assert.equal(squareWindowSize('l2', 0.8, [1, 1, 8]), 1, 'never larger than the image');
  // The L2 pattern η: unit norm, positive bump on top, negative below (AutoAttack's `eta`).
  for (const s of [1, 3, 5, 8]) {
    const eta = squareEta(s);
    assert.ok(Math.abs(Math.hypot(...eta) - 1) < 1e-6, `η(${s}) has unit norm`);
  }
  assert.deepEqual(
    Array.from(squareEta(3), (v) => +v.toFixed(6)),
    [0.136083, 0.680414, 0.136083, -0.129099, -0.129099, -0.129099, -0.129099, -0.645497, -0.129099],
  );
});

test('margin, config and norm checks: z_y − max others; bad queries/pInit are ConfigErrors; L1 is refused naming the norm', () => {
  const m = squareMargin(
    tf.tensor2d([
      [3, 1, 2],
      [0, 5, 1],
    ]),
    tf.tensor1d([0, 2], 'int32'),
  );
  assert.deepEqual(Array.from(m.dataSync()), [1, -4]);
  m.dispose();
  const model = imageLinear([4, 4, 1], 3, 1);
  const { x, y } = imagesFor(model, 3, 2);
  assert.throws(
    () => runAttack(square, model, x, y, threatModel('l1', 1)),
    (e: any) => e.code === 'E_ATTACK' && /l1 norm is not supported/.test(e.message) && /linf and l2/.test(e.message),
  );
  assert.throws(
    () => runAttack(square, model, x, y, threatModel('linf', 0.1), { config: { queries: 0 } }),
    (e: any) => e.code === 'E_CONFIG' && /^queries: /.test(e.message),
  );
  assert.throws(
    () => runAttack(square, model, x, y, threatModel('linf', 0.1), { config: { pInit: 1.5 } }),
    (e: any) => e.code === 'E_CONFIG' && /^pInit: /.test(e.message),
  );
  const d = square.defaults(threatModel('linf', 8 / 255));
  assert.deepEqual(d, { queries: 5000, pInit: 0.8 });
  assert.equal(square.cost(d), 5001, 'forward passes: the initial point plus one per iteration');
  assert.equal(square.targeted, false);
  tf.dispose([x, y]);
});

for (const bounds of [
  [0, 1],
  [0, 255],
] as const) {
  test(`every point Square queries, and its proposal, lies in ball ∩ box (L∞ and L2, bounds [${bounds.join(', ')}])`, () => {
    const scale = bounds[1] - bounds[0];
    const model = imageLinear([6, 6, 2], 4, 3, 1 / scale);
    const n = 16;
    const { x, y, data } = imagesFor(model, n, 4, bounds);
    for (const [norm, eps] of [
      ['linf', 0.1 * scale],
      ['l2', 0.6 * scale],
    ] as const) {
      const th: ThreatModel = threatModel(norm, eps, { bounds });
      // float32 coordinates of size ~hi carry a relative round-off of ~1e-7.
      const tol = norm === 'linf' ? 1e-6 * scale : 1e-5 * scale;
      const seen: Float32Array[] = [];
      const spy: Classifier = {
        ...model,
        logits: (q) => {
          seen.push(q.dataSync() as Float32Array);
          return model.logits(q);
        },
      };
      const r = squareSearch(spy, x, y, th, { queries: 60, pInit: 0.8 }, new Rng(9));
      assert.ok(seen.length >= 2, 'the model was queried');
      // Queries are compacted to the survivors: each queried row must be within ε of its own clean image, the
      // nearest one (the clean images are far apart compared with ε).
      const d = data.length / n;
      for (const q of seen) {
        for (let row = 0; row < q.length / d; row++) {
          const pt = q.subarray(row * d, (row + 1) * d);
          for (const v of pt) assert.ok(v >= bounds[0] && v <= bounds[1], `${norm}: queried coordinate ${v} outside the box`);
          const nearest = Math.min(
            ...hostDistances(
              new Float32Array(n * d).map((_, j) => pt[j % d]!),
              data,
              n,
              norm,
            ),
          );
          assert.ok(nearest <= eps + tol, `${norm}: a queried point lies ${nearest} from every clean image (ε = ${eps})`);
        }
      }
      const adv = r.xAdv.dataSync();
      for (const v of adv) assert.ok(v >= bounds[0] && v <= bounds[1], `${norm}: proposal coordinate ${v} outside the box`);
      const dist = hostDistances(adv, data, n, norm);
      dist.forEach((dd, i) => {
        assert.ok(dd <= eps + tol, `${norm}: example ${i} at distance ${dd} > ε = ${eps}`);
      });
      // The search really moves: L∞ starts on the vertices, L2 on the sphere (unless the box clipped it).
      assert.ok(Math.max(...dist) > 0.9 * eps, `${norm}: the proposal uses the budget (${Math.max(...dist)})`);
      r.xAdv.dispose();
    }
    tf.dispose([x, y]);
  });
}

test('per-example margin never increases; a fooled example is frozen and no longer queried', () => {
  const model = imageLinear([6, 6, 1], 4, 5);
  const n = 24;
  const { x, y } = imagesFor(model, n, 6);
  for (const [norm, eps] of [
    ['linf', 0.04],
    ['l2', 0.25],
  ] as const) {
    const history: Float32Array[] = [];
    const queries = 80;
    const r = squareSearch(model, x, y, threatModel(norm, eps), { queries, pInit: 0.8 }, new Rng(2), (t, m) => {
      assert.equal(t, history.length, 'observer called once per iteration, in order');
      history.push(m);
    });
    assert.equal(history.length, r.iterations + 1);
    let decreased = 0;
    for (let i = 0; i < n; i++) {
      let firstFooled = -1;
      for (let t = 1; t < history.length; t++) {
        const [before, after] = [history[t - 1]![i]!, history[t]![i]!];
        assert.ok(after <= before, `${norm}: example ${i}'s margin rose at iteration ${t}: ${before} → ${after}`);
        if (after < before) decreased++;
        if (before < 0) assert.equal(after, before, `${norm}: example ${i} is frozen once fooled`);
      }
      for (let t = 0; t < history.length && firstFooled < 0; t++) if (history[t]![i]! < 0) firstFooled = t;
      // The initial point costs 1 query; then one per iteration until (and including) the one that fooled it.
      const expected = firstFooled < 0 ? 1 + r.iterations : 1 + firstFooled;
      assert.equal(r.queries[i], expected, `${norm}: example ${i} was queried ${r.queries[i]} times, expected ${expected}`);
      assert.equal(r.margins[i], history.at(-1)![i]);
    }
    assert.ok(decreased > n, `${norm}: the search lowers margins (${decreased} decreases)`);
    const fooled = r.margins.filter((v) => v < 0).length;
    assert.ok(fooled > 0 && fooled < n, `${norm}: fixture fools some but not all (${fooled}/${n})`);
    // The margins the search reports are those of its proposal.
    const check = tf.tidy(() => squareMargin(model.logits(r.xAdv), y).dataSync());
    check.forEach((v, i) => {
      assert.ok(Math.abs(v - r.margins[i]!) < 1e-5, `${norm}: example ${i}: margin ${v} vs reported ${r.margins[i]}`);
    });
    r.xAdv.dispose();
  }
  tf.dispose([x, y]);
});

test('deterministic: the same seed gives the identical proposal, another seed a different one', () => {
  const model = imageLinear([6, 6, 2], 3, 7);
  const { x, y } = imagesFor(model, 10, 8);
  for (const [norm, eps] of [
    ['linf', 0.03],
    ['l2', 0.2],
  ] as const) {
    const th = threatModel(norm, eps);
    const run = (seed: number) => {
      const adv = square.propose({ model, x, labels: y, threat: th, config: { queries: 40, pInit: 0.8 }, rng: new Rng(seed) });
      const v = adv.dataSync().slice();
      adv.dispose();
      return v;
    };
    const a = run(11);
    assert.deepEqual(run(11), a, `${norm}: same seed, same proposal`);
    assert.notDeepEqual(run(12), a, `${norm}: another seed, another proposal`);
  }
  tf.dispose([x, y]);
});

test('Square lowers the accuracy of trained / random small models through the trust boundary', () => {
  // A trained MLP on 1×1×8 "images": every window is the whole image, i.e. a random search over the ε-vertices.
  const { classifier, test: data } = trainedMlp(4, 8, 4);
  const n = 200;
  const x = tf.tensor4d(data.images.slice(0, n * 8), [n, 1, 1, 8]);
  const y = tf.tensor1d(data.labels.slice(0, n), 'int32');
  const clean = tf.tidy(() => Array.from(tf.equal(tf.argMax(classifier.logits(x), 1), y).dataSync()));
  const cleanAcc = clean.reduce((a, b) => a + b, 0) / n;
  const r = runAttack(square, classifier, x, y, threatModel('linf', 0.05), { config: { queries: 100 }, seed: 1 });
  const robust = clean.filter((c, i) => c && !r.success[i]).length / n;
  assert.ok(cleanAcc > 0.8, `fixture trains: ${cleanAcc}`);
  assert.ok(robust < cleanAcc - 0.05, `Square (L∞) lowers accuracy: ${robust} vs clean ${cleanAcc}`);
  tf.dispose([x, y, r.xAdv]);

  // A random tiny CNN on 6×6×1 images, labelled by itself: Square fools a good share under L∞ and L2.
  const spec = { inputShape: [6, 6, 1] as [number, number, number], filters: 4, kernelSize: 3, numClasses: 4 };
  const m = tinyCnnLayersModel(tinyCnnWeights(spec, 21));
  const cnn = classifierFromLayersModel(m);
  const k = 40;
  const xi = tf.randomUniform([k, 6, 6, 1], 0, 1, 'float32', 12) as tf.Tensor4D;
  const yi = tf.tidy(() => tf.cast(tf.argMax(cnn.logits(xi), 1), 'int32') as tf.Tensor1D);
  for (const [norm, eps] of [
    ['linf', 0.04],
    ['l2', 0.3],
  ] as const) {
    const rr = runAttack(square, cnn, xi, yi, threatModel(norm, eps), { config: { queries: 150 }, seed: 2 });
    const fooled = rr.success.reduce((a, b) => a + b, 0);
    assert.ok(fooled >= 0.2 * k, `${norm}: Square fools ${fooled}/${k}`);
    tf.dispose(rr.xAdv);
  }
  tf.dispose([xi, yi]);
  m.dispose();
});

test('gradient masking by quantisation: APGD-CE breaks (almost) nothing, Square breaks a clear fraction', () => {
  // logits = W · round(4x)/4: tf.round's gradient is 0 in tf.js, so every input gradient vanishes, while the
  // decision still moves when a coordinate crosses a quantisation boundary (k + ½)/4.
  const shape: [number, number, number] = [6, 6, 1];
  const inner = imageLinear(shape, 3, 13);
  const quantised: Classifier = {
    ...inner,
    name: 'quantised',
    logits: (q) => tf.tidy(() => inner.logits(tf.div(tf.round(tf.mul(q, 4)), 4))),
  };
  const n = 60;
  const { x, y } = imagesFor(quantised, n, 14);
  const th = threatModel('linf', 0.15);
  const grad = tf.tidy(() => tf.grad((q: tf.Tensor) => tf.sum(quantised.logits(q as tf.Tensor4D)))(x));
  assert.equal(tf.max(tf.abs(grad)).dataSync()[0], 0, 'the input gradient is masked (exactly 0)');
  grad.dispose();
  const ap = runAttack(apgdCe, quantised, x, y, th, { config: { steps: 20 }, seed: 3 });
  const sq = runAttack(square, quantised, x, y, th, { config: { queries: 200 }, seed: 3 });
  const apFooled = ap.success.reduce((a, b) => a + b, 0);
  const sqFooled = sq.success.reduce((a, b) => a + b, 0);
  assert.ok(apFooled <= 0.1 * n, `APGD-CE is blinded by the masked gradient: fools ${apFooled}/${n}`);
  assert.ok(sqFooled >= 0.3 * n, `Square does not need gradients: fools ${sqFooled}/${n}`);
  assert.ok(sqFooled >= apFooled + 0.2 * n);
  tf.dispose([x, y, ap.xAdv, sq.xAdv]);
});

test('tf.js memory: numTensors is flat across iterations and the same before and after propose', () => {
  const model = imageLinear([6, 6, 2], 4, 15);
  const { x, y } = imagesFor(model, 20, 16);
  for (const [norm, eps] of [
    ['linf', 0.02],
    ['l2', 0.1],
  ] as const) {
    const th = threatModel(norm, eps);
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const r = squareSearch(model, x, y, th, { queries: 30, pInit: 0.8 }, new Rng(1), () => counts.push(tf.memory().numTensors));
    assert.ok(
      r.margins.some((v) => v >= 0),
      'some examples survive, so the working set lives through every iteration',
    );
    assert.equal(new Set(counts.slice(1)).size, 1, `${norm}: tensors per iteration ${counts.join(',')}`);
    r.xAdv.dispose();
    assert.equal(tf.memory().numTensors, before, `${norm}: squareSearch leaves no tensor behind`);
    const args = { model, x, labels: y, threat: th, config: { queries: 30, pInit: 0.8 } };
    const a = square.propose({ ...args, rng: new Rng(2) });
    a.dispose();
    const between = tf.memory().numTensors;
    const b = square.propose({ ...args, rng: new Rng(3) });
    b.dispose();
    assert.equal(between, before, `${norm}: propose leaves no tensor behind`);
    assert.equal(tf.memory().numTensors, before, `${norm}: flat across two calls`);
  }
  tf.dispose([x, y]);
});
