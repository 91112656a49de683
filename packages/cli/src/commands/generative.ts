/**
 * `advlab eval --generative`: the robustness of an autoencoder (a VAE or AE trained by `advlab train --model vae|ae`)
 * over fixed (source, target) pairs of the test set: AUDDC of the latent and output attacks' Lagrangian sweeps against
 * the interpolation baseline, the classifier-judged success of budgeted attacks, and the reconstruction quality.
 */
import {
  ConfigError,
  autoencoderOf,
  autoencoderSpecOf,
  classifierBounds,
  evaluateGenerative,
  generativePairs,
  logSpacedGrid,
  reconstructionQuality,
  threatModel,
  batchTensors,
  budgetedAttack,
  finalizeGenerativeAttack,
  generativeObjective,
  viz,
  type Autoencoder,
  type GenerativeAttackKind,
  type Classifier,
  type GenerativeEvaluation,
  type ModelMeta,
  type Norm,
} from '@advlab/core';
import { checkOutput, datasetFolders, encodePng, loadModel, writeFileAtomic, writeIdx } from '@advlab/node';
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { checkCompatible, checkInputShape, datasetFor, modelFolder, openModel, selectBackend } from '../context.ts';
import { ProgressBar } from '../progress.ts';

/** A generative model folder (or run directory) as an Autoencoder, with its metadata; E_MODEL_FORMAT when it is not one. */
export async function openAutoencoder(dirOrRun: string): Promise<{ ae: Autoencoder; meta: ModelMeta | undefined; dir: string }> {
  const dir = modelFolder(dirOrRun);
  const { model, meta } = await loadModel(dir);
  const source = join(dir, 'model.json');
  const spec = autoencoderSpecOf(meta, source);
  if (!spec) {
    throw new ConfigError(
      '--model',
      'a generative model (advlab train --model vae|ae) for --generative',
      `${source} without advlab.generative (a classifier?)`,
    );
  }
  return { ae: autoencoderOf(model, spec, source), meta, dir };
}

/** The autoencoder of `model` and the data it is evaluated on (--data, else its metadata's), whose images must fit it. */
async function openAutoencoderWithData(model: string, dataFlag: string | undefined, seed: number) {
  const { ae, meta, dir } = await openAutoencoder(model);
  const data = datasetFor(dataFlag, meta, seed);
  checkInputShape(ae.inputShape, data);
  return { ae, dir, data };
}

/** What `advlab eval --generative` reads from its flags. */
export interface GenerativeEvalRequest {
  model: string;
  data?: string;
  pairs: number;
  classifier?: string;
  eps: number;
  norm: Norm;
  steps: number;
  cs: number;
  sweepSteps: number;
  seed: number;
}

/** The JSON `advlab eval --generative --json FILE` writes. */
export interface GenerativeEvalReport {
  model: string;
  dataset: string;
  date: string;
  pairs: { source: number; target: number }[];
  auddc: { latent: number; output: number; interpolation: number };
  auddc_per_pair: { latent: number[]; output: number[]; interpolation: number[] };
  success_rate: Record<string, number> | null;
  budget: string;
  reconstruction: { neg_elbo: number; kl: number; mse: number; images: number };
  sweep: { cs: number; from: string; to: string; steps: number; optimizer: 'adam'; lr: number };
  curves: GenerativeEvaluation['curves'];
}

/** Runs the evaluation and prints its summary; the caller writes the JSON. */
export async function evaluateGenerativeModel(r: GenerativeEvalRequest): Promise<GenerativeEvalReport> {
  const { ae, dir, data } = await openAutoencoderWithData(r.model, r.data, r.seed);
  const classifier = r.classifier !== undefined ? await openJudge(r.classifier, data) : undefined;
  const pairs = generativePairs(data.test.labels, r.pairs, r.seed);
  const sweep = { cs: logSpacedGrid(r.cs), steps: r.sweepSteps, lr: 0.01 };
  const budget = threatModel(r.norm, r.eps);
  const stages = 1 + 2 + (classifier ? 3 : 2);
  const bar = new ProgressBar(`${ae.spec.kind} on ${r.pairs} pairs`);
  let done = 0;
  const ev = evaluateGenerative(ae, data.test, pairs, {
    sweep,
    budget,
    budgeted: { steps: r.steps },
    ...(classifier ? { classifier } : {}),
    onStage: (name) => bar.update(++done, stages, name),
  });
  const q = reconstructionQuality(ae, data.test, data.test.n, r.seed);
  const report: GenerativeEvalReport = {
    model: dir,
    dataset: data.name,
    date: new Date().toISOString(),
    pairs: ev.pairs,
    auddc: { latent: ev.curves.latent!.auddc, output: ev.curves.output!.auddc, interpolation: ev.curves.interpolation.auddc },
    auddc_per_pair: {
      latent: ev.curves.latent!.perPair,
      output: ev.curves.output!.perPair,
      interpolation: ev.curves.interpolation.perPair,
    },
    success_rate: ev.successRate ?? null,
    budget: budget.toString(),
    reconstruction: { neg_elbo: q.negElbo, kl: q.kl, mse: q.mse, images: q.images },
    sweep: { cs: r.cs, from: '2^-20', to: '2^20', steps: r.sweepSteps, optimizer: 'adam', lr: sweep.lr },
    curves: ev.curves,
  };
  process.stdout.write(`${formatGenerativeReport(report)}\n`);
  return report;
}

/** The terminal summary of a generative evaluation. */
export function formatGenerativeReport(r: GenerativeEvalReport): string {
  const f = (v: number) => v.toFixed(3);
  const rates = r.success_rate
    ? Object.entries(r.success_rate)
        .map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`)
        .join(', ')
    : 'no classifier (--classifier DIR)';
  return [
    `${r.model} on ${r.pairs.length} (source, target) pairs of ${r.dataset}`,
    `AUDDC (lower = more vulnerable): latent ${f(r.auddc.latent)}, output ${f(r.auddc.output)}; interpolation baseline ${f(r.auddc.interpolation)}`,
    `success judged by the classifier at ${r.budget}: ${rates}`,
    `reconstruction on ${r.reconstruction.images} test images: negative ELBO ${r.reconstruction.neg_elbo.toFixed(2)} nats (KL ${r.reconstruction.kl.toFixed(2)}), MSE ${r.reconstruction.mse.toFixed(4)}`,
  ].join('\n');
}

/** The files a generative `advlab attack` writes into --out. */
export const GENERATIVE_ATTACK_FILES = ['adversarial.idx', 'result.json', 'generative.png'] as const;

/** What `advlab attack` on a generative model reads from its flags. */
export interface GenerativeAttackRequest {
  model: string;
  attack: string;
  targetIndex?: number;
  classifier?: string;
  eps: number;
  norm: Norm;
  n: number;
  out: string;
  steps?: number;
  data?: string;
  seed: number;
  backend?: string;
}

/** A judge for reconstructions: a classifier of [0, 1] images of the data's shape and classes. */
async function openJudge(dir: string, data: ReturnType<typeof datasetFor>): Promise<Classifier> {
  const opened = await openModel(dir);
  checkCompatible(opened.classifier, data);
  const [lo, hi] = classifierBounds(opened.classifier);
  if (lo !== 0 || hi !== 1)
    throw new ConfigError('--classifier', 'a classifier of [0, 1] images (it judges reconstructions)', `bounds [${lo}, ${hi}]`);
  return opened.classifier as Classifier;
}

/**
 * `advlab attack --model VAE_DIR --attack latent|output|classifier --target-index J`: the first n test images moved
 * toward image J within ε by projected gradient descent, measured by the trust boundary; result.json and the gallery.
 */
export async function attackGenerativeModel(v: GenerativeAttackRequest, force: boolean): Promise<void> {
  const kind = v.attack as GenerativeAttackKind;
  if (v.targetIndex === undefined) throw new ConfigError('targetIndex', 'the index J of the test image to move toward', 'none');
  checkOutput({
    path: v.out,
    kind: 'directory',
    key: 'out',
    inputs: [v.model, ...datasetFolders(v.data)],
    files: GENERATIVE_ATTACK_FILES,
    force,
  });
  await selectBackend(v.backend);
  const { ae, dir, data } = await openAutoencoderWithData(v.model, v.data, v.seed);
  const [h, w, c] = ae.inputShape;
  const j = v.targetIndex;
  if (j >= data.test.n) throw new ConfigError('targetIndex', `a test image index in [0, ${data.test.n - 1}]`, String(j));
  const judge = v.classifier !== undefined ? await openJudge(v.classifier, data) : undefined;
  if (kind === 'classifier' && !judge)
    throw new ConfigError('classifier', 'a classifier to judge reconstructions for --attack classifier', 'none');
  const count = Math.min(v.n, data.test.n);
  const idx = Array.from({ length: count }, (_, i) => i);
  const { x, y } = batchTensors(data.test, idx);
  const { x: xt, y: labels } = batchTensors(data.test, Array<number>(count).fill(j));
  const target = { xt, labels, ...(judge ? { classifier: judge } : {}) };
  const threat = threatModel(v.norm, v.eps);
  const objective = generativeObjective(kind, ae, target);
  let proposal: tf.Tensor4D;
  try {
    proposal = budgetedAttack(objective, x, threat, v.steps === undefined ? {} : { steps: v.steps }, v.seed);
  } finally {
    objective.dispose();
  }
  const r = finalizeGenerativeAttack({ ae, x, proposal, target, threat, attackName: `${kind} attack` });
  proposal.dispose();
  const name = (k: number) => data.classNames[k] ?? String(k);
  const [adv, recAdv, recT] = tf.tidy(() => [r.xAdv, ae.reconstruct(r.xAdv), ae.reconstruct(xt)].map((t) => t.dataSync() as Float32Array));
  writeIdx(join(v.out, 'adversarial.idx'), r.xAdv.shape, adv!);
  const examples = idx.map((i) => ({
    index: i,
    label: data.test.labels[i],
    distortion: r.distortion[i],
    source_target_distance: r.sourceTargetDistance[i],
    output_distance: r.outputDistance[i],
    clean_output_distance: r.cleanOutputDistance[i],
    target_output_distance: r.targetOutputDistance[i],
    curve_x: r.curveX[i],
    curve_y: r.curveY[i],
    latent_distance: r.latentDistance[i],
    ...(r.predicted ? { judged: r.predicted[i], target_hit: r.targetHit![i] === 1 } : {}),
  }));
  const hits = r.targetHit ? r.targetHit.reduce((a, b) => a + b, 0) : undefined;
  writeFileAtomic(
    join(v.out, 'result.json'),
    `${JSON.stringify({ model: dir, attack: kind, norm: v.norm, eps: v.eps, target_index: j, target_label: data.test.labels[j], seed: v.seed, class_names: data.classNames, target_hits: hits ?? null, examples }, null, 2)}\n`,
  );
  const size = h * w * c;
  const cell = (a: Float32Array, i: number) => a.slice(i * size, (i + 1) * size);
  const xs = x.dataSync() as Float32Array;
  const xts = xt.dataSync() as Float32Array;
  const rows = idx.slice(0, 12).map((i) => ({
    source: cell(xs, i),
    target: cell(xts, i),
    adversarial: cell(adv!, i),
    reconstruction: cell(recAdv!, i),
    targetReconstruction: cell(recT!, i),
    captions: [
      name(data.test.labels[i]!),
      name(data.test.labels[j]!),
      `L2 ${r.distortion[i]!.toFixed(2)}`,
      `y ${r.curveY[i]!.toFixed(2)}${r.predicted ? ` ${name(r.predicted[i]!)}` : ''}`,
      '',
    ],
  }));
  const title = `${kind} attack ${threat.toString()} toward test image ${j}`;
  writeFileAtomic(join(v.out, 'generative.png'), encodePng(viz.renderGenerativeGallery(rows, { height: h, width: w, channels: c }, title)));
  tf.dispose([x, y, xt, labels, r.xAdv]);
  const meanY = r.curveY.reduce((a, b) => a + b, 0) / count;
  process.stdout.write(
    `${kind} attack ${threat.toString()} toward test image ${j} (${name(data.test.labels[j]!)}): mean y ${meanY.toFixed(3)} (1 = reconstruction unmoved, 0 = as close as the target's own)${hits === undefined ? '' : `; the classifier puts ${hits} of ${count} reconstructions in the target's class`}; wrote ${v.out}/{${GENERATIVE_ATTACK_FILES.join(',')}}\n`,
  );
}
