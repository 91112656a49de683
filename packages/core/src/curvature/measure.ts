/**
 * Everything `advlab curvature` reports about one model, as a plain object: the weight Hessian of the mean loss
 * on the first n examples (top eigenvalues, trace, spectral density) and the input-space curvature measures
 * averaged over them. Browser-safe: data in, numbers out.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/types.ts';
import { ConfigError } from '../errors.ts';
import { batchTensors } from '../eval/batches.ts';
import type { Classifier } from '../models/classifier.ts';
import type { Norm } from '../threat/norms.ts';
import { threatModel } from '../threat/threat.ts';
import { Rng } from '../util/rng.ts';
import { meanLoss, meanLossHessian, type WeightedModel } from './hessian.ts';
import { cureCurvature, elleError, inputTopEigenvalues, linearityError } from './input.ts';
import { hutchinsonTrace, spectralDensity, topEigenvalues, type SpectralDensity } from './spectrum.ts';
import { median } from '../util/median.ts';

/** Options of `measureCurvature`; defaults are PyHessian's for the weight Hessian. */
export interface CurvatureOptions {
  /** The first n examples (default all). */
  n?: number;
  /** Top weight-Hessian eigenvalues (default 2). */
  top?: number;
  /** Power-iteration products per eigenvalue at most (default 100). */
  maxIterations?: number;
  /** Relative change of the Rayleigh quotient that stops power iteration (default 1e-3). */
  tolerance?: number;
  /** Rademacher vectors of the Hutchinson trace (default 100). */
  traceSamples?: number;
  /** Lanczos steps of the density; 0 skips it (default 100). */
  densitySteps?: number;
  /** Lanczos runs (default 1). */
  densityRuns?: number;
  /** Radius of the ball of the input measures (default 0.1) and its norm (default linf). */
  eps?: number;
  norm?: Norm;
  /** Input-Hessian power iterations at most (default 20). */
  inputIterations?: number;
  /** Ascent steps of the linearity error (default 10). */
  linearitySteps?: number;
  /** Random triples per example of ELLE's error (default 1). */
  elleTriples?: number;
  /** CURE's step length in L2 (default ε·√d under L∞, where it reaches the FGSM point; ε otherwise). */
  cureH?: number;
  /** Examples per pass (default 500). */
  batchSize?: number;
  seed?: number;
  /** Called as each part starts, for progress. */
  onStage?: (stage: string) => void;
}

/** Mean, median and max over examples of one per-example measure. */
export interface Summary {
  mean: number;
  median: number;
  max: number;
}

/** The result of `measureCurvature`; snake_case as the JSON `advlab curvature --json` writes. */
export interface CurvatureReport {
  n: number;
  /** Mean cross-entropy over the n examples (inference mode). */
  loss: number;
  hessian: {
    top_eigenvalues: number[];
    iterations: number[];
    converged: boolean[];
    trace: number;
    trace_standard_error: number;
    trace_samples: number;
    density?: SpectralDensity & { steps: number; runs: number };
    parameters: number;
  };
  input: {
    eps: number;
    norm: Norm;
    /** Mean over examples of λ_max(∇ₓ²ℓ). */
    top_eigenvalue: number;
    linearity_error: number;
    elle: number;
    cure: number;
    cure_h: number;
    /** Mean / median / max per measure. */
    summaries: Record<'top_eigenvalue' | 'linearity_error' | 'elle' | 'cure', Summary>;
  };
  seconds: Record<string, number>;
  seed: number;
}

function summarize(values: Float32Array): Summary {
  const sorted = Float64Array.from(values).sort();
  const m = sorted.length;
  return { mean: sorted.reduce((a, b) => a + b, 0) / m, median: median(sorted), max: sorted[m - 1]! };
}

/**
 * Curvature of `model` on the first n examples of `data` (in the model's input range): the weight Hessian of the
 * mean cross-entropy, and the input-space measures in the ball of radius ε. The model must expose the variables
 * its logits read (a LayersModel's trainable weights) for the weight Hessian.
 */
export function measureCurvature(model: Classifier & WeightedModel, data: ImageSet, opts: CurvatureOptions = {}): CurvatureReport {
  const n = opts.n ?? data.n;
  if (!Number.isInteger(n) || n < 1 || n > data.n) throw new ConfigError('n', `an integer in [1, ${data.n}]`, String(n));
  const eps = opts.eps ?? 0.1;
  const norm = opts.norm ?? 'linf';
  const threat = threatModel(norm, eps, { bounds: model.bounds as [number, number] | undefined });
  const d = data.height * data.width * data.channels;
  const cureH = opts.cureH ?? (norm === 'linf' ? eps * Math.sqrt(d) : eps);
  const batchSize = opts.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError('batchSize', 'an integer ≥ 1', String(batchSize));
  const densitySteps = opts.densitySteps ?? 100;
  if (!Number.isInteger(densitySteps) || densitySteps < 0) throw new ConfigError('densitySteps', 'an integer ≥ 0', String(densitySteps));
  const seed = opts.seed ?? 0;
  const rng = new Rng(seed);
  const seconds: Record<string, number> = {};
  const timed = <T>(stage: string, f: () => T): T => {
    opts.onStage?.(stage);
    const t0 = performance.now();
    const out = f();
    seconds[stage] = (performance.now() - t0) / 1000;
    return out;
  };
  const { x, y } = batchTensors(
    data,
    Array.from({ length: n }, (_, i) => i),
  );
  try {
    const iteration = { maxIterations: opts.maxIterations, tolerance: opts.tolerance };
    const op = meanLossHessian(model, x, y, { batchSize });
    const loss = timed('loss', () => meanLoss(model, x, y, { batchSize }));
    const top = timed('top_eigenvalues', () => topEigenvalues(op, { ...iteration, top: opts.top ?? 2, rng }));
    const trace = timed('trace', () => hutchinsonTrace(op, { samples: opts.traceSamples, rng }));
    const density =
      densitySteps > 0
        ? timed('density', () => ({
            ...spectralDensity(op, { steps: densitySteps, runs: opts.densityRuns ?? 1, rng }),
            steps: densitySteps,
            runs: opts.densityRuns ?? 1,
          }))
        : undefined;
    // Input measures batch by batch: each example's value depends on that example alone.
    const perExample = {
      top_eigenvalue: new Float32Array(n),
      linearity_error: new Float32Array(n),
      elle: new Float32Array(n),
      cure: new Float32Array(n),
    };
    const measures: [keyof typeof perExample, (xb: tf.Tensor4D, yb: tf.Tensor1D) => Float32Array][] = [
      [
        'top_eigenvalue',
        (xb, yb) =>
          inputTopEigenvalues(model, xb, yb, { maxIterations: opts.inputIterations ?? 20, tolerance: opts.tolerance, rng }).values,
      ],
      ['linearity_error', (xb, yb) => linearityError(model, xb, yb, threat, { steps: opts.linearitySteps, rng })],
      ['elle', (xb, yb) => elleError(model, xb, yb, threat, { triples: opts.elleTriples, rng })],
      ['cure', (xb, yb) => cureCurvature(model, xb, yb, { h: cureH })],
    ];
    for (const [name, measure] of measures) {
      timed(`input_${name}`, () => {
        for (let start = 0; start < n; start += batchSize) {
          const size = Math.min(batchSize, n - start);
          const xb = tf.slice(x, start, size);
          const yb = tf.slice(y, start, size);
          try {
            perExample[name].set(measure(xb, yb), start);
          } finally {
            tf.dispose([xb, yb]);
          }
        }
      });
    }
    const summaries = {
      top_eigenvalue: summarize(perExample.top_eigenvalue),
      linearity_error: summarize(perExample.linearity_error),
      elle: summarize(perExample.elle),
      cure: summarize(perExample.cure),
    };
    return {
      n,
      loss,
      hessian: {
        top_eigenvalues: top.eigenvalues,
        iterations: top.iterations,
        converged: top.converged,
        trace: trace.trace,
        trace_standard_error: trace.standardError,
        trace_samples: trace.samples.length,
        ...(density ? { density } : {}),
        parameters: op.shapes.reduce((a, s) => a + s.reduce((p, q) => p * q, 1), 0),
      },
      input: {
        eps,
        norm,
        top_eigenvalue: summaries.top_eigenvalue.mean,
        linearity_error: summaries.linearity_error.mean,
        elle: summaries.elle.mean,
        cure: summaries.cure.mean,
        cure_h: cureH,
        summaries,
      },
      seconds,
      seed,
    };
  } finally {
    tf.dispose([x, y]);
  }
}
