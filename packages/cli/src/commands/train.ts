import { join } from 'node:path';
import {
  MODELS, assertModelName, classifierFromLayersModel, createModel, loadDataset, predictLabels, saveModel, trainStandard,
  writeFileAtomic, type ModelName,
} from '@advlab/core';
import { COMMON, num, parse, positiveInt, required, str } from '../args.ts';
import { ProgressBar } from '../progress.ts';
import { seedOf, selectBackend } from '../context.ts';

export const trainHelp = `advlab train --model NAME --epochs N --out DIR [--data SPEC] [--batch-size 128] [--lr 0.001]
             [--optimizer adam|sgd] [--limit M] [--seed S] [--backend cpu|wasm|onednn|auto]
  Trains a model from the zoo (${MODELS.map((m) => m.name).join(', ')}) with plain cross-entropy and saves it
  in tf.js format (model.json + weights.bin) in DIR, with its test accuracy in DIR/train.json.`;

export interface TrainSummary {
  dir: string;
  test_accuracy: number;
}

export async function train(argv: string[]): Promise<TrainSummary> {
  const v = parse(argv, {
    ...COMMON, model: { type: 'string' }, epochs: { type: 'string' }, out: { type: 'string' }, data: { type: 'string' },
    'batch-size': { type: 'string' }, lr: { type: 'string' }, optimizer: { type: 'string' }, limit: { type: 'string' },
  });
  const modelName = str(v.model, 'wong-cnn');
  assertModelName(modelName);
  const epochs = num(v.epochs, '--epochs', 5, positiveInt, 'an integer ≥ 1');
  const out = required(v.out, '--out', 'an output folder');
  const batchSize = num(v['batch-size'], '--batch-size', 128, positiveInt, 'an integer ≥ 1');
  const lr = num(v.lr, '--lr', 1e-3, (x) => x > 0, 'a number > 0');
  const limit = v.limit === undefined ? undefined : num(v.limit, '--limit', 0, positiveInt, 'an integer ≥ 1');
  const optimizer = str(v.optimizer, 'adam');
  if (optimizer !== 'adam' && optimizer !== 'sgd') throw new (await import('@advlab/core')).ConfigError('--optimizer', 'adam or sgd', optimizer);
  const seed = seedOf(v.seed);
  const backend = await selectBackend(v.backend);
  const dataSpec = str(v.data, 'fashion-mnist');
  const data = loadDataset(dataSpec, { seed });
  const inputShape: [number, number, number] = [data.train.height, data.train.width, data.train.channels];
  const model = createModel(modelName as ModelName, { inputShape, numClasses: data.numClasses, seed });
  process.stderr.write(`training ${modelName} on ${data.name} (${limit ?? data.train.n} examples, ${epochs} epochs, batch ${batchSize}, ${optimizer} lr ${lr})\n`);
  let bar: ProgressBar | undefined;
  const history = trainStandard(model, data.train, {
    epochs, batchSize, lr, optimizer, seed, limit,
    onBatch: (p) => {
      if (p.batch === 1) bar = new ProgressBar(`epoch ${p.epoch}/${p.epochs}`);
      bar!.update(p.batch, p.batches, `${Math.round(p.examplesPerSecond)} ex/s loss ${p.loss.toFixed(4)} acc ${(100 * p.accuracy).toFixed(1)}%`);
    },
  });
  const classifier = classifierFromLayersModel(model, { name: modelName });
  const all = Array.from({ length: data.test.n }, (_, i) => i);
  const pred = predictLabels(classifier, data.test, all);
  const testAccuracy = pred.reduce((a, p, i) => a + (p === data.test.labels[i] ? 1 : 0), 0) / data.test.n;
  const trainedWith = { method: 'standard', model: modelName, epochs, batchSize, lr, optimizer, seed, limit: limit ?? null, backend };
  await saveModel(model, out, { dataset: dataSpec, classNames: data.classNames, inputShape, numClasses: data.numClasses, trainedWith });
  const summary = { ...trainedWith, dataset: data.name, test_examples: data.test.n, test_accuracy: testAccuracy, history };
  writeFileAtomic(join(out, 'train.json'), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`test accuracy ${(100 * testAccuracy).toFixed(2)}% on ${data.test.n} ${data.name} test images; model saved to ${out}\n`);
  return { dir: out, test_accuracy: testAccuracy };
}
