/**
 * Eigen-decomposition of a small dense symmetric matrix on the host, by cyclic Jacobi rotations: what Lanczos
 * needs for its tridiagonal matrix (at most a few hundred rows). Slower than QR for large matrices, but simple,
 * accurate to the last bits for symmetric input and yields orthonormal eigenvectors directly.
 */

/** Eigenvalues in ascending order; `vectors[j]` is the unit eigenvector of `values[j]`. */
export interface SymmetricEigen {
  values: number[];
  vectors: number[][];
}

/** Eigenvalues and eigenvectors of the symmetric matrix `a` (rows; only symmetry up to rounding is assumed). */
export function symmetricEigen(a: readonly (readonly number[])[]): SymmetricEigen {
  const n = a.length;
  for (const row of a) {
    if (row.length !== n) throw new RangeError(`symmetricEigen: a ${n}×${n} matrix has a row of length ${row.length}`);
  }
  const m = a.map((row) => Float64Array.from(row));
  const v = Array.from({ length: n }, (_, i) => {
    const r = new Float64Array(n);
    r[i] = 1;
    return r;
  });
  const offNorm = () => {
    let s = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) s += m[i]![j]! ** 2;
    return Math.sqrt(s);
  };
  let scale = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) scale = Math.max(scale, Math.abs(m[i]![j]!));
  for (let sweep = 0; sweep < 100 && offNorm() > 1e-15 * Math.max(scale, Number.MIN_VALUE); sweep++) {
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p]![q]!;
        if (apq === 0) continue;
        // The rotation that zeroes m[p][q] (Golub & Van Loan, Algorithm 8.5.1), with the smaller angle.
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k]![p]!;
          const mkq = m[k]![q]!;
          m[k]![p] = c * mkp - s * mkq;
          m[k]![q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p]![k]!;
          const mqk = m[q]![k]!;
          m[p]![k] = c * mpk - s * mqk;
          m[q]![k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = [...Array(n).keys()].sort((i, j) => m[i]![i]! - m[j]![j]!);
  return {
    values: order.map((i) => m[i]![i]!),
    vectors: order.map((j) => Array.from({ length: n }, (_, k) => v[k]![j]!)),
  };
}

/** The symmetric tridiagonal matrix with diagonal `alpha` and off-diagonal `beta` (beta.length = alpha.length − 1). */
export function tridiagonal(alpha: readonly number[], beta: readonly number[]): number[][] {
  if (beta.length !== Math.max(alpha.length - 1, 0)) {
    throw new RangeError(`tridiagonal: ${alpha.length} diagonal entries need ${alpha.length - 1} off-diagonal ones, got ${beta.length}`);
  }
  return alpha.map((a, i) => alpha.map((_, j) => (i === j ? a : Math.abs(i - j) === 1 ? beta[Math.min(i, j)]! : 0)));
}
