/**
 * The one thing attacks and evaluation need from a model: logits for a batch of images. Keeping this
 * interface free of tfjs-layers lets attacks run against any differentiable function (hand-written
 * test models, wrappers that add preprocessing or randomisation, ...).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ModelFormatError, ShapeError } from '../errors.ts';
import { isProbabilityModel } from './io.ts';

export interface Classifier {
  /** logits [n, K] for x [n,h,w,c]; must be pure (no state change) and differentiable. */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  readonly numClasses: number;
  readonly inputShape: [number, number, number];
  readonly name: string;
}

/** Probabilities are clipped to at least this before the log, so log(0) never gives -Infinity. */
export const PROB_FLOOR = 1e-12;

function knownDims(shape: readonly (number | null)[]): shape is number[] {
  return shape.every((d) => typeof d === 'number' && d > 0);
}

/**
 * Wrap a tf.js LayersModel as a Classifier. The model must have one input [null, h, w, c] and one
 * output [null, K] with K >= 2. `logits` runs `model.apply(x, {training: false})` (no batch-norm
 * update, no dropout). If the model ends in a softmax (detected, or `outputsProbabilities: true`),
 * `logits` returns log(clip(p, 1e-12, 1)) — logits up to a per-row constant — and
 * `outputsProbabilities` is true so evaluation can warn that gradients through a saturated softmax
 * may be masked.
 */
export function classifierFromLayersModel(
  model: tfl.LayersModel,
  opts: { name?: string; outputsProbabilities?: boolean } = {},
): Classifier & { readonly outputsProbabilities: boolean } {
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
  const outputsProbabilities = opts.outputsProbabilities ?? isProbabilityModel(model);

  const logits = (x: tf.Tensor4D): tf.Tensor2D => {
    if (x.rank !== 4 || x.shape[1] !== inputShape[0] || x.shape[2] !== inputShape[1] || x.shape[3] !== inputShape[2]) {
      throw new ShapeError(
        `${name}: expected input [n, ${inputShape.join(', ')}], found ${JSON.stringify(x.shape)}`,
      );
    }
    // tidy frees the intermediates; tensors saved for gradients are kept by the engine.
    return tf.tidy(() => {
      const xf = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
      const out = model.apply(xf, { training: false }) as tf.Tensor2D;
      return outputsProbabilities ? tf.log(tf.clipByValue(out, PROB_FLOOR, 1)) : out;
    });
  };

  return { logits, numClasses: k, inputShape, name, outputsProbabilities };
}
