import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LoopPolicy, LoopState } from './policy.ts';
import type { CheckpointRef, TrainingStore } from './store.ts';

/**
 * Puts `model` and `optimizer` back where the store's newest checkpoint left them and drops the metrics
 * lines written after it; returns the loop state to continue from, or undefined for a fresh start (after
 * clearing lines of a run killed before its first checkpoint).
 */
export async function resumeFrom(
  store: TrainingStore,
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
): Promise<{ state: LoopState; from: CheckpointRef } | undefined> {
  const from = store.latestCheckpoint();
  if (from) {
    const state = await store.restoreCheckpoint(from, model, optimizer);
    store.truncateMetrics((l) => (l.epoch as number) <= state.epoch);
    return { state, from };
  }
  if (store.readMetrics().length > 0) store.truncateMetrics(() => false);
  return undefined;
}

/** A checkpoint after every completed epoch: what resumes and CO rollbacks restore. */
export function checkpointer(): LoopPolicy {
  return {
    async afterEpoch(ctx, state) {
      const { epoch } = state;
      await ctx.store.writeCheckpoint(epoch, ctx.model, ctx.optimizer, state, {
        ...ctx.meta,
        trainedWith: { ...ctx.meta.trainedWith, epoch },
      });
      await ctx.report.onCheckpoint({ epoch, location: ctx.store.latestCheckpoint()?.location ?? `epoch ${epoch}` });
    },
  };
}
