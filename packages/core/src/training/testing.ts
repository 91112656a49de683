/** Test helpers for the loop's policies (excluded from the build, like every `testing.ts`). */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { blobConfig, blobModel } from '../testing/training.ts';
import type { AdversarialTrainingConfig } from './config.ts';
import type { MetricsLine } from './held-out.ts';
import { makeOptimizer } from './optim.ts';
import type { LoopContext, LoopState } from './policy.ts';
import { fanOut } from './reporter.ts';
import { MemoryTrainingStore } from './store.ts';

/** A policy's view of a run, with its own store, model and optimiser; `events` collects onEvent / onCoFlag / onCheckpoint. */
export function policyContext(over: { config?: Partial<AdversarialTrainingConfig>; state?: Partial<LoopState> } = {}) {
  const config = blobConfig(over.config);
  const store = new MemoryTrainingStore();
  const model: tfl.LayersModel = blobModel();
  const optimizer: tf.Optimizer = makeOptimizer('adam', 0.01);
  const events: string[] = [];
  const ctx: LoopContext & { state: LoopState } = {
    config,
    model,
    optimizer,
    store,
    meta: { dataset: 'blobs', trainedWith: { tag: 't' } },
    report: fanOut([
      {
        onEvent: (m) => void events.push(m),
        onCoFlag: (f) => void events.push(`co-flag ${f.rules.join(',')}`),
        onCheckpoint: (c) => void events.push(`checkpoint ${c.epoch} ${c.location}`),
      },
    ]),
    state: { epoch: 0, step: 0, rng: 1, method: config.method, alpha: config.alpha, rollbacks: 0, seconds: 0, ...over.state },
  };
  const dispose = () => {
    store.dispose();
    optimizer.dispose();
    model.dispose();
  };
  return { ctx, store, model, optimizer, events, dispose };
}

/** A held-out line with the given accuracies (the rest neutral). */
export function line(
  epoch: number,
  step: number,
  acc: Partial<Pick<MetricsLine, 'clean_acc' | 'fgsm_acc' | 'pgd_acc' | 'grad_align'>>,
): MetricsLine {
  return {
    epoch,
    step,
    loss: 1,
    clean_acc: 0.8,
    fgsm_acc: 0.5,
    pgd_acc: 0.4,
    grad_align: 0.9,
    fgsm_pgd_cos: 0.9,
    eps: 0.05,
    lr: 0.01,
    method: 'fgsm',
    seconds: 0,
    examples_per_s: 0,
    ...acc,
  };
}
