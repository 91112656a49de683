import * as tf from '@tensorflow/tfjs-core';
import { AdvlabError, AttackError, ConfigError } from '../errors.ts';
import { isSyncClassifier, type AnyClassifier } from '../models/classifier.ts';
import type { ThreatModel } from '../threat/threat.ts';
import { formatBounds, sameBounds } from '../threat/threat.ts';
import { Rng } from '../util/rng.ts';
import { getAttack } from './registry.ts';
import { argMaxRows, queryLogits, readHost, runHostSteps, runHostStepsAsync, type HostSteps } from './host.ts';

export * from './host.ts';
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
export function checkThreatMatchesModel(model: Pick<AnyClassifier, 'bounds' | 'name'>, threat: ThreatModel): void {
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
  runHostSteps(inputsInBoundsSteps(x, threat));
}

function* inputsInBoundsSteps(x: tf.Tensor4D, threat: ThreatModel): HostSteps<void> {
  const [lo, hi] = threat.bounds;
  const extremes = tf.tidy(() => [tf.min(x), tf.max(x)]);
  let min: number;
  let max: number;
  try {
    const [mins, maxs] = yield* readHost(...extremes);
    [min, max] = [mins![0]!, maxs![0]!];
  } finally {
    tf.dispose(extremes);
  }
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
export function finalizeAttack(...args: FinalizeArgs): AttackResult {
  return runHostSteps(finalizeSteps(...args));
}

/** `finalizeAttack`'s arguments: `targets` for targeted attacks; `attackName` names the attack in errors. */
export type FinalizeArgs = [
  model: AnyClassifier,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  proposal: tf.Tensor4D,
  threat: ThreatModel,
  targets?: tf.Tensor1D,
  attackName?: string,
];

/** success, prediction and softmax confidence per row of host logits [n·K], as the tensor path computes them. */
function verdictOnHost(logits: Float32Array, k: number, want: tf.TypedArray, targeted: boolean): [Uint8Array, Int32Array, Float32Array] {
  const pred = argMaxRows(logits, k);
  const success = new Uint8Array(pred.length);
  const conf = new Float32Array(pred.length);
  for (let i = 0; i < pred.length; i++) {
    const top = logits[i * k + pred[i]!]!;
    let z = 0;
    for (let j = 0; j < k; j++) z += Math.exp(logits[i * k + j]! - top);
    conf[i] = 1 / z;
    success[i] = targeted ? Number(pred[i] === want[i]) : Number(pred[i] !== want[i]);
  }
  return [success, pred, conf];
}

/** `finalizeAttack` as host steps: the sync and async runners share it. */
export function* finalizeSteps(
  ...[model, x, labels, proposal, threat, targets, attackName = 'attack']: FinalizeArgs
): HostSteps<AttackResult> {
  checkThreatMatchesModel(model, threat);
  const allFinite = tf.tidy(() => tf.all(tf.isFinite(proposal)));
  let finite: number;
  try {
    finite = (yield* readHost(allFinite))[0]![0]!;
  } finally {
    allFinite.dispose();
  }
  if (!finite) throw new AdvlabError('E_NAN', `${attackName}: proposed adversarial points contain NaN or Inf`);
  const xAdv = threat.project(proposal, x);
  let outs: tf.Tensor[] = [];
  let values: readonly tf.TypedArray[];
  try {
    if (isSyncClassifier(model)) {
      outs = tf.tidy(() => {
        const logits = model.logits(xAdv);
        const p = tf.argMax(logits, 1);
        const s = targets ? tf.equal(p, tf.cast(targets, 'int32')) : tf.notEqual(p, tf.cast(labels, 'int32'));
        return [s, p, tf.max(tf.softmax(logits), 1), threat.distance(xAdv, x), tf.min(xAdv), tf.max(xAdv)];
      });
      values = yield* readHost(...outs);
    } else {
      // A black box is asked afresh like any model; its verdict is computed here, on the host.
      const logits = yield* queryLogits(model, xAdv);
      outs = tf.tidy(() => [threat.distance(xAdv, x), tf.min(xAdv), tf.max(xAdv), tf.cast(targets ?? labels, 'int32')]);
      const [dist, mins, maxs, want] = yield* readHost(...outs);
      values = [...verdictOnHost(logits, model.numClasses, want!, targets !== undefined), dist!, mins!, maxs!];
    }
  } catch (e) {
    xAdv.dispose();
    throw e;
  } finally {
    tf.dispose(outs);
  }
  const [s, p, conf, dist, mins, maxs] = values;
  const success = new Uint8Array(s!);
  const pred = new Int32Array(p!);
  const confidence = new Float32Array(conf!);
  const distance = new Float32Array(dist!);
  const [boxMin, boxMax] = [mins![0]!, maxs![0]!];
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

/**
 * Per-call options of `runAttack`: `config` overrides fields of the attack's defaults, `seed` (default 0) seeds
 * random starts, `targets` (int32 [n]) are required by targeted attacks and stay owned by the caller.
 */
export interface RunAttackOptions<C extends object> {
  config?: Partial<C>;
  seed?: number;
  targets?: tf.Tensor1D;
}

/** `runAttack`'s arguments: the attack by name or definition, the model, clean inputs and labels, the threat. */
export type RunAttackArgs<C extends object> = [
  attack: string | AttackDefinition<C>,
  model: AnyClassifier,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  threat: ThreatModel,
  opts?: RunAttackOptions<C>,
];

/** Runs a registered attack (by name or definition) and passes its proposal through the trust boundary. */
export function runAttack<C extends object>(...args: RunAttackArgs<C>): AttackResult {
  return runHostSteps(runAttackSteps(...args));
}

/**
 * `runAttack` for backends whose reads are asynchronous (WebGL, WebGPU): the trust boundary's reads —
 * the input box, the finiteness of the proposal, success, prediction, confidence, distance and the box
 * of the result — use `await data()`. The attack's own iterations (`propose`) still run synchronously
 * and may call `dataSync()`; same result as `runAttack` for the same arguments.
 */
export function runAttackAsync<C extends object>(...args: RunAttackArgs<C>): Promise<AttackResult> {
  return runHostStepsAsync(runAttackSteps(...args));
}

/** `runAttack` as host steps, for computations (e.g. the evaluation) that run both ways. */
export function* runAttackSteps<C extends object>(
  ...[attack, model, x, labels, threat, opts = {}]: RunAttackArgs<C>
): HostSteps<AttackResult> {
  const def = (typeof attack === 'string' ? getAttack(attack) : attack) as AttackDefinition<C>;
  checkThreatMatchesModel(model, threat);
  yield* inputsInBoundsSteps(x, threat);
  const config = { ...def.defaults(threat), ...opts.config } as C;
  if (def.targeted && !opts.targets) throw new AdvlabError('E_ATTACK', `${def.name} is targeted: pass target labels`);
  // A ball of radius 0 holds only x: nothing to search (and step sizes derived from ε would be 0), so robust
  // accuracy at ε = 0 is the clean accuracy.
  const args = { x, labels, threat, config, rng: new Rng(opts.seed ?? 0), targets: opts.targets };
  let proposal: tf.Tensor4D;
  if (threat.eps === 0) proposal = tf.clone(x);
  else if (def.proposeSteps) proposal = yield* def.proposeSteps({ ...args, model });
  else if (isSyncClassifier(model)) proposal = def.propose({ ...args, model });
  else
    throw new AttackError(
      `${def.name} needs the model's gradients; ${model.name} is a black box (logitsAsync only): attack it with square`,
    );
  try {
    return yield* finalizeSteps(model, x, labels, proposal, threat, def.targeted ? opts.targets : undefined, def.name);
  } finally {
    proposal.dispose();
  }
}
