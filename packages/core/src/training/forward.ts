import type * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '../models/classifier.ts';

/** The model as training sees it: logits in training or inference mode. */
export type Forward = (x: tf.Tensor4D, training: boolean) => tf.Tensor2D;

/** The model in inference mode as a Classifier, for the attacks that prepare training points. */
export function asClassifier(forward: Forward, x: tf.Tensor4D): Classifier {
  return { name: 'training', numClasses: 0, inputShape: x.shape.slice(1) as [number, number, number], logits: (xx) => forward(xx, false) };
}
