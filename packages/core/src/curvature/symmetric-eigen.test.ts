import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.ts';
import { symmetricEigen, tridiagonal } from './symmetric-eigen.ts';

test('symmetricEigen: A·v = λ·v, orthonormal vectors, ascending values, on random symmetric matrices', () => {
  const rng = new Rng(5);
  for (const n of [1, 2, 7, 40]) {
    const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i]![j] = a[j]![i] = rng.normal();
    const { values, vectors } = symmetricEigen(a);
    assert.equal(values.length, n);
    for (let k = 1; k < n; k++) assert.ok(values[k]! >= values[k - 1]!);
    for (let k = 0; k < n; k++) {
      const v = vectors[k]!;
      for (let i = 0; i < n; i++) {
        const av = a[i]!.reduce((s, x, j) => s + x * v[j]!, 0);
        assert.ok(Math.abs(av - values[k]! * v[i]!) < 1e-10, `n=${n}: residual of pair ${k} at ${i}`);
      }
      for (let l = 0; l < n; l++) {
        const d = v.reduce((s, x, i) => s + x * vectors[l]![i]!, 0);
        assert.ok(Math.abs(d - (k === l ? 1 : 0)) < 1e-12, `n=${n}: ⟨v${k}, v${l}⟩ = ${d}`);
      }
    }
    const trace = a.reduce((s, row, i) => s + row[i]!, 0);
    assert.ok(Math.abs(values.reduce((s, x) => s + x, 0) - trace) < 1e-10);
  }
});

test('symmetricEigen of tridiagonal(2, −1) gives 2 − 2·cos(kπ/(n+1))', () => {
  const n = 30;
  const { values } = symmetricEigen(tridiagonal(new Array(n).fill(2), new Array(n - 1).fill(-1)));
  for (const [k, v] of values.entries()) assert.ok(Math.abs(v - (2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)))) < 1e-12);
});

test('symmetricEigen and tridiagonal reject shapes that are not square / consistent', () => {
  assert.throws(() => symmetricEigen([[1, 2], [3]]), /a 2×2 matrix has a row of length 1/);
  assert.throws(() => tridiagonal([1, 2, 3], [1]), /3 diagonal entries need 2 off-diagonal ones, got 1/);
  assert.deepEqual(tridiagonal([4], []), [[4]]);
});
