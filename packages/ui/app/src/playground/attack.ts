/**
 * One white-box attack of one model on one image, through @advlab/core's runAttackAsync: the attack proposes,
 * core's trust boundary (finalizeAttack) re-projects onto the ε-ball ∩ [lo, hi] and checks it; the verdict
 * shown is then the model's own answer on that returned point, asked again here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { classifierBounds, getAttack, runAttackAsync, threatModel, type Classifier } from '@advlab/core';

/** The attacks the playground offers: registry names of @advlab/core, and how the page describes them. */
export const PLAYGROUND_ATTACKS = [
  { name: 'fgsm', label: 'FGSM' },
  { name: 'pgd', label: 'PGD' },
  { name: 'apgd-ce', label: 'APGD-CE' },
  { name: 'pgd-targeted', label: 'PGD, targeted' },
] as const;

export type PlaygroundAttack = (typeof PLAYGROUND_ATTACKS)[number]['name'];

export interface AttackRequest {
  attack: PlaygroundAttack;
  /** L∞ radius, in the model's input units. */
  eps: number;
  /** The class the attack moves away from: the true label, or the model's clean prediction when unknown. */
  label?: number;
  /** The class a targeted attack aims at. */
  target?: number;
}

export interface AttackOutcome {
  /** The clean input and the adversarial one, h × w × c, in the model's bounds. */
  clean: Float32Array;
  adversarial: Float32Array;
  cleanProbs: Float32Array;
  adversarialProbs: Float32Array;
  cleanPred: number;
  adversarialPred: number;
  /** The class attacked away from, and whether it is the image's true label (else the clean prediction). */
  label: number;
  labelKnown: boolean;
  /** ‖δ‖∞ as core's trust boundary measured it. */
  distance: number;
  bounds: readonly [number, number];
}

/** What a run of `attack` at radius ε does with its defaults (steps, step size), for the page to say. */
export function describeSettings(attack: PlaygroundAttack, eps: number): string {
  const def = getAttack(attack);
  const config = def.defaults(threatModel('linf', eps)) as { steps?: number; alpha?: number; randomStart?: boolean };
  const parts = [`${config.steps ?? '?'} step${config.steps === 1 ? '' : 's'}`];
  if (typeof config.alpha === 'number') parts.push(`step ${Number(config.alpha.toPrecision(3))}`);
  else parts.push('adaptive step size');
  if (config.randomStart) parts.push('random start');
  return `${def.description} — L∞, ${parts.join(', ')} (core's defaults, as \`advlab attack\`).`;
}

function argMax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Softmax of the classifier's logits for a batch of one. */
async function probabilities(classifier: Classifier, x: tf.Tensor4D): Promise<Float32Array> {
  const probs = tf.tidy(() => tf.softmax(classifier.logits(x)));
  try {
    return (await probs.data()) as Float32Array;
  } finally {
    probs.dispose();
  }
}

/** Attacks `classifier` on `pixels` (h × w × c in its bounds); every tensor made here is disposed before returning. */
export async function attackImage(classifier: Classifier, pixels: Float32Array, request: AttackRequest): Promise<AttackOutcome> {
  const [h, w, c] = classifier.inputShape;
  const bounds = classifierBounds(classifier);
  const owned: tf.Tensor[] = [];
  try {
    const x = tf.tensor4d(pixels, [1, h, w, c], 'float32');
    owned.push(x);
    const cleanProbs = await probabilities(classifier, x);
    const cleanPred = argMax(cleanProbs);
    const labelKnown = request.label !== undefined && request.label < classifier.numClasses;
    const label = labelKnown ? request.label! : cleanPred;
    const labels = tf.tensor1d([label], 'int32');
    owned.push(labels);
    let targets: tf.Tensor1D | undefined;
    if (getAttack(request.attack).targeted) {
      const target = request.target;
      if (target === undefined || !Number.isInteger(target) || target < 0 || target >= classifier.numClasses) {
        throw new Error(`target class ${target ?? '(none)'} is not one of this model's ${classifier.numClasses} classes`);
      }
      targets = tf.tensor1d([target], 'int32');
      owned.push(targets);
    }
    const threat = threatModel('linf', request.eps, { bounds });
    const result = await runAttackAsync(request.attack, classifier, x, labels, threat, { seed: 0, ...(targets ? { targets } : {}) });
    owned.push(result.xAdv);
    // The verdict is the model's answer on the point the trust boundary returned, not anything the attack said.
    const adversarialProbs = await probabilities(classifier, result.xAdv);
    return {
      clean: pixels,
      adversarial: (await result.xAdv.data()) as Float32Array,
      cleanProbs,
      adversarialProbs,
      cleanPred,
      adversarialPred: argMax(adversarialProbs),
      label,
      labelKnown,
      distance: result.distance[0]!,
      bounds,
    };
  } finally {
    tf.dispose(owned);
  }
}
