import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError, ModelMissingError, backendInfo, batchTensors, classifierFromLayersModel, loadDataset, loadModel, parseNorm,
  runAttack, threatModel, useBackend, viz, type BackendName, type Classifier, type Dataset, type ImageSet, type ModelMeta, type Norm,
} from '@advlab/core';
import { num, str } from './args.ts';

export async function selectBackend(v: unknown): Promise<BackendName> {
  const name = str(v, 'auto');
  const used = await useBackend(name as BackendName | 'auto');
  const info = backendInfo();
  process.stderr.write(`backend: ${used}${info.threads ? ` (${info.threads} threads)` : ''}\n`);
  return used;
}

export function seedOf(v: unknown): number {
  return num(v, '--seed', 0, (x) => Number.isInteger(x) && x >= 0, 'an integer ≥ 0');
}

export interface LoadedClassifier {
  classifier: Classifier & { outputsProbabilities: boolean };
  meta: ModelMeta | undefined;
  dir: string;
}

export async function openModel(dir: string): Promise<LoadedClassifier> {
  if (!existsSync(join(dir, 'model.json')) && !dir.endsWith('.json')) {
    throw new ModelMissingError(join(dir, 'model.json'), "--model expects a folder written by 'advlab train' or any tf.js LayersModel folder");
  }
  const { model, meta } = await loadModel(dir);
  return { classifier: classifierFromLayersModel(model, { name: dir }), meta, dir };
}

/** The dataset named by --data, else the one recorded in the model's metadata, else Fashion-MNIST. */
export function datasetFor(flag: unknown, meta: ModelMeta | undefined, seed: number): Dataset {
  const spec = str(flag) ?? (typeof meta?.dataset === 'string' ? meta.dataset : undefined);
  return loadDataset(spec, { seed });
}

export function checkCompatible(c: Classifier, d: Dataset): void {
  const [h, w, ch] = c.inputShape;
  if (h !== d.test.height || w !== d.test.width || ch !== d.test.channels) {
    throw new ConfigError('--data', `images of ${h}×${w}×${ch} (the model's input)`, `${d.test.height}×${d.test.width}×${d.test.channels} in ${d.name}`);
  }
  if (c.numClasses !== d.numClasses) throw new ConfigError('--data', `${c.numClasses} classes (the model's output)`, `${d.numClasses} in ${d.name}`);
}

export function normOf(v: unknown): Norm {
  return parseNorm(str(v, 'linf'));
}

/**
 * Attacks the first `scan` test examples and renders up to `rows` that the model classifies correctly
 * and the attack fools: clean | amplified perturbation | adversarial.
 */
export function fooledGrid(
  classifier: Classifier,
  set: ImageSet,
  classNames: string[],
  attack: string,
  norm: Norm,
  eps: number,
  opts: { rows?: number; scan?: number; seed?: number; config?: object; onlyFooled?: boolean } = {},
): { png: Buffer; fooled: number; shown: number } {
  const scan = Math.min(opts.scan ?? 256, set.n);
  const idx = Array.from({ length: scan }, (_, i) => i);
  const { x, y } = batchTensors(set, idx);
  const threat = threatModel(norm, eps);
  const r = runAttack(attack, classifier, x, y, threat, { seed: opts.seed ?? 0, config: opts.config });
  const clean = tf.tidy(() => {
    const p = tf.softmax(classifier.logits(x));
    return { pred: tf.argMax(p, 1).dataSync(), conf: tf.max(p, 1).dataSync() };
  });
  const size = set.height * set.width * set.channels;
  const cleanData = x.dataSync() as Float32Array;
  const advData = r.xAdv.dataSync() as Float32Array;
  const chosen = idx.filter((i) => (opts.onlyFooled ?? true ? clean.pred[i] === set.labels[i] && r.success[i] : true)).slice(0, opts.rows ?? 8);
  const fooled = idx.filter((i) => clean.pred[i] === set.labels[i] && r.success[i]).length;
  const name = (k: number) => classNames[k] ?? String(k);
  const rows: viz.GridRow[] = chosen.map((i) => ({
    clean: cleanData.slice(i * size, (i + 1) * size),
    adversarial: advData.slice(i * size, (i + 1) * size),
    height: set.height,
    width: set.width,
    channels: set.channels,
    trueLabel: name(set.labels[i]!),
    cleanPred: name(clean.pred[i]!),
    cleanConf: clean.conf[i]!,
    advPred: name(r.pred[i]!),
    advConf: r.confidence[i]!,
  }));
  tf.dispose([x, y, r.xAdv]);
  if (rows.length === 0) return { png: Buffer.alloc(0), fooled, shown: 0 };
  const png = viz.adversarialGrid(rows, { title: `${attack} ${norm} eps=${eps}` });
  return { png, fooled, shown: rows.length };
}
