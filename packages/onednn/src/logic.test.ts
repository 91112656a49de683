// Native comparisons, logical ops and Select vs tf.js cpu: exact results (bool outputs), NaN / ±0 / ±∞,
// broadcasting patterns, int32 and bool operands, and what falls back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@advlab/node';
import { BROADCAST_PAIRS, compareExact, counts, randomArray, Rng, SKIP, size } from './test-util.ts';

const COMPARISONS: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ['Less', tf.less],
  ['LessEqual', tf.lessEqual],
  ['Greater', tf.greater],
  ['GreaterEqual', tf.greaterEqual],
  ['Equal', tf.equal],
  ['NotEqual', tf.notEqual],
];

const SPECIAL = [NaN, 0, -0, Infinity, -Infinity, 1, -1, 0.5];

/** Random values on a coarse grid (so Equal / LessEqual see ties), with NaN, ±0 and ±∞ sprinkled in. */
function tiedWithSpecials(rng: Rng, n: number): Float32Array {
  const v = randomArray(rng, n, 2).map(Math.round);
  for (let i = 0; i < n; i++) if (rng.next() < 0.1) v[i] = SPECIAL[rng.int(SPECIAL.length)]!;
  return v;
}

test('comparisons of float32 match cpu exactly: NaN, ±0, ±∞, ties, broadcasting', { skip: SKIP }, async () => {
  const rng = new Rng(1);
  for (const [as, bs] of BROADCAST_PAIRS) {
    const av = tiedWithSpecials(rng, size(as)),
      bv = tiedWithSpecials(rng, size(bs));
    for (const [name, f] of COMPARISONS) {
      await compareExact(`${name} [${as}] [${bs}]`, () => f(tf.tensor(av, as), tf.tensor(bv, bs)), { native: [name] });
    }
  }
  // every pair of special values
  const s = Float32Array.from(SPECIAL);
  for (const [name, f] of COMPARISONS) {
    await compareExact(`${name} of special values`, () => f(tf.tensor(s, [8, 1]), tf.tensor(s, [1, 8])), { native: [name] });
  }
});

test('comparisons of int32 and bool match cpu exactly', { skip: SKIP }, async () => {
  const rng = new Rng(2);
  for (const [as, bs] of [BROADCAST_PAIRS[0]!, BROADCAST_PAIRS[7]!, BROADCAST_PAIRS[13]!]) {
    const ai = Int32Array.from(randomArray(rng, size(as), 3).map(Math.round)),
      bi = Int32Array.from(randomArray(rng, size(bs), 3).map(Math.round));
    ai[0] = 2 ** 31 - 1;
    bi[0] = -(2 ** 31);
    const ab = Uint8Array.from(ai.map((v) => (v > 0 ? 1 : 0))),
      bb = Uint8Array.from(bi.map((v) => (v > 0 ? 1 : 0)));
    for (const [name, f] of COMPARISONS) {
      await compareExact(`${name} int32 [${as}] [${bs}]`, () => f(tf.tensor(ai, as, 'int32'), tf.tensor(bi, bs, 'int32')), {
        native: [name],
      });
      await compareExact(`${name} bool [${as}] [${bs}]`, () => f(tf.tensor(ab, as, 'bool'), tf.tensor(bb, bs, 'bool')), { native: [name] });
    }
  }
});

test('comparisons fall back for strings and for more than four broadcast groups', { skip: SKIP }, async () => {
  await compareExact('Equal of strings', () => tf.equal(tf.tensor(['a', 'b', 'c']), tf.tensor(['a', 'x', 'c'])), { fallback: ['Equal'] });
  const as = [2, 1, 2, 1, 2],
    bs = [1, 3, 1, 3, 1];
  const rng = new Rng(3);
  const av = randomArray(rng, size(as)),
    bv = randomArray(rng, size(bs));
  await compareExact('Less, 5 broadcast groups', () => tf.less(tf.tensor(av, as), tf.tensor(bv, bs)), { fallback: ['Less'] });
});

test('LogicalAnd / LogicalOr with broadcasting and LogicalNot match cpu exactly', { skip: SKIP }, async () => {
  const rng = new Rng(4);
  const bools = (n: number) => Uint8Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
  for (const [as, bs] of BROADCAST_PAIRS) {
    const av = bools(size(as)),
      bv = bools(size(bs));
    const a = () => tf.tensor(av, as, 'bool'),
      b = () => tf.tensor(bv, bs, 'bool');
    await compareExact(`LogicalAnd [${as}] [${bs}]`, () => tf.logicalAnd(a(), b()), { native: ['LogicalAnd'] });
    await compareExact(`LogicalOr [${as}] [${bs}]`, () => tf.logicalOr(a(), b()), { native: ['LogicalOr'] });
    await compareExact(`LogicalNot [${as}]`, () => tf.logicalNot(a()), { native: ['LogicalNot'] });
  }
});

test('Select matches cpu exactly for float32, int32 and bool; tf.where broadcasts natively', { skip: SKIP }, async () => {
  const rng = new Rng(5);
  for (const shape of [[7], [3, 4, 5], [420, 784]]) {
    const n = size(shape);
    const c = Uint8Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
    const t = tiedWithSpecials(rng, n),
      e = tiedWithSpecials(rng, n);
    const cond = () => tf.tensor(c, shape, 'bool');
    await compareExact(`Select float32 [${shape}]`, () => tf.where(cond(), tf.tensor(t, shape), tf.tensor(e, shape)), {
      native: ['Select'],
    });
    const ti = Int32Array.from(t.map((v) => (Number.isFinite(v) ? v : 7))),
      ei = Int32Array.from(e.map((v) => (Number.isFinite(v) ? v : -7)));
    await compareExact(`Select int32 [${shape}]`, () => tf.where(cond(), tf.tensor(ti, shape, 'int32'), tf.tensor(ei, shape, 'int32')), {
      native: ['Select'],
    });
    await compareExact(
      `Select bool [${shape}]`,
      () => tf.where(cond(), tf.greater(tf.tensor(t, shape), 0), tf.less(tf.tensor(e, shape), 0)),
      {
        native: ['Select'],
      },
    );
  }
  // a per-example condition [n, 1]: tf.where tiles it (bool Tile), then selects
  const x = randomArray(rng, 420 * 784),
    y = randomArray(rng, 420 * 784),
    m = randomArray(rng, 420);
  await compareExact(
    'where([n, 1] mask, x, y)',
    () => tf.where(tf.greater(tf.tensor(m, [420, 1]), 0), tf.tensor(x, [420, 784]), tf.tensor(y, [420, 784])),
    {
      native: ['Greater', 'Tile', 'Select'],
    },
  );
});

test("Select with a rank-1 condition over rows keeps tf.js's cpu result (it falls back)", { skip: SKIP }, async () => {
  // Not reachable through tf.where (it broadcasts first): tf.js's cpu kernel then repeats t[i] / e[i] along
  // row i, and the native kernel leaves that to it.
  const run = () =>
    tf.engine().runKernel('Select', {
      condition: tf.tensor1d([1, 0, 1], 'bool'),
      t: tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]),
      e: tf.tensor2d([-1, -2, -3, -4, -5, -6], [3, 2]),
    }) as tf.Tensor;
  await compareExact('Select rank-1 condition', run, { fallback: ['Select'] });
  await useBackend('onednn');
  const before = counts('Select').native;
  tf.tidy(() => void run());
  assert.equal(counts('Select').native, before);
});

test('an int32 tensor on a bool store (tf.js cpu Cast shares it) falls back', { skip: SKIP }, async () => {
  const asInt = () => tf.cast(tf.tensor1d([1, 0, 1, 1], 'bool'), 'int32');
  await compareExact('Less', () => tf.less(asInt(), tf.tensor1d([1, 1, 1, 1], 'int32')), { fallback: ['Less'] });
  await compareExact('Tile', () => tf.tile(asInt(), [3]), { fallback: ['Tile'] });
  await compareExact('GatherV2', () => tf.gather(asInt(), tf.tensor1d([3, 1], 'int32')), { fallback: ['GatherV2'] });
});
