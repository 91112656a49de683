import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import '../util/tf-gradients.ts';
import type { ImageSet } from '../data/types.ts';
import { batchTensors, chunks, range } from '../eval/batches.ts';
import { classifierFromLayersModel } from '../models/classifier.ts';
import type { ModelMeta } from '../models/meta.ts';
import { runAttack } from '../attacks/run.ts';
import { threatModel } from '../threat/threat.ts';
import { CoMonitor, type CoRule } from '../diagnostics/co-monitor.ts';
import { fgsmPgdCosine, gradientAlignment } from '../diagnostics/alignment.ts';
import { atChance } from '../diagnostics/chance.ts';
import { Rng } from '../util/rng.ts';
import { makeObjective, type Forward, type MethodName } from './objectives.ts';
import { epsilonAt, learningRate } from './schedules.ts';
import { makeOptimizer, trainableVariables } from './optim.ts';
import type { TrainingStore } from './store.ts';
import { type AdversarialTrainingConfig, validateTrainingConfig } from './config.ts';

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

export interface TrainingHooks {
  onBatch?: (p: { epoch: number; epochs: number; batch: number; batches: number; loss: number; advAcc: number; align?: number }) => void;
  onMetrics?: (m: MetricsLine) => void;
  onEvent?: (message: string) => void;
}

/** Loop state saved with every checkpoint. */
interface LoopState {
  epoch: number;
  step: number;
  rng: number;
  method: MethodName;
  alpha?: number;
  rollbacks: number;
  seconds: number;
}

/** Held-out metrics of `model` at ε: clean, FGSM and PGD-K accuracy, alignment, FGSM–PGD cosine. */
export function heldOutMetrics(
  model: tfl.LayersModel,
  set: ImageSet,
  c: Pick<AdversarialTrainingConfig, 'heldOut' | 'alignExamples' | 'pgdEvalSteps' | 'seed'>,
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
  return { clean_acc: clean / n, fgsm_acc: fgsm / n, pgd_acc: pgd / n, grad_align: align, fgsm_pgd_cos: cos };
}

/**
 * Adversarial training with live CO diagnostics over one loop; the method is an objective. Writes
 * metrics, checkpoints (every epoch) and the best/final models into `run`, and resumes from its newest
 * checkpoint when there is one (the caller checks the config matches).
 */
export async function trainAdversarial(
  model: tfl.LayersModel,
  train: ImageSet,
  heldOut: ImageSet,
  c: AdversarialTrainingConfig,
  run: TrainingStore,
  meta: ModelMeta,
  hooks: TrainingHooks = {},
): Promise<{ metrics: MetricsLine[]; stoppedByCo: boolean }> {
  validateTrainingConfig(c);
  const n = Math.min(c.limit ?? train.n, train.n);
  const optimizer = makeOptimizer(c.optimizer, c.lr, c.momentum);
  const vars = trainableVariables(model);
  const forward: Forward = (x, training) => model.apply(x, { training }) as tf.Tensor2D;
  const numClasses = (model.outputs[0]!.shape as number[])[1]!;
  let state: LoopState = { epoch: 0, step: 0, rng: new Rng(c.seed).state, method: c.method, alpha: c.alpha, rollbacks: 0, seconds: 0 };

  const ckpt = run.latestCheckpoint();
  if (ckpt) {
    state = await run.restoreCheckpoint<LoopState>(ckpt, model, optimizer);
    run.truncateMetrics((l) => (l.epoch as number) <= state.epoch);
    hooks.onEvent?.(`resumed from epoch ${state.epoch} (${ckpt.location})`);
  } else if (run.readMetrics().length > 0) {
    run.truncateMetrics(() => false); // killed before the first checkpoint: start over cleanly
  }
  const monitor = CoMonitor.replay(
    run.readMetrics<MetricsLine>().filter((l) => l.event === undefined),
    c.co,
  );
  let bestPgd = Math.max(-1, ...run.readMetrics<MetricsLine>().map((l) => l.pgd_acc ?? -1));
  const batchesPerEpoch = Math.ceil(n / c.batchSize);
  const totalBatches = batchesPerEpoch * c.epochs;
  const all: MetricsLine[] = run.readMetrics<MetricsLine>();
  let stoppedByCo = false;
  let lastAlign: number | undefined;

  for (let epoch = state.epoch + 1; epoch <= c.epochs && !stoppedByCo; epoch++) {
    const rng = Rng.fromState(state.rng);
    const objective = makeObjective({ ...c, method: state.method, alpha: state.alpha }, c.eps);
    const order = rng.shuffle(range(n));
    const t0 = performance.now();
    let lossSum = 0,
      advHits = 0,
      seen = 0,
      sinceEval = 0,
      lossSince = 0,
      evalMs = 0;
    const batches = chunks(order, c.batchSize);
    let lr = c.lr;
    let eps = c.eps;
    for (let b = 0; b < batches.length; b++) {
      const idx = batches[b]!;
      const progress = ((epoch - 1) * batchesPerEpoch + b) / totalBatches;
      lr = learningRate(c.schedule, c.lr, progress);
      setLearningRate(optimizer, lr);
      eps = epsilonAt(c.eps, c.epsRampEpochs, epoch - 1 + b / batchesPerEpoch);
      const stepObjective =
        eps === c.eps
          ? objective
          : makeObjective({ ...c, method: state.method, alpha: state.alpha === undefined ? undefined : (state.alpha * eps) / c.eps }, eps);
      const { x, y } = batchTensors(train, idx);
      const prepared = stepObjective.prepare(forward, x, y, { eps, rng });
      const loss = tf.tidy(() => {
        const l = optimizer.minimize(
          () => {
            let value = stepObjective.loss(forward, x, y, prepared, { eps, rng });
            if (c.weightDecay > 0)
              value = tf.add(value, tf.mul(c.weightDecay / 2, tf.addN(vars.map((v) => tf.sum(tf.square(v)))))) as tf.Scalar;
            return value;
          },
          true,
          vars,
        )!;
        return l.dataSync()[0]!;
      });
      // Training accuracy on the points the step was taken at (adversarial for AT methods).
      const hitsT = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(forward(prepared[0] ?? x, false), 1), y), 'float32')));
      const hits = hitsT.dataSync()[0]!;
      tf.dispose([x, y, hitsT, ...prepared]);
      lossSum += loss * idx.length;
      lossSince += loss * idx.length;
      advHits += hits;
      seen += idx.length;
      sinceEval += idx.length;
      state.step += 1;
      hooks.onBatch?.({
        epoch,
        epochs: c.epochs,
        batch: b + 1,
        batches: batches.length,
        loss: lossSum / seen,
        advAcc: advHits / seen,
        align: lastAlign,
      });
      const endOfEpoch = b === batches.length - 1;
      if (endOfEpoch || (c.evalEvery > 0 && (b + 1) % c.evalEvery === 0)) {
        const te = performance.now();
        const m = heldOutMetrics(model, heldOut, c, eps);
        evalMs += performance.now() - te;
        lastAlign = m.grad_align;
        const seconds = state.seconds + (performance.now() - t0) / 1000;
        const line: MetricsLine = {
          epoch,
          step: state.step,
          loss: lossSince / Math.max(1, sinceEval),
          ...m,
          eps,
          lr,
          method: state.method,
          ...(state.alpha !== undefined ? { alpha: state.alpha } : {}),
          // Training throughput: the held-out measurements are excluded.
          seconds,
          examples_per_s: seen / ((performance.now() - t0 - evalMs) / 1000),
        };
        const verdict = monitor.observe(line);
        if (verdict.co) Object.assign(line, { co: true as const, co_rules: verdict.rules, co_detail: verdict.detail });
        // Judged on whole epochs only: within the first one a run that will learn is often still at chance.
        const epochLoss = lossSum / seen;
        const dead = endOfEpoch && atChance({ clean_acc: m.clean_acc, loss: epochLoss }, numClasses);
        if (dead) line.at_chance = true;
        run.appendMetrics(line);
        all.push(line);
        hooks.onMetrics?.(line);
        if (dead)
          hooks.onEvent?.(
            `epoch ${epoch}: still at chance (held-out clean ${(100 * m.clean_acc).toFixed(1)}%, loss ${epochLoss.toFixed(3)} ≈ ln ${numClasses}): training has not started — a smaller ε at first (--eps-ramp) or another seed may help`,
          );
        sinceEval = 0;
        lossSince = 0;
        if (m.pgd_acc > bestPgd && !verdict.co) {
          bestPgd = m.pgd_acc;
          await run.saveModelAs('best', model, {
            ...meta,
            trainedWith: { ...meta.trainedWith, epoch, step: state.step, heldout_pgd_acc: m.pgd_acc },
          });
        }
        if (verdict.co) {
          if (c.onCo === 'warn') hooks.onEvent?.(`catastrophic overfitting at epoch ${epoch}, step ${state.step}: ${verdict.detail}`);
          else if (c.onCo === 'stop') {
            hooks.onEvent?.(`catastrophic overfitting at epoch ${epoch}: stopping (${verdict.detail})`);
            stoppedByCo = true;
            break;
          } else {
            const rolled = await rollback(run, model, optimizer, state, c);
            if (rolled) {
              const ev = { epoch, step: state.step, event: rolled.message };
              run.appendMetrics(ev);
              hooks.onEvent?.(rolled.message);
              state = rolled.state;
              monitor.reset(all.filter((l) => l.event === undefined && l.epoch <= state.epoch));
              epoch = state.epoch; // the for-loop's ++ re-runs the epoch after the checkpoint
              break;
            }
            hooks.onEvent?.(
              `catastrophic overfitting at epoch ${epoch}; no rollback left (no checkpoint, or two already done): continuing`,
            );
          }
        }
      }
    }
    if (stoppedByCo) break;
    if (epoch > state.epoch) {
      state = { ...state, epoch, rng: rng.state, seconds: state.seconds + (performance.now() - t0) / 1000 };
      await run.writeCheckpoint(epoch, model, optimizer, state, { ...meta, trainedWith: { ...meta.trainedWith, epoch } });
    }
  }
  await run.saveModelAs('model', model, {
    ...meta,
    trainedWith: { ...meta.trainedWith, epochs_done: state.epoch, stopped_by_co: stoppedByCo },
  });
  optimizer.dispose();
  return { metrics: run.readMetrics<MetricsLine>(), stoppedByCo };
}

function setLearningRate(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (v: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/**
 * Rollback policy: restore the newest checkpoint (the end of the last epoch before CO was seen) and
 * continue more cautiously — first with half the FGSM step, then with GradAlign.
 */
async function rollback(
  run: TrainingStore,
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  state: LoopState,
  c: AdversarialTrainingConfig,
) {
  const ckpt = run.latestCheckpoint();
  // Two rollbacks (smaller α, then GradAlign) at most: a run that still collapses is reported, not looped.
  if (!ckpt || state.rollbacks >= 2) return undefined;
  const restored = await run.restoreCheckpoint<LoopState>(ckpt, model, optimizer);
  const fgsmLike = state.method === 'fgsm' || state.method === 'fgsm-rs';
  const currentAlpha = state.alpha ?? (state.method === 'fgsm-rs' ? 1.25 * c.eps : c.eps);
  const next: LoopState =
    fgsmLike && state.rollbacks === 0
      ? { ...restored, method: state.method, alpha: currentAlpha / 2, rollbacks: state.rollbacks + 1 }
      : { ...restored, method: 'gradalign', alpha: undefined, rollbacks: state.rollbacks + 1 };
  const message = `catastrophic overfitting: rolled back to epoch ${restored.epoch}, continuing with ${next.method}${next.alpha !== undefined ? ` α=${next.alpha.toFixed(4)}` : ''}`;
  return { state: next, message };
}
