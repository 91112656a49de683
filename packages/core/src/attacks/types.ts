import type * as tf from '@tensorflow/tfjs-core';
import type { AnyClassifier, Classifier } from '../models/classifier.ts';
import type { HostSteps } from './host.ts';
import type { ThreatModel } from '../threat/threat.ts';
import type { Rng } from '../util/rng.ts';

/**
 * An attack is a pure function of (model, x, y, threat, config, rng[, targets]) that PROPOSES
 * adversarial points. It never reports success: `runAttack` re-projects the proposal and asks the model.
 */
export interface AttackArgs<C> {
  model: Classifier;
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
  threat: ThreatModel;
  config: C;
  rng: Rng;
  /** Target classes for targeted attacks; attacks that choose their own targets (APGD-T) ignore it. */
  targets?: tf.Tensor1D;
}

/**
 * An attack as the registry and `runAttack` know it: metadata, the defaults of its config `C` and the
 * function that proposes adversarial points.
 */
export interface AttackDefinition<C extends object = object> {
  readonly name: string;
  readonly description: string;
  /** Untargeted attacks fool; targeted ones aim at `targets`. */
  readonly targeted: boolean;
  /** Gradient evaluations per example (for cost accounting), given a resolved config. */
  cost(config: C): number;
  /** The complete default config for `threat` (step sizes usually scale with ε); `runAttack` overlays the caller's fields. */
  defaults(threat: ThreatModel): C;
  /**
   * Adversarial candidates shaped like `args.x`, not yet projected or checked. Returns a new tensor the caller
   * disposes; the inputs stay the caller's. May throw AttackError or ConfigError for an unusable config.
   */
  propose(args: AttackArgs<C>): tf.Tensor4D;
  /**
   * For attacks that only query the model (black-box): `propose` as host steps whose queries go through
   * `queryLogits`, so an AsyncClassifier can be attacked under the async runner. `runAttack` prefers it.
   */
  proposeSteps?(args: BlackBoxArgs<C>): HostSteps<tf.Tensor4D>;
}

/** AttackArgs with any model: what a black-box attack's `proposeSteps` gets. */
export type BlackBoxArgs<C> = Omit<AttackArgs<C>, 'model'> & { model: AnyClassifier };
