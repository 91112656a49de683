import { join } from 'node:path';
import type { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import {
  ATTACKS,
  ConfigError,
  batchTensors,
  classifierBounds,
  getAttack,
  toInputRange,
  option,
  runAttack,
  threatModel,
  GENERATIVE_ATTACKS,
} from '@advlab/core';
import { attackGenerativeModel } from './generative.ts';
import { checkOutput, datasetFolders, writeFileAtomic, writeIdx } from '@advlab/node';
import { helpText, parseConfig, parseFlags } from '../flags.ts';
import { backendOption, dataOption, modelInputOptions, normOption, seedOption } from '../options.ts';
import { checkCompatible, datasetFor, openModel, predictWithConfidence, renderGrid, selectBackend } from '../context.ts';

const USAGE = `advlab attack --model DIR --attack NAME --eps E --out DIR [--norm linf|l2|l1] [--n 16] [--target CLASS] [options]
advlab attack --model VAE_DIR --attack latent|output|classifier --target-index J --eps E --out DIR [--classifier DIR]`;

const ABOUT = `Attacks the first n test examples and writes adversarial.idx (float32 [n,h,w,c]), labels.idx,
result.json (per example: label, predictions and confidences, success, distance) and grid.png
(clean | amplified perturbation | adversarial).
On a generative model (advlab train --model vae|ae), the attacks latent, output and classifier move each of the
first n test images toward test image J within ε (projected gradient descent, --steps, default 100) and write
adversarial.idx, result.json (per example: distortion, output distances, the distortion–distance point, latent
distance, the judge's class) and generative.png (source | target | adversarial | its reconstruction | target's).`;

export const ATTACK_OPTIONS = {
  model: option.string({ placeholder: 'DIR', expected: 'a model folder', help: 'a tf.js LayersModel folder or a run directory' }),
  ...modelInputOptions,
  attack: option.string({ default: 'pgd', placeholder: 'NAME', expected: 'an attack name (advlab list)', help: 'the attack' }),
  eps: option.number({ min: 0, default: 0.1, help: 'radius ε, in the model input space' }),
  norm: normOption,
  n: option.integer({ min: 1, default: 16, help: 'the first N test examples' }),
  out: option.string({ placeholder: 'DIR', expected: 'an output folder', help: 'where the files go' }),
  force: option.boolean({ help: 'replace existing output files' }),
  steps: option.integer({ min: 1, optional: true, help: "the attack's steps (default: the attack's own)" }),
  target: option.integer({ min: 0, optional: true, placeholder: 'CLASS', help: 'aim at this class (the targeted form of the attack)' }),
  targetIndex: option.integer({ min: 0, optional: true, placeholder: 'J', help: 'generative attacks: the test image to move toward' }),
  classifier: option.string({
    optional: true,
    placeholder: 'DIR',
    expected: 'a classifier folder or run directory',
    help: 'generative attacks: the classifier that judges reconstructions (needed by the classifier attack)',
  }),
  data: dataOption,
  seed: seedOption,
  backend: backendOption,
};

export const attackHelp = helpText(USAGE, ABOUT, ATTACK_OPTIONS);

/** The files `advlab attack` writes into --out. */
export const ATTACK_FILES = ['adversarial.idx', 'labels.idx', 'result.json', 'grid.png'] as const;

/**
 * What `advlab attack` is asked to do, typed (defaults fill what is left out). An `out` folder already
 * holding one of ATTACK_FILES is refused unless `force` (--force): a caller that owns the folder
 * (reproduce's gallery) says so.
 */
export type AttackRequest = z.input<z.ZodObject<typeof ATTACK_OPTIONS>>;

/** `advlab attack` argv → attackModel. */
export async function attack(argv: string[]): Promise<void> {
  return attackModel(parseFlags(argv, ATTACK_OPTIONS).values);
}

export async function attackModel(request: AttackRequest): Promise<void> {
  const v = parseConfig(ATTACK_OPTIONS, request);
  if ((GENERATIVE_ATTACKS as readonly string[]).includes(v.attack)) return attackGenerativeModel(v, request.force === true);
  for (const k of ['targetIndex', 'classifier'] as const)
    if (v[k] !== undefined)
      throw new ConfigError(k, `it only with a generative attack (${GENERATIVE_ATTACKS.join(', ')})`, `--attack ${v.attack}`);
  const { model: dir, out, eps, norm, n, seed } = v;
  let def = getAttack(v.attack);
  const force = request.force === true;
  checkOutput({ path: out, kind: 'directory', key: 'out', inputs: [dir, ...datasetFolders(v.data)], files: ATTACK_FILES, force });
  await selectBackend(v.backend);
  const { classifier, meta } = await openModel(dir, { bounds: v.bounds as [number, number] | undefined, mean: v.mean, std: v.std });
  const data = datasetFor(v.data, meta, seed);
  checkCompatible(classifier, data);
  const count = Math.min(n, data.test.n);
  const config = v.steps === undefined ? undefined : { steps: v.steps };
  const idx = Array.from({ length: count }, (_, i) => i);
  const bounds = classifierBounds(classifier);
  const { x, y } = batchTensors(toInputRange(data.test, bounds), idx);
  const target = v.target;
  if (target !== undefined && target >= classifier.numClasses) {
    throw new ConfigError('--target', `a class index in [0, ${classifier.numClasses - 1}]`, String(target));
  }
  if (target !== undefined && !def.targeted) {
    // --target turns an attack into its targeted form; an attack without one cannot aim.
    const targeted = ATTACKS.get(`${def.name}-targeted`);
    if (!targeted)
      throw new ConfigError(
        '--target',
        `an attack with a targeted form (${[...ATTACKS.values()]
          .filter((a) => a.targeted)
          .map((a) => a.name)
          .join(', ')})`,
        def.name,
      );
    def = targeted;
  }
  const targets = target === undefined ? undefined : (tf.fill([count], target, 'int32') as tf.Tensor1D);
  const r = runAttack(def, classifier, x, y, threatModel(norm, eps, { bounds }), { seed, config, targets });
  const clean = predictWithConfidence(classifier, x);
  writeIdx(join(out, 'adversarial.idx'), r.xAdv.shape, r.xAdv.dataSync() as Float32Array);
  writeIdx(join(out, 'labels.idx'), [count], Uint8Array.from(data.test.labels.subarray(0, count)));
  const examples = idx.map((i) => ({
    index: i,
    label: data.test.labels[i],
    clean_pred: clean.pred[i],
    clean_conf: clean.conf[i],
    adv_pred: r.pred[i],
    adv_conf: r.confidence[i],
    success: r.success[i] === 1,
    distance: r.distance[i],
  }));
  const rate = examples.filter((e) => e.success && e.clean_pred === e.label).length;
  const correct = examples.filter((e) => e.clean_pred === e.label).length;
  writeFileAtomic(
    join(out, 'result.json'),
    `${JSON.stringify({ attack: def.name, norm, eps, target: target ?? null, seed, class_names: data.classNames, examples }, null, 2)}\n`,
  );
  const pick = idx.slice(0, 12);
  const title = `${def.name} ${norm} eps=${eps}${target === undefined ? '' : ` target=${data.classNames[target] ?? target}`}`;
  writeFileAtomic(
    join(out, 'grid.png'),
    renderGrid(
      {
        set: data.test,
        classNames: data.classNames,
        indices: idx,
        clean: x.dataSync() as Float32Array,
        result: r,
        cleanPred: clean.pred,
        cleanConf: clean.conf,
        bounds,
      },
      pick,
      title,
    ),
  );
  tf.dispose([x, y, r.xAdv, ...(targets ? [targets] : [])]);
  process.stdout.write(
    `${def.name} ${norm} ε=${eps}: ${target === undefined ? 'fooled' : `sent to class ${target}`} ${rate} of ${correct} correctly classified examples (of ${count}); wrote ${out}/{${ATTACK_FILES.join(',')}}\n`,
  );
}
