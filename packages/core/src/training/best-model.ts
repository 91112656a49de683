import type { LoopPolicy } from './policy.ts';

/**
 * Stores the model as 'best' whenever held-out PGD accuracy beats every earlier line of the run (a resumed
 * run's included). A line the CO monitor flagged never counts: its PGD number is the one CO makes
 * unreliable.
 */
export function bestModelSaver(): LoopPolicy {
  let best = -1;
  return {
    onStart(_ctx, history) {
      best = history.reduce((b, l) => Math.max(b, l.pgd_acc ?? -1), -1);
    },
    async afterHeldOut(ctx, line) {
      if (line.pgd_acc > best && !line.co) {
        best = line.pgd_acc;
        await ctx.store.saveModelAs('best', ctx.model, {
          ...ctx.meta,
          trainedWith: { ...ctx.meta.trainedWith, epoch: line.epoch, step: line.step, heldout_pgd_acc: line.pgd_acc },
        });
      }
      return undefined;
    },
  };
}
