import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError } from '../errors.ts';
import { SophiaOptimizer, type SophiaOptions } from './sophia.ts';

/** The optimisers a run can use. */
export type OptimizerName = 'adam' | 'sgd' | 'sophia';

/**
 * A new Adam, SGD with momentum `momentum` (plain SGD at 0; the others ignore it), or Sophia with `sophia`'s
 * settings, at learning rate `lr`; the caller disposes it. Throws ConfigError for lr ≤ 0 or an unknown name.
 */
export function makeOptimizer(
  name: OptimizerName,
  lr: number,
  momentum = 0.9,
  sophia: Omit<SophiaOptions, 'learningRate'> = {},
): tf.Optimizer {
  if (!(lr > 0)) throw new ConfigError('lr', 'a number > 0', String(lr));
  if (name === 'adam') return tf.train.adam(lr);
  if (name === 'sgd') return momentum > 0 ? tf.train.momentum(lr, momentum) : tf.train.sgd(lr);
  if (name === 'sophia') return new SophiaOptimizer({ ...sophia, learningRate: lr });
  throw new ConfigError('optimizer', 'adam, sgd or sophia', String(name));
}

/** The model's trainable tf.Variables, for optimizer.minimize. */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => (w as unknown as { read(): tf.Variable }).read());
}
