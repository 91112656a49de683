import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ATTACKS, ConfigError, batchTensors, getAttack, runAttack, threatModel } from '@advlab/core';
import { writeFileAtomic, writeIdx } from '@advlab/node';
import { COMMON, num, parse, positiveInt, required, str } from '../args.ts';
import { checkCompatible, datasetFor, normOf, openModel, predictWithConfidence, renderGrid, seedOf, selectBackend } from '../context.ts';

export const attackHelp = `advlab attack --model DIR --attack NAME --eps E --out DIR [--norm linf|l2|l1] [--n 16] [--steps K]
              [--target CLASS] [--data SPEC] [--seed S] [--backend ...]
  Attacks the first n test examples and writes adversarial.idx (float32 [n,h,w,c]), labels.idx,
  result.json (per example: label, predictions and confidences, success, distance) and grid.png
  (clean | amplified perturbation | adversarial).`;

export async function attack(argv: string[]): Promise<void> {
  const v = parse(argv, {
    ...COMMON,
    model: { type: 'string' },
    attack: { type: 'string' },
    eps: { type: 'string' },
    norm: { type: 'string' },
    n: { type: 'string' },
    out: { type: 'string' },
    steps: { type: 'string' },
    target: { type: 'string' },
    data: { type: 'string' },
  });
  const dir = required(v.model, '--model', 'a model folder');
  const out = required(v.out, '--out', 'an output folder');
  let def = getAttack(str(v.attack, 'pgd'));
  const eps = num(v.eps, '--eps', 0.1, (x) => Number.isFinite(x) && x >= 0, 'a number ≥ 0');
  const norm = normOf(v.norm);
  const n = num(v.n, '--n', 16, positiveInt, 'an integer ≥ 1');
  const seed = seedOf(v.seed);
  await selectBackend(v.backend);
  const { classifier, meta } = await openModel(dir);
  const data = datasetFor(v.data, meta, seed);
  checkCompatible(classifier, data);
  const count = Math.min(n, data.test.n);
  const config = v.steps === undefined ? undefined : { steps: num(v.steps, '--steps', 20, positiveInt, 'an integer ≥ 1') };
  const idx = Array.from({ length: count }, (_, i) => i);
  const { x, y } = batchTensors(data.test, idx);
  const target =
    v.target === undefined
      ? undefined
      : num(
          v.target,
          '--target',
          0,
          (t) => Number.isInteger(t) && t >= 0 && t < classifier.numClasses,
          `a class index in [0, ${classifier.numClasses - 1}]`,
        );
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
  const r = runAttack(def, classifier, x, y, threatModel(norm, eps), { seed, config, targets });
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
      },
      pick,
      title,
    ),
  );
  tf.dispose([x, y, r.xAdv, ...(targets ? [targets] : [])]);
  process.stdout.write(
    `${def.name} ${norm} ε=${eps}: ${target === undefined ? 'fooled' : `sent to class ${target}`} ${rate} of ${correct} correctly classified examples (of ${count}); wrote ${out}/{adversarial.idx,labels.idx,result.json,grid.png}\n`,
  );
}
