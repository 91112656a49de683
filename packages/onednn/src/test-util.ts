/**
 * Helpers for this package's tests: run the same computation on the 'cpu' reference and on 'onednn' and
 * compare, and check which kernels went native.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { useBackend } from '@advlab/node';
import { relErr } from '@advlab/core/testing';
import { Rng } from '@advlab/core';
import { kernelStats } from './kernels/util.ts';
import { isAvailable, unavailableReason } from './status.ts';

export { relErr, Rng };

/** node:test `skip` option: the reason when the addon is not built, else false. */
export const SKIP: string | false = isAvailable() ? false : (unavailableReason() ?? 'addon unavailable');

// CI builds the addon (scripts/setup.sh): there a missing addon is a failure, not a reason to skip.
if (SKIP && process.env.CI === 'true') {
  throw new Error(`the oneDNN addon is not available under CI: ${SKIP}`);
}

/** Number of elements of a shape. */
export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Shape pairs every broadcasting kernel is checked on: same shape (small, and large enough to run multithreaded),
 * scalars, trailing / leading / middle broadcasts, both sides broadcasting.
 */
export const BROADCAST_PAIRS: readonly (readonly [number[], number[]])[] = [
  [
    [6, 5],
    [6, 5],
  ],
  [
    [300, 400],
    [300, 400],
  ],
  [[4, 7], []],
  [[], [4, 7]],
  [[128, 10], [10]],
  [[10], [128, 10]],
  [[32, 7, 7, 16], [16]],
  [
    [8, 5],
    [8, 1],
  ],
  [
    [5, 1],
    [1, 6],
  ],
  [
    [2, 3, 4, 5],
    [3, 1, 5],
  ],
  [
    [2, 1, 4],
    [1, 3, 1],
  ],
  [
    [64, 64, 16],
    [64, 1, 16],
  ],
  [[1, 1, 5], [5]],
  [
    [420, 784],
    [420, 1],
  ], // per-example thresholds of a batch; multithreaded
];

/** Shape and repetitions every Tile check covers: broadcasts, repeats on every axis, rank 5. */
export const TILE_CASES: readonly (readonly [number[], number[]])[] = [
  [
    [3, 4],
    [2, 3],
  ],
  [[5], [4]],
  [
    [2, 1, 3],
    [1, 5, 2],
  ],
  [
    [2, 3, 1, 2, 2],
    [2, 1, 3, 1, 2],
  ],
];

export function randomArray(rng: Rng, size: number, scale = 1): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = scale * rng.normal();
  return a;
}

export function randomTensorData(rng: Rng, shape: number[], scale = 1): { shape: number[]; values: Float32Array } {
  return {
    shape,
    values: randomArray(
      rng,
      shape.reduce((a, b) => a * b, 1),
      scale,
    ),
  };
}

/** Values of fn's result tensor(s), computed on `backend` (inputs must be created inside fn). */
export async function valuesOn(backend: 'cpu' | 'onednn', fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await useBackend(backend);
  let out: Float32Array[] = [];
  tf.tidy(() => {
    const r = fn();
    out = (Array.isArray(r) ? r : [r]).map((t) => Float32Array.from(t.dataSync()));
  });
  return out;
}

/** Native / fallback / error call counts of one kernel since the process started. */
export function counts(kernel: string): { native: number; fallback: number; errors: number } {
  const c = kernelStats()[kernel];
  return { native: c?.native ?? 0, fallback: c?.fallback ?? 0, errors: c?.errors ?? 0 };
}

export interface CompareOptions {
  /** Maximum relative error ‖a−b‖∞ / max(1, ‖b‖∞). */
  tol: number;
  /** Kernels that must have run natively on onednn (at least once each), without native errors. */
  native?: string[];
  /** Kernels that must have fallen back at least once (unsupported patterns). */
  fallback?: string[];
}

/**
 * Copies of a and b where positions holding the same non-finite value (NaN and NaN, or the same infinity)
 * are zeroed, so relErr compares the finite values and still fails on any other NaN / infinity.
 */
export function finitePairs(a: Float32Array, b: Float32Array): [Float32Array, Float32Array] {
  const x = Float32Array.from(a),
    y = Float32Array.from(b);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(y[i]!) && Object.is(x[i], y[i])) x[i] = y[i] = 0;
  }
  return [x, y];
}

type Routes = Pick<CompareOptions, 'native' | 'fallback'>;

function routeCounts(o: Routes): Record<string, ReturnType<typeof counts>> {
  return Object.fromEntries([...(o.native ?? []), ...(o.fallback ?? [])].map((k) => [k, counts(k)]));
}

/** The `native` kernels ran natively without errors, the `fallback` ones fell back (not through an error), since `before`. */
function assertRoutes(label: string, o: Routes, before: Record<string, ReturnType<typeof counts>>): void {
  for (const k of o.native ?? []) {
    const c = counts(k);
    assert.ok(c.native > before[k]!.native, `${label}: ${k} did not run natively`);
    assert.equal(c.errors, before[k]!.errors, `${label}: ${k} native errors: ${kernelStats()[k]?.lastError}`);
  }
  for (const k of o.fallback ?? []) {
    assert.ok(counts(k).fallback > before[k]!.fallback, `${label}: ${k} was expected to fall back`);
    assert.equal(counts(k).errors, before[k]!.errors, `${label}: ${k} fell back through an error: ${kernelStats()[k]?.lastError}`);
  }
}

/** Run fn on cpu and onednn and assert every output matches within tol. */
export async function compare(label: string, fn: () => tf.Tensor | tf.Tensor[], o: CompareOptions): Promise<void> {
  const want = await valuesOn('cpu', fn);
  const before = routeCounts(o);
  const got = await valuesOn('onednn', fn);
  assert.equal(got.length, want.length, `${label}: number of outputs`);
  got.forEach((g, i) => {
    const w = want[i]!;
    assert.equal(g.length, w.length, `${label}: output ${i} size`);
    const e = relErr(...finitePairs(g, w));
    assert.ok(e <= o.tol, `${label}: output ${i} relative error ${e} > ${o.tol}`);
  });
  assertRoutes(label, o, before);
}

export interface Result {
  dtype: string;
  shape: number[];
  values: number[];
}

/** Dtype, shape and values of fn's result tensor(s) on `backend`, and the change in live tensors it caused. */
export async function resultsOn(
  backend: 'cpu' | 'onednn',
  fn: () => tf.Tensor | tf.Tensor[],
): Promise<{ results: Result[]; leaked: number }> {
  await useBackend(backend);
  const live = tf.memory().numTensors;
  let results: Result[] = [];
  tf.tidy(() => {
    const r = fn();
    results = (Array.isArray(r) ? r : [r]).map((t) => ({
      dtype: t.dtype,
      shape: t.shape,
      values: Array.from(t.dataSync() as ArrayLike<number>),
    }));
  });
  return { results, leaked: tf.memory().numTensors - live };
}

/**
 * Run fn on cpu and onednn and assert every output is cpu's exactly: dtype, shape, and each value under
 * Object.is (−0 is not +0, NaN is NaN); and that the onednn run left no tensor behind. `native` / `fallback`
 * as in compare.
 */
export async function compareExact(label: string, fn: () => tf.Tensor | tf.Tensor[], o: Omit<CompareOptions, 'tol'> = {}): Promise<void> {
  const want = await resultsOn('cpu', fn);
  const before = routeCounts(o);
  const got = await resultsOn('onednn', fn);
  assert.equal(got.leaked, 0, `${label}: live tensors changed by ${got.leaked}`);
  assert.equal(got.results.length, want.results.length, `${label}: number of outputs`);
  got.results.forEach((g, i) => {
    const w = want.results[i]!;
    assert.equal(g.dtype, w.dtype, `${label}: output ${i} dtype`);
    assert.deepEqual(g.shape, w.shape, `${label}: output ${i} shape`);
    const bad = g.values.findIndex((v, j) => !Object.is(v, w.values[j]));
    const show = (v: number | undefined) => (Object.is(v, -0) ? '-0' : String(v));
    assert.equal(bad, -1, `${label}: output ${i} differs at ${bad}: ${show(g.values[bad])} vs cpu ${show(w.values[bad])}`);
  });
  assertRoutes(label, o, before);
}

/** A layers model's trainable tf.Variables (for tf.variableGrads / optimizer.minimize). */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => (w as unknown as { read(): tf.Variable }).read());
}
