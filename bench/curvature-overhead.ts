/**
 * `npm run bench:curvature`: what the held-out curvature measures cost against an FGSM-AT epoch (issue 13: at most
 * 15% when left on). advlab against itself, so no peer: per round, in one process, one FGSM-AT epoch (zero init,
 * α = ε, Adam 1e-3, batch 128, every training example once, each batch through training's own `trainingStep`), then one held-out line without the curvature
 * measures (clean, FGSM, PGD-10 on `--held-out` examples, alignment and FGSM–PGD cosine on 256), then the
 * curvature measures alone on `--examples` held-out examples, exactly as training computes them
 * (training/held-out.ts heldOutCurvature: 10 power iterations, 10 ascent steps, one ELLE triple, CURE). The model
 * trains on from round to round (the measures' cost does not depend on the weights: fixed iteration counts).
 *
 *   node --conditions=source --import tsx bench/curvature-overhead.ts [--rounds 5] [--eps 0.2] [--examples 256]
 *       [--held-out 1000] [--limit N] [--model wong-cnn] [--every 20] [--quick] [--out FILE]
 *
 * Prints per round and the medians of the per-round ratios: curvature / epoch when measured once per epoch (the
 * default cadence), and when measured every `--every` batches (the reproduce curvature group's cadence).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  backendInfo,
  batchTensors,
  chunks,
  classifierFromLayersModel,
  createModel,
  makeObjective,
  makeOptimizer,
  range,
  Rng,
  trainableVariables,
  trainingStep,
  useBackend,
  type Forward,
} from '@advlab/core';
import { loadFashionMnist, writeFileAtomic } from '@advlab/node';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { heldOutCurvature, heldOutMetrics } from '../packages/core/src/training/held-out.ts';
import { curvatureOverheadSummary, parseOverheadOptions, type OverheadRound } from './curvature-overhead-stats.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

async function main(argv: string[]): Promise<number> {
  const o = parseOverheadOptions(argv);
  if (o.help) {
    process.stdout.write(`${o.usage}\n`);
    return 0;
  }
  await useBackend('auto');
  const data = loadFashionMnist();
  const train = data.train;
  const limit = Math.min(o.limit ?? train.n, train.n);
  const model = createModel(o.model, { inputShape: [train.height, train.width, train.channels], numClasses: 10, seed: 0 });
  const forward: Forward = (x, training) => model.apply(x, { training }) as tf.Tensor2D;
  const classifier = classifierFromLayersModel(model, { name: 'bench' });
  const objective = makeObjective({ method: 'fgsm' }, o.eps);
  const optimizer = makeOptimizer('adam', 1e-3);
  const target = { forward, optimizer, vars: trainableVariables(model), weightDecay: 0 };
  const ctx = { eps: o.eps, rng: new Rng(0) };
  const batches = chunks(range(limit), 128);

  const rounds: OverheadRound[] = [];
  const tensorsAfterRound: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    let t0 = performance.now();
    for (const idx of batches) {
      const { x, y } = batchTensors(train, idx);
      const { loss } = trainingStep(target, objective, x, y, ctx);
      tf.dispose([x, y]);
      if (!Number.isFinite(loss)) throw new Error(`round ${r}: FGSM-AT loss is ${loss}`);
    }
    const epochMs = performance.now() - t0;
    t0 = performance.now();
    heldOutMetrics(model, data.test, { heldOut: o.heldOut, alignExamples: 256, pgdEvalSteps: 10, seed: r, curvatureExamples: 0 }, o.eps);
    const lineMs = performance.now() - t0;
    t0 = performance.now();
    const measures = heldOutCurvature(classifier, data.test, o.examples, o.eps, new Rng(r + 31));
    const curvatureMs = performance.now() - t0;
    rounds.push({ epochMs, lineMs, curvatureMs, steps: batches.length });
    tensorsAfterRound.push(tf.memory().numTensors);
    process.stderr.write(
      `round ${r + 1}/${o.rounds}: epoch ${(epochMs / 1000).toFixed(2)} s, held-out line ${(lineMs / 1000).toFixed(2)} s, curvature ${(curvatureMs / 1000).toFixed(2)} s (γ ${measures.linearity_error.toFixed(3)})\n`,
    );
  }
  const summary = curvatureOverheadSummary(rounds, o.every);
  const result = {
    what: 'held-out curvature measures vs an FGSM-AT epoch (bench/curvature-overhead.ts)',
    date: new Date().toISOString(),
    backend: backendInfo(),
    settings: {
      model: o.model,
      eps: o.eps,
      batch: 128,
      trainingExamples: limit,
      curvatureExamples: o.examples,
      heldOut: o.heldOut,
      every: o.every,
    },
    rounds,
    tensorsAfterRound,
    ...summary,
  };
  const out = o.out ?? join(HERE, 'results', o.quick ? 'curvature-overhead-quick.json' : 'curvature-overhead-latest.json');
  writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    [
      `FGSM-AT epoch (${limit} examples, ${batches.length} steps): median ${(summary.epochMs.median / 1000).toFixed(2)} s`,
      `held-out line without curvature: median ${(summary.lineMs.median / 1000).toFixed(2)} s`,
      `curvature measures on ${o.examples} examples: median ${(summary.curvatureMs.median / 1000).toFixed(2)} s`,
      `overhead, measured once per epoch: ${(100 * summary.perEpoch.median).toFixed(1)}% of an epoch (rounds: ${summary.perEpoch.values.map((v) => `${(100 * v).toFixed(1)}%`).join(', ')})`,
      `overhead, measured every ${o.every} batches (${summary.linesPerEpoch} lines per epoch): ${(100 * summary.atEvery.median).toFixed(1)}% of an epoch`,
      `wrote ${out}\n`,
    ].join('\n'),
  );
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`curvature-overhead: ${e instanceof Error ? e.message : String(e)}\n`);
  return 1;
});
