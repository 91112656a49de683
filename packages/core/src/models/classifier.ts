/**
 * The one thing attacks and evaluation need from a model: logits for a batch of images. Keeping this
 * interface free of tfjs-layers lets attacks run against any differentiable function (hand-written
 * test models, wrappers that add preprocessing or randomisation, ...).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, ModelFormatError, ShapeError } from '../errors.ts';
import { isProbabilityModel } from './inspect.ts';

/**
 * A model as attacks and evaluation see it: a pure, differentiable map from images [n, h, w, c] to logits,
 * plus the facts needed to check inputs (shape, classes, input domain).
 */
export interface Classifier {
  /** logits [n, K] for x [n,h,w,c]; must be pure (no state change) and differentiable. */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  readonly numClasses: number;
  readonly inputShape: [number, number, number];
  readonly name: string;
  /**
   * The model's own input domain [lo, hi]: the pixel space attacks work in (ε is measured there and
   * adversarial points are clipped to it). Absent means [0, 1]; read it with `classifierBounds`.
   */
  readonly bounds?: readonly [number, number];
}

/**
 * A model known only by its answers: logits for a batch, asynchronously (an ONNX session, a worker, a remote
 * API). No gradients, so only black-box attacks (Square) and evaluation through the async runners apply.
 */
export interface AsyncClassifier {
  /** logits [n, K] for x [n,h,w,c]; the caller owns the returned tensor. */
  logitsAsync(x: tf.Tensor4D): Promise<tf.Tensor2D>;
  readonly numClasses: number;
  readonly inputShape: [number, number, number];
  readonly name: string;
  readonly bounds?: readonly [number, number];
}

/** Either kind of model: a differentiable Classifier, or an AsyncClassifier that only answers queries. */
export type AnyClassifier = Classifier | AsyncClassifier;

/** True for a Classifier (synchronous, differentiable logits). */
export function isSyncClassifier(m: AnyClassifier): m is Classifier {
  return typeof (m as Classifier).logits === 'function';
}

/** The input domain of a classifier that declares none: images in [0, 1]. */
export const DEFAULT_BOUNDS: readonly [number, number] = Object.freeze([0, 1] as const);

/** The classifier's input domain: its declared `bounds`, or [0, 1]. */
export function classifierBounds(c: Pick<Classifier, 'bounds'>): readonly [number, number] {
  return c.bounds ?? DEFAULT_BOUNDS;
}

/** Probabilities are clipped to at least this before the log, so log(0) never gives -Infinity. */
export const PROB_FLOOR = 1e-12;

/**
 * How a wrapper maps the attacked pixel space to what the model eats. Attacks work on x in
 * `bounds`; the wrapper feeds the model (x − mean) / std, per channel (last axis). mean and std are in
 * the units of `bounds` (e.g. mean 123.7 for a [0, 255] model, or 0.485 for a [0, 1] one).
 */
export interface PreprocessingOptions {
  /** The model's input domain [lo, hi], lo < hi, both finite. Default [0, 1]. */
  bounds?: readonly [number, number];
  /** Subtracted inside `logits`: one number, or one per channel. Default 0. */
  mean?: number | readonly number[];
  /** Divides inside `logits` (after the mean): one positive number, or one per channel. Default 1. */
  std?: number | readonly number[];
}

export interface ClassifierOptions extends PreprocessingOptions {
  name?: string;
  /** The model outputs probabilities (ends in a softmax): `logits` returns log(clip(p, 1e-12, 1)). */
  outputsProbabilities?: boolean;
}

/** What the model wrappers return: a Classifier that always declares its bounds. */
export interface WrappedClassifier extends Classifier {
  readonly bounds: readonly [number, number];
  readonly outputsProbabilities: boolean;
  /** Per-channel mean and std applied inside `logits`; absent when the wrapper applies none. */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

function show(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

/** Validates an input domain [lo, hi] (finite, lo < hi); `key` names the option in the error. */
export function checkBounds(bounds: unknown, key = 'bounds'): readonly [number, number] {
  if (
    !Array.isArray(bounds) ||
    bounds.length !== 2 ||
    !bounds.every((v) => typeof v === 'number' && Number.isFinite(v)) ||
    !(bounds[0] < bounds[1])
  ) {
    throw new ConfigError(key, 'two finite numbers [lo, hi] with lo < hi', show(bounds));
  }
  return Object.freeze([bounds[0] as number, bounds[1] as number] as const);
}

function perChannel(v: unknown, key: 'mean' | 'std', channels: number): number[] {
  const positive = key === 'std';
  const ok = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0);
  const what = positive ? 'positive numbers' : 'finite numbers';
  const expected = `${what}, one per channel (${channels}), or a single number`;
  if (typeof v === 'number') {
    if (!ok(v)) throw new ConfigError(key, expected, show(v));
    return Array<number>(channels).fill(v);
  }
  if (!Array.isArray(v) || !(v.length === channels || v.length === 1) || !v.every(ok)) {
    throw new ConfigError(key, expected, show(v));
  }
  return v.length === 1 ? Array<number>(channels).fill(v[0] as number) : (v as number[]).slice();
}

/** Resolved preprocessing: the bounds, and (x − mean) / std as a tensor function (identity when trivial). */
export interface Preprocessing {
  readonly bounds: readonly [number, number];
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  /** (x − mean) / std on the last axis; returns x itself when there is nothing to do. */
  apply(x: tf.Tensor4D): tf.Tensor4D;
}

/** Validates `bounds`, `mean` and `std` for a model with `channels` input channels (ConfigError naming the key). */
export function resolvePreprocessing(opts: PreprocessingOptions, channels: number): Preprocessing {
  const bounds = opts.bounds === undefined ? DEFAULT_BOUNDS : checkBounds(opts.bounds, 'bounds');
  const mean = opts.mean === undefined ? undefined : perChannel(opts.mean, 'mean', channels);
  const std = opts.std === undefined ? undefined : perChannel(opts.std, 'std', channels);
  const subtract = mean?.some((m) => m !== 0);
  const divide = std?.some((s) => s !== 1);
  const apply = (x: tf.Tensor4D): tf.Tensor4D => {
    if (!subtract && !divide) return x;
    return tf.tidy(() => {
      let y: tf.Tensor = x;
      if (subtract) y = tf.sub(y, tf.tensor1d(mean!, 'float32'));
      if (divide) y = tf.div(y, tf.tensor1d(std!, 'float32'));
      return y as tf.Tensor4D;
    });
  };
  return {
    bounds,
    ...(mean !== undefined ? { mean: Object.freeze(mean) } : {}),
    ...(std !== undefined ? { std: Object.freeze(std) } : {}),
    apply,
  };
}

/** Throws a ShapeError unless x is [n, h, w, c] for the given inputShape. */
export function checkInputBatch(name: string, inputShape: readonly [number, number, number], x: tf.Tensor): void {
  if (x.rank !== 4 || x.shape[1] !== inputShape[0] || x.shape[2] !== inputShape[1] || x.shape[3] !== inputShape[2]) {
    throw new ShapeError(`${name}: expected input [n, ${inputShape.join(', ')}], found ${JSON.stringify(x.shape)}`);
  }
}

/** The model's output as logits: log(clip(p, 1e-12, 1)) for probability outputs, else itself. */
export function outputToLogits(out: tf.Tensor2D, outputsProbabilities: boolean): tf.Tensor2D {
  return outputsProbabilities ? tf.log(tf.clipByValue(out, PROB_FLOOR, 1)) : out;
}

/** True for a tf.LayersModel (or anything shaped like one: `layers` and `apply`). */
export function isLayersModelLike(m: unknown): boolean {
  const o = m as { layers?: unknown; apply?: unknown } | null;
  return typeof o === 'object' && o !== null && Array.isArray(o.layers) && typeof o.apply === 'function';
}

/** True for a tfjs-converter GraphModel (or anything shaped like one): no layers, `execute`, input/output node lists. */
export function isGraphModelLike(m: unknown): boolean {
  const o = m as { layers?: unknown; execute?: unknown; predict?: unknown; inputs?: unknown; outputs?: unknown } | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    !Array.isArray(o.layers) &&
    (typeof o.execute === 'function' || typeof o.predict === 'function') &&
    Array.isArray(o.inputs) &&
    Array.isArray(o.outputs)
  );
}

/** A short description of what was passed in place of a model, for error messages. */
export function describeModelValue(m: unknown): string {
  if (m === null || m === undefined) return String(m);
  if (isLayersModelLike(m)) return 'a tf.LayersModel';
  if (isGraphModelLike(m)) return 'a GraphModel';
  if (m instanceof tf.Tensor) return 'a tf.Tensor';
  if (typeof m !== 'object') return `a ${typeof m}`;
  const ctor = (m as { constructor?: { name?: string } }).constructor?.name;
  return ctor && ctor !== 'Object' ? `a ${ctor}` : 'an object without layers or execute()';
}

function knownDims(shape: readonly (number | null)[]): shape is number[] {
  return shape.every((d) => typeof d === 'number' && d > 0);
}

/**
 * Wrap a tf.js LayersModel as a Classifier. The model must have one input [null, h, w, c] and one
 * output [null, K] with K >= 2. `logits` runs `model.apply((x − mean) / std, {training: false})` (no
 * batch-norm update, no dropout). If the model ends in a softmax (detected, or `outputsProbabilities:
 * true`), `logits` returns log(clip(p, 1e-12, 1)) — logits up to a per-row constant — and
 * `outputsProbabilities` is true so evaluation can warn that gradients through a saturated softmax
 * may be masked.
 *
 * `bounds` is the model's own pixel space (default [0, 1]; [0, 255] for a model fed raw bytes): attack
 * it with a threat model of the same bounds, ε given in that space. `mean` / `std` (per channel, in
 * the units of `bounds`) are applied inside `logits`, so attacks see, perturb and clip raw pixels.
 */
export function classifierFromLayersModel(model: tfl.LayersModel, opts: ClassifierOptions = {}): WrappedClassifier {
  if (!isLayersModelLike(model)) {
    const hint = isGraphModelLike(model) ? ' (use classifierFromGraphModel for a GraphModel)' : '';
    throw new ModelFormatError(opts.name ?? 'model', `a tf.LayersModel${hint}`, describeModelValue(model));
  }
  const name = opts.name ?? model.name;
  if (model.inputs.length !== 1) {
    throw new ModelFormatError(name, 'a model with exactly one input', `${model.inputs.length} inputs`);
  }
  if (model.outputs.length !== 1) {
    throw new ModelFormatError(name, 'a model with exactly one output', `${model.outputs.length} outputs`);
  }
  const inShape = model.inputs[0]!.shape;
  const outShape = model.outputs[0]!.shape;
  if (inShape.length !== 4) {
    throw new ModelFormatError(name, 'an input of rank 4 [n, h, w, c] (NHWC images)', `shape ${JSON.stringify(inShape)}`);
  }
  const hwc = inShape.slice(1);
  if (!knownDims(hwc)) {
    throw new ModelFormatError(name, 'an input with known height, width and channels', `shape ${JSON.stringify(inShape)}`);
  }
  if (outShape.length !== 2) {
    throw new ModelFormatError(name, 'an output of rank 2 [n, K]', `shape ${JSON.stringify(outShape)}`);
  }
  const k = outShape[1];
  if (typeof k !== 'number' || k < 2) {
    throw new ModelFormatError(name, 'an output [n, K] with K >= 2 classes', `shape ${JSON.stringify(outShape)}`);
  }
  const inputShape: [number, number, number] = [hwc[0]!, hwc[1]!, hwc[2]!];
  const pre = resolvePreprocessing(opts, inputShape[2]);
  const outputsProbabilities = opts.outputsProbabilities ?? isProbabilityModel(model);

  const logits = (x: tf.Tensor4D): tf.Tensor2D => {
    checkInputBatch(name, inputShape, x);
    // tidy frees the intermediates; tensors saved for gradients are kept by the engine.
    return tf.tidy(() => {
      const xf = x.dtype === 'float32' ? x : (tf.cast(x, 'float32') as tf.Tensor4D);
      const out = model.apply(pre.apply(xf), { training: false }) as tf.Tensor2D;
      return outputToLogits(out, outputsProbabilities);
    });
  };

  return wrappedClassifier({ logits, numClasses: k, inputShape, name }, pre, outputsProbabilities);
}

/** The classifier a wrapper returns: the model's function and shapes, with its preprocessing recorded. */
export function wrappedClassifier(
  core: Pick<WrappedClassifier, 'logits' | 'numClasses' | 'inputShape' | 'name'>,
  pre: Preprocessing,
  outputsProbabilities: boolean,
): WrappedClassifier {
  return {
    ...core,
    bounds: pre.bounds,
    outputsProbabilities,
    ...(pre.mean ? { mean: pre.mean } : {}),
    ...(pre.std ? { std: pre.std } : {}),
  };
}
