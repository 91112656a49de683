/**
 * The training run: an epoch/batch driver around `trainingStep`, with the behaviours that shape a run
 * (checkpoints, best model, CO policy) as policies and everything it reports going to reporters.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageSet } from '../data/types.ts';
import { batchTensors, chunks, range } from '../eval/batches.ts';
import type { ModelMeta } from '../models/meta.ts';
import { atChance } from '../diagnostics/chance.ts';
import { Rng } from '../util/rng.ts';
import { makeObjective, type Forward, type StepContext } from './objectives.ts';
import { epsilonAt, learningRate } from './schedules.ts';
import { makeOptimizer, trainableVariables } from './optim.ts';
import { SophiaOptimizer } from './sophia.ts';
import type { TrainingStore } from './store.ts';
import { type AdversarialTrainingConfig, validateTrainingConfig } from './config.ts';
import { heldOutMetrics, type MetricsLine } from './held-out.ts';
import { fanOut, type TrainingReporter, type TrainingResult } from './reporter.ts';
import type { LoopContext, LoopControl, LoopPolicy, LoopState } from './policy.ts';
import { trainingStep, type StepTarget } from './step.ts';
import { checkpointer, resumeFrom } from './checkpointer.ts';
import { bestModelSaver } from './best-model.ts';
import { coPolicy } from './co-policy.ts';

/** The examples of a run: `train` for the steps (only its first `config.limit`, if set), `heldOut` for the metrics. */
export interface TrainingData {
  train: ImageSet;
  /** Held-out metrics are measured on its first `config.heldOut` examples. */
  heldOut: ImageSet;
}

/**
 * What every run does unless told otherwise, in the order the driver consults them: the best-model saver
 * sees a line before the CO policy can end the epoch on it, and the checkpointer runs after each epoch.
 */
export function defaultPolicies(c: Pick<AdversarialTrainingConfig, 'onCo' | 'co'>): LoopPolicy[] {
  return [bestModelSaver(), coPolicy(c.onCo, c.co), checkpointer()];
}

/**
 * Trains `model` on `data.train` with `config`, measuring on `data.heldOut` every `evalEvery` batches and
 * at the end of every epoch. Writes metrics lines, checkpoints and the best/final models to `store`, and
 * resumes from its newest checkpoint when there is one (the caller checks the config matches).
 * `policies` (default: defaultPolicies(config)) are fresh objects for this run; pass a list to drop or add behaviours.
 */
export async function train(
  model: tfl.LayersModel,
  data: TrainingData,
  config: AdversarialTrainingConfig,
  store: TrainingStore,
  meta: ModelMeta,
  reporters: TrainingReporter | readonly TrainingReporter[] = [],
  policies?: readonly LoopPolicy[],
): Promise<TrainingResult> {
  validateTrainingConfig(config); // first, so a bad option is reported as such and not by a policy that trips on it
  policies ??= defaultPolicies(config);
  const optimizer = makeOptimizer(config.optimizer, config.lr, config.momentum, {
    weightDecay: config.weightDecay,
    ...(config.rho !== undefined ? { rho: config.rho } : {}),
    ...(config.hessianEvery !== undefined ? { hessianEvery: config.hessianEvery } : {}),
  });
  try {
    return await drive(model, data, config, store, meta, optimizer, fanOut(Array.isArray(reporters) ? reporters : [reporters]), policies);
  } finally {
    optimizer.dispose();
  }
}

// `line` is undefined only for an epoch without batches (an empty training set).
type EpochOutcome = LoopControl | { completed: LoopState; line: MetricsLine | undefined };

async function drive(
  model: tfl.LayersModel,
  data: TrainingData,
  c: AdversarialTrainingConfig,
  store: TrainingStore,
  meta: ModelMeta,
  optimizer: tf.Optimizer,
  report: LoopContext['report'],
  policies: readonly LoopPolicy[],
): Promise<TrainingResult> {
  const n = Math.min(c.limit ?? data.train.n, data.train.n);
  const forward: Forward = (x, training) => model.apply(x, { training }) as tf.Tensor2D;
  // Sophia decays weights itself (decoupled); the others add λ/2·‖θ‖² to the loss.
  const sophia = optimizer instanceof SophiaOptimizer;
  const target: StepTarget = {
    forward,
    optimizer,
    vars: trainableVariables(model),
    weightDecay: sophia ? 0 : c.weightDecay,
    hessianEstimator: c.hessianEstimator ?? 'gnb',
  };
  const numClasses = (model.outputs[0]!.shape as number[])[1]!;
  const batchesPerEpoch = Math.ceil(n / c.batchSize);
  const totalBatches = batchesPerEpoch * c.epochs;

  const resumed = await resumeFrom(store, model, optimizer);
  let state: LoopState = resumed?.state ?? {
    epoch: 0,
    step: 0,
    rng: new Rng(c.seed).state,
    method: c.method,
    alpha: c.alpha,
    rollbacks: 0,
    seconds: 0,
  };
  const ctx: LoopContext = {
    config: c,
    model,
    optimizer,
    store,
    meta,
    report,
    get state() {
      return state;
    },
  };
  await report.onStart({
    config: c,
    firstEpoch: state.epoch + 1,
    epochs: c.epochs,
    batchesPerEpoch,
    examples: n,
    resumedFrom: resumed?.from,
  });
  if (resumed) await report.onEvent(`resumed from epoch ${state.epoch} (${resumed.from.location})`);
  const history = store.readMetrics<MetricsLine>();
  for (const p of policies) await p.onStart?.(ctx, history);

  // The alignment of the latest held-out line, shown with each step; it survives epochs and rollbacks.
  let lastAlign: number | undefined;

  async function runEpoch(epoch: number): Promise<EpochOutcome> {
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
    let line: MetricsLine | undefined;
    for (let b = 0; b < batches.length; b++) {
      const idx = batches[b]!;
      const lr = learningRate(c.schedule, c.lr, ((epoch - 1) * batchesPerEpoch + b) / totalBatches);
      setLearningRate(optimizer, lr);
      const eps = epsilonAt(c.eps, c.epsRampEpochs, epoch - 1 + b / batchesPerEpoch);
      // During an ε ramp the step size shrinks with ε, so α/ε stays what the method (or a rollback) chose.
      const stepObjective =
        eps === c.eps
          ? objective
          : makeObjective({ ...c, method: state.method, alpha: state.alpha === undefined ? undefined : (state.alpha * eps) / c.eps }, eps);
      const { x, y } = batchTensors(data.train, idx);
      let step: { loss: number; hits: number };
      const stepContext: StepContext = { eps, rng, ...(state.regularizer ? { regularizer: state.regularizer } : {}) };
      try {
        step = trainingStep(target, stepObjective, x, y, stepContext);
      } finally {
        tf.dispose([x, y]);
      }
      if (stepContext.regularizer) state.regularizer = stepContext.regularizer;
      lossSum += step.loss * idx.length;
      lossSince += step.loss * idx.length;
      advHits += step.hits;
      seen += idx.length;
      sinceEval += idx.length;
      state.step += 1;
      await report.onStep({
        epoch,
        step: state.step,
        batch: b + 1,
        batches: batches.length,
        loss: lossSum / seen,
        advAcc: advHits / seen,
        align: lastAlign,
      });
      const endOfEpoch = b === batches.length - 1;
      if (!endOfEpoch && !(c.evalEvery > 0 && (b + 1) % c.evalEvery === 0)) continue;

      const te = performance.now();
      const m = heldOutMetrics(model, data.heldOut, c, eps);
      evalMs += performance.now() - te;
      lastAlign = m.grad_align;
      line = {
        epoch,
        step: state.step,
        loss: lossSince / Math.max(1, sinceEval),
        ...m,
        ...(sophia ? { unclipped_fraction: optimizer.unclippedFraction() } : {}),
        eps,
        lr,
        method: state.method,
        ...(state.alpha !== undefined ? { alpha: state.alpha } : {}),
        seconds: state.seconds + (performance.now() - t0) / 1000,
        // Training throughput: the held-out measurements are excluded.
        examples_per_s: seen / ((performance.now() - t0 - evalMs) / 1000),
      };
      for (const p of policies) p.inspect?.(line);
      // Judged on whole epochs only: within the first one a run that will learn is often still at chance.
      const epochLoss = lossSum / seen;
      const dead = endOfEpoch && atChance({ clean_acc: m.clean_acc, loss: epochLoss }, numClasses);
      if (dead) line.at_chance = true;
      store.appendMetrics(line);
      await report.onHeldOut(line);
      if (dead)
        await report.onEvent(
          `epoch ${epoch}: still at chance (held-out clean ${(100 * m.clean_acc).toFixed(1)}%, loss ${epochLoss.toFixed(3)} ≈ ln ${numClasses}): training has not started — a smaller ε at first (--eps-ramp) or another seed may help`,
        );
      sinceEval = 0;
      lossSince = 0;
      for (const p of policies) {
        const control = await p.afterHeldOut?.(ctx, line);
        if (control) return control;
      }
    }
    return { completed: { ...state, epoch, rng: rng.state, seconds: state.seconds + (performance.now() - t0) / 1000 }, line };
  }

  let stoppedByCo = false;
  for (let epoch = state.epoch + 1; epoch <= c.epochs; epoch++) {
    const outcome = await runEpoch(epoch);
    if ('stop' in outcome) {
      stoppedByCo = true;
      break;
    }
    if ('restart' in outcome) {
      state = outcome.restart;
      epoch = state.epoch; // the loop's ++ re-runs the epoch after the restored checkpoint
      continue;
    }
    state = outcome.completed;
    if (outcome.line) await report.onEpochEnd({ epoch, line: outcome.line });
    for (const p of policies) await p.afterEpoch?.(ctx, state);
  }
  await store.saveModelAs('model', model, {
    ...meta,
    trainedWith: { ...meta.trainedWith, epochs_done: state.epoch, stopped_by_co: stoppedByCo },
  });
  const result: TrainingResult = { metrics: store.readMetrics<MetricsLine>(), stoppedByCo };
  await report.onEnd(result);
  return result;
}

function setLearningRate(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (v: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}
