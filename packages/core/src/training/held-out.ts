/** The held-out measurement a training run makes every `evalEvery` batches, and the metrics line it writes. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import '../util/tf-gradients.ts';
import type { ImageSet } from '../data/types.ts';
import { batchTensors, chunks, range } from '../eval/batches.ts';
import { classifierFromLayersModel, type Classifier } from '../models/classifier.ts';
import { cureCurvature, elleError, inputTopEigenvalues, linearityError } from '../curvature/input.ts';
import { runAttack } from '../attacks/run.ts';
import { threatModel } from '../threat/threat.ts';
import type { CoRule } from '../diagnostics/co-monitor.ts';
import { fgsmPgdCosine, gradientAlignment } from '../diagnostics/alignment.ts';
import { Rng } from '../util/rng.ts';
import type { MethodName } from './objectives.ts';
import type { AdversarialTrainingConfig } from './config.ts';

/**
 * One line of a run's metrics: a held-out measurement (accuracies as fractions of the held-out examples, `seconds`
 * the run's wall time so far, `co*` set when the CO monitor fired), or an event line whose `event` is a message.
 */
export interface MetricsLine {
  epoch: number;
  step: number;
  /** Mean training loss since the previous line. */
  loss: number;
  clean_acc: number;
  fgsm_acc: number;
  pgd_acc: number;
  grad_align: number;
  fgsm_pgd_cos: number;
  /**
   * Input curvature on the first `curvatureExamples` held-out examples, means over them (docs/curvature.md):
   * λ_max(∇ₓ²ℓ) by 10 power iterations, the linearity error γ by 10 ascent steps, ELLE's error (one triple),
   * CURE's gradient change over the FGSM step (h = ε·√d). Absent when off or at ε = 0.
   */
  input_top_eigenvalue?: number;
  linearity_error?: number;
  elle?: number;
  cure?: number;
  /** Sophia only: the fraction of coordinates its last step did not clip (its tuning guide: 0.1–0.5). */
  unclipped_fraction?: number;
  eps: number;
  lr: number;
  method: MethodName;
  alpha?: number;
  seconds: number;
  examples_per_s: number;
  co?: true;
  co_rules?: CoRule[];
  co_detail?: string;
  /** On an end-of-epoch line: held-out clean accuracy and the loss are still at chance (see atChance). */
  at_chance?: true;
  event?: string;
}

/** Held-out metrics of `model` at ε: clean, FGSM and PGD-K accuracy, alignment, FGSM–PGD cosine. */
export function heldOutMetrics(
  model: tfl.LayersModel,
  set: ImageSet,
  c: Pick<AdversarialTrainingConfig, 'heldOut' | 'alignExamples' | 'pgdEvalSteps' | 'seed'> & { curvatureExamples?: number },
  eps: number,
) {
  const classifier = classifierFromLayersModel(model, { name: 'training' });
  const n = Math.min(c.heldOut, set.n);
  const threat = threatModel('linf', eps);
  let clean = 0,
    fgsm = 0,
    pgd = 0;
  let b = 0;
  for (const idx of chunks(range(n), 256)) {
    const { x, y } = batchTensors(set, idx);
    const yData = y.dataSync();
    const pred = tf.tidy(() => tf.argMax(classifier.logits(x), 1).dataSync());
    const f = runAttack('fgsm', classifier, x, y, threat);
    const p = runAttack('pgd', classifier, x, y, threat, { config: { steps: c.pgdEvalSteps, alpha: eps / 4 }, seed: c.seed * 7919 + b++ });
    for (let i = 0; i < idx.length; i++) {
      const ok = pred[i] === yData[i];
      clean += ok ? 1 : 0;
      fgsm += ok && !f.success[i] ? 1 : 0;
      pgd += ok && !p.success[i] ? 1 : 0;
    }
    tf.dispose([x, y, f.xAdv, p.xAdv]);
  }
  const { x, y } = batchTensors(set, range(Math.min(c.alignExamples, n)));
  const rng = new Rng(c.seed + 17);
  const align = eps > 0 ? gradientAlignment(classifier, x, y, eps, rng) : 1;
  const cos = eps > 0 ? fgsmPgdCosine(classifier, x, y, eps, rng, c.pgdEvalSteps) : 1;
  tf.dispose([x, y]);
  const m = Math.min(c.curvatureExamples ?? 0, n);
  const curvature = m > 0 && eps > 0 ? heldOutCurvature(classifier, set, m, eps, new Rng(c.seed + 31)) : {};
  return { clean_acc: clean / n, fgsm_acc: fgsm / n, pgd_acc: pgd / n, grad_align: align, fgsm_pgd_cos: cos, ...curvature };
}

const mean = (v: Float32Array) => v.reduce((a, b) => a + b, 0) / v.length;

/**
 * The held-out input-curvature measures on the first m examples of `set` (their own random stream, so the other
 * metrics do not move); bench/curvature-overhead.ts times exactly this.
 */
export function heldOutCurvature(
  classifier: Classifier,
  set: ImageSet,
  m: number,
  eps: number,
  rng: Rng,
): Required<Pick<MetricsLine, 'input_top_eigenvalue' | 'linearity_error' | 'elle' | 'cure'>> {
  const threat = threatModel('linf', eps);
  const { x, y } = batchTensors(set, range(m));
  try {
    return {
      input_top_eigenvalue: mean(inputTopEigenvalues(classifier, x, y, { maxIterations: 10, rng }).values),
      linearity_error: mean(linearityError(classifier, x, y, threat, { steps: 10, rng })),
      elle: mean(elleError(classifier, x, y, threat, { rng })),
      cure: mean(cureCurvature(classifier, x, y, { h: eps * Math.sqrt(set.height * set.width * set.channels) })),
    };
  } finally {
    tf.dispose([x, y]);
  }
}
