import * as tf from '@tensorflow/tfjs-core';
import { AdvlabError, ConfigError } from '../errors.ts';
import type { Classifier } from '../models/classifier.ts';
import type { ThreatModel } from '../threat/threat.ts';
import { formatBounds, sameBounds } from '../threat/threat.ts';
import { Rng } from '../util/rng.ts';
import { getAttack } from './registry.ts';
import type { AttackDefinition } from './types.ts';

/** What an attack achieved, established by the trust boundary, not by the attack. */
export interface AttackResult {
  /** The re-projected adversarial points (owned by the caller). */
  xAdv: tf.Tensor4D;
  /** 1 where the model, asked afresh, is fooled (or hits the target). */
  success: Uint8Array;
  pred: Int32Array;
  /** Softmax probability of the predicted class at xAdv. */
  confidence: Float32Array;
  /** ‖xAdv − x‖ in the threat's norm. */
  distance: Float32Array;
}

/** Slack for float32 round-off when checking ‖δ‖ ≤ ε and the box after projection. */
export const BALL_TOLERANCE = 1e-5;

/**
 * Refuses (ConfigError naming `bounds`) a threat whose box differs from the input domain the
 * classifier declares, e.g. a [0,1] threat against a model of [0,255] pixels: ε and the clip would be
 * in the wrong units. Classifiers that declare no bounds are not checked.
 */
export function checkThreatMatchesModel(model: Classifier, threat: ThreatModel): void {
  if (model.bounds !== undefined && !sameBounds(model.bounds, threat.bounds)) {
    throw new ConfigError(
      'bounds',
      `a threat model with the input bounds ${formatBounds(model.bounds)} that ${model.name} declares (ε is in the model's pixel space)`,
      `threat bounds ${formatBounds(threat.bounds)}`,
    );
  }
}

/**
 * Refuses (ConfigError naming `bounds`) clean inputs outside the threat's box — typically images in
 * [0, 255] attacked with a [0, 1] threat, or the reverse — instead of letting the clip move them.
 */
export function checkInputsInBounds(x: tf.Tensor4D, threat: ThreatModel): void {
  const [lo, hi] = threat.bounds;
  const [min, max] = tf.tidy(() => [tf.min(x).dataSync()[0]!, tf.max(x).dataSync()[0]!]);
  const slack = BALL_TOLERANCE * (hi - lo);
  if (!(min >= lo - slack && max <= hi + slack)) {
    throw new ConfigError(
      'bounds',
      `clean inputs inside the threat's bounds ${formatBounds(threat.bounds)} (the model's pixel space)`,
      `values in [${min}, ${max}]`,
    );
  }
}

/**
 * The one trust boundary: re-project the proposal onto ball ∩ box (the threat's `bounds`), reject
 * NaN/Inf, verify the constraints numerically and recompute success from the model.
 */
export function finalizeAttack(
  model: Classifier,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  proposal: tf.Tensor4D,
  threat: ThreatModel,
  targets?: tf.Tensor1D,
  attackName = 'attack',
): AttackResult {
  checkThreatMatchesModel(model, threat);
  const finite = tf.tidy(() => tf.all(tf.isFinite(proposal)).dataSync()[0]);
  if (!finite) throw new AdvlabError('E_NAN', `${attackName}: proposed adversarial points contain NaN or Inf`);
  const xAdv = threat.project(proposal, x);
  const { success, pred, confidence, distance, boxMin, boxMax } = tf.tidy(() => {
    const logits = model.logits(xAdv);
    const p = tf.argMax(logits, 1);
    const s = targets ? tf.equal(p, tf.cast(targets, 'int32')) : tf.notEqual(p, tf.cast(labels, 'int32'));
    const conf = tf.max(tf.softmax(logits), 1);
    return {
      success: new Uint8Array(s.dataSync()),
      pred: new Int32Array(p.dataSync()),
      confidence: new Float32Array(conf.dataSync()),
      distance: new Float32Array(threat.distance(xAdv, x).dataSync()),
      boxMin: tf.min(xAdv).dataSync()[0]!,
      boxMax: tf.max(xAdv).dataSync()[0]!,
    };
  });
  const worst = distance.reduce((m, d) => Math.max(m, d), 0);
  const [lo, hi] = threat.bounds;
  if (worst > threat.eps * (1 + BALL_TOLERANCE) + BALL_TOLERANCE || boxMin < lo || boxMax > hi) {
    xAdv.dispose();
    throw new AdvlabError(
      'E_ATTACK',
      `${attackName}: projection failed: max distance ${worst} > eps ${threat.eps} or outside ${formatBounds(threat.bounds)} (${boxMin}, ${boxMax})`,
    );
  }
  return { xAdv, success, pred, confidence, distance };
}

export interface RunAttackOptions<C extends object> {
  config?: Partial<C>;
  seed?: number;
  targets?: tf.Tensor1D;
}

/** Runs a registered attack (by name or definition) and passes its proposal through the trust boundary. */
export function runAttack<C extends object>(
  attack: string | AttackDefinition<C>,
  model: Classifier,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  threat: ThreatModel,
  opts: RunAttackOptions<C> = {},
): AttackResult {
  const def = (typeof attack === 'string' ? getAttack(attack) : attack) as AttackDefinition<C>;
  checkThreatMatchesModel(model, threat);
  checkInputsInBounds(x, threat);
  const config = { ...def.defaults(threat), ...opts.config } as C;
  if (def.targeted && !opts.targets) throw new AdvlabError('E_ATTACK', `${def.name} is targeted: pass target labels`);
  const proposal = def.propose({ model, x, labels, threat, config, rng: new Rng(opts.seed ?? 0), targets: opts.targets });
  try {
    return finalizeAttack(model, x, labels, proposal, threat, def.targeted ? opts.targets : undefined, def.name);
  } finally {
    proposal.dispose();
  }
}
