import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu } from '../testing/fixtures.ts';
import { threatModel, parseNorm } from './threat.ts';
import { GEOMETRY } from './norms.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError } from '../errors.ts';

await cpu();

const t4 = (v: number[]) => tf.tensor4d(v, [1, 1, 1, v.length]);

test('L∞ projection clips to the ball then the box', () => {
  const th = threatModel('linf', 0.1);
  const x = t4([0.5, 0.05, 0.95]);
  const out = th.project(t4([0.9, -0.5, 0.99]), x);
  assert.deepEqual(
    Array.from(out.dataSync()).map((v) => +v.toFixed(6)),
    [0.6, 0, 0.99],
  );
});

test('L2 ball projection equals a brute-force Euclidean projection (box inactive)', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 20; trial++) {
    const x = [0.5, 0.5];
    const eps = 0.15;
    const v = [0.5 + 0.4 * (rng.next() - 0.5), 0.5 + 0.4 * (rng.next() - 0.5)];
    const got = Array.from(threatModel('l2', eps).project(t4(v), t4(x)).dataSync());
    // Brute force: the closest of dense polar samples of the disk (spacing ≤ eps·2π/7200 ≈ 1.3e-4).
    let best = [0, 0];
    let bestD = Infinity;
    for (let i = 0; i <= 300; i++)
      for (let j = 0; j < 7200; j++) {
        const r = (eps * i) / 300;
        const th = (2 * Math.PI * j) / 7200;
        const p = [x[0]! + r * Math.cos(th), x[1]! + r * Math.sin(th)];
        const d = Math.hypot(p[0]! - v[0]!, p[1]! - v[1]!);
        if (d < bestD) [bestD, best] = [d, p];
      }
    assert.ok(Math.hypot(got[0]! - best[0]!, got[1]! - best[1]!) < 5e-4, `trial ${trial}: ${got} vs ${best}`);
  }
});

test('L1 ball projection equals a brute-force Euclidean projection', () => {
  const rng = new Rng(4);
  for (let trial = 0; trial < 20; trial++) {
    const eps = 0.2;
    const v = [0.6 * (rng.next() - 0.5), 0.6 * (rng.next() - 0.5)];
    const got = Array.from(GEOMETRY.l1.projectBall(tf.tensor4d(v, [1, 1, 1, 2]), eps).dataSync());
    // Brute force: v itself if inside, else the closest of dense samples of the diamond's edges.
    let best = v;
    let bestD = Math.abs(v[0]!) + Math.abs(v[1]!) <= eps ? 0 : Infinity;
    if (bestD > 0)
      for (const [sx, sy] of [
        [1, 1],
        [1, -1],
        [-1, 1],
        [-1, -1],
      ])
        for (let i = 0; i <= 20000; i++) {
          const p = [(sx! * eps * i) / 20000, sy! * eps * (1 - i / 20000)];
          const d = Math.hypot(p[0]! - v[0]!, p[1]! - v[1]!);
          if (d < bestD) [bestD, best] = [d, p];
        }
    assert.ok(Math.hypot(got[0]! - best[0]!, got[1]! - best[1]!) < 5e-4, `trial ${trial}: ${got} vs ${best}`);
  }
});

test('projection lands in ball ∩ box for every norm, and leaves interior points alone', () => {
  const rng = new Rng(5);
  for (const norm of ['linf', 'l2', 'l1'] as const) {
    const th = threatModel(norm, 0.3);
    const x = tf.randomUniform([16, 4, 4, 1], 0, 1, 'float32', rng.seed()) as tf.Tensor4D;
    const far = tf.randomUniform([16, 4, 4, 1], -2, 3, 'float32', rng.seed()) as tf.Tensor4D;
    const p = th.project(far, x);
    const d = th.distance(p, x).dataSync();
    for (const v of d) assert.ok(v <= 0.3 * (1 + 1e-5), `${norm}: ${v}`);
    assert.ok(tf.min(p).dataSync()[0]! >= 0 && tf.max(p).dataSync()[0]! <= 1);
    const inside = th.project(x, x);
    assert.equal(tf.max(tf.abs(tf.sub(inside, x))).dataSync()[0], 0);
    tf.dispose([x, far, p, inside]);
  }
});

test('random init is inside the ball and the box and differs by seed', () => {
  for (const norm of ['linf', 'l2', 'l1'] as const) {
    const th = threatModel(norm, 0.2);
    const x = tf.fill([8, 3, 3, 1], 0.5) as tf.Tensor4D;
    const a = th.randomInit(x, new Rng(1));
    const b = th.randomInit(x, new Rng(2));
    for (const v of th.distance(a, x).dataSync()) assert.ok(v <= 0.2 + 1e-6);
    assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! > 0);
    tf.dispose([x, a, b]);
  }
});

test('ascent direction has unit norm and maximises ⟨g, s⟩', () => {
  const g = tf.tensor4d([0.3, -2, 0.5, 1], [1, 1, 1, 4]);
  assert.deepEqual(Array.from(threatModel('linf', 1).ascent(g).dataSync()), [1, -1, 1, 1]);
  const s2 = threatModel('l2', 1).ascent(g).dataSync();
  assert.ok(Math.abs(Math.hypot(...s2) - 1) < 1e-6);
  assert.deepEqual(Array.from(threatModel('l1', 1).ascent(g).dataSync()), [0, -1, 0, 0]);
});

test('bad norms and ε are typed errors naming the flag', () => {
  assert.throws(
    () => threatModel('linf', -0.1),
    (e: any) => e.code === 'E_CONFIG' && /^eps: /.test(e.message),
  );
  assert.throws(
    () => parseNorm('l3'),
    (e: any) => e.code === 'E_CONFIG' && /^norm: /.test(e.message),
  );
  assert.equal(parseNorm('Linf'), 'linf');
  assert.equal(parseNorm('L2'), 'l2');
});

test('bounds: default [0, 1]; project and randomInit clip to the given box; withEps keeps it; toString shows it', () => {
  const th = threatModel('linf', 0.1);
  assert.deepEqual(th.bounds, [0, 1]);
  assert.equal(th.toString(), 'linf eps=0.1');
  assert.deepEqual(threatModel('l2', 0.5, { bounds: [0, 1] }).toString(), 'l2 eps=0.5');
  const t255 = threatModel('linf', 25.5, { bounds: [0, 255] });
  assert.deepEqual(t255.bounds, [0, 255]);
  assert.equal(t255.toString(), 'linf eps=25.5 bounds=[0, 255]');
  const w = t255.withEps(8);
  assert.equal(w.eps, 8);
  assert.deepEqual(w.bounds, [0, 255]);
  assert.equal(w.toString(), 'linf eps=8 bounds=[0, 255]');
  // clipping at the box of the threat, not at [0, 1]
  const out = t255.project(t4([300, -40, 100]), t4([250, 10, 90]));
  assert.deepEqual(
    Array.from(out.dataSync()).map((v) => +v.toFixed(4)),
    [255, 0, 100],
  );
  const sym = threatModel('linf', 0.5, { bounds: [-1, 1] });
  assert.deepEqual(
    Array.from(sym.project(t4([-2, 2, 0.2]), t4([-0.9, 0.9, 0])).dataSync()).map((v) => +v.toFixed(6)),
    [-1, 1, 0.2],
  );
  for (const norm of ['linf', 'l2', 'l1'] as const) {
    const t = threatModel(norm, 60, { bounds: [0, 255] });
    const x = tf.fill([16, 3, 3, 1], 240) as tf.Tensor4D;
    const r = t.randomInit(x, new Rng(4));
    assert.ok(tf.max(r).dataSync()[0]! <= 255 && tf.min(r).dataSync()[0]! >= 0);
    assert.ok(tf.max(r).dataSync()[0]! > 1, `${norm}: not clipped to [0, 1]`);
    for (const v of t.distance(r, x).dataSync()) assert.ok(v <= 60 * (1 + 1e-5));
    tf.dispose([x, r]);
  }
  tf.dispose(out);
});

test('projection is scale-equivariant: [0,255] with ε·255 is 255 × ([0,1] with ε), for every norm', () => {
  const rng = new Rng(9);
  for (const [norm, eps] of [
    ['linf', 0.1],
    ['l2', 0.4],
    ['l1', 1.5],
  ] as const) {
    const x = tf.randomUniform([8, 4, 4, 2], 0, 1, 'float32', rng.seed()) as tf.Tensor4D;
    const far = tf.randomUniform([8, 4, 4, 2], -1, 2, 'float32', rng.seed()) as tf.Tensor4D;
    const p1 = threatModel(norm, eps).project(far, x);
    const p255 = threatModel(norm, eps * 255, { bounds: [0, 255] }).project(tf.mul(far, 255) as tf.Tensor4D, tf.mul(x, 255) as tf.Tensor4D);
    const diff = tf.max(tf.abs(tf.sub(tf.div(p255, 255), p1))).dataSync()[0]!;
    assert.ok(diff < 1e-5, `${norm}: ${diff}`);
    tf.dispose([x, far, p1, p255]);
  }
});

test('bad bounds: a ConfigError naming `bounds`', () => {
  for (const b of [[1, 0], [0, 0], [0, Infinity], [NaN, 1], [0], [0, 1, 2]]) {
    assert.throws(
      () => threatModel('linf', 0.1, { bounds: b as unknown as [number, number] }),
      (e: any) =>
        e instanceof ConfigError && e.option === 'bounds' && /^bounds: expected two finite numbers \[lo, hi\] with lo < hi/.test(e.message),
      JSON.stringify(b),
    );
  }
});
