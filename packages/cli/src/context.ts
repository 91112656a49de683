import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  ModelMissingError,
  backendInfo,
  batchTensors,
  runAttack,
  threatModel,
  useBackend,
  type viz,
  type AttackResult,
  type BackendName,
  type Classifier,
  type Dataset,
  type ImageSet,
  type ModelMeta,
  type PreprocessingOptions,
  fromInputRange,
  type Norm,
} from '@advlab/core';
import { adversarialGrid, loadClassifier, loadDataset } from '@advlab/node';

/** The machine as a suite's results record it: CPU model, cores, memory. */
export function machineDescription(): string {
  return `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB`;
}

export async function selectBackend(name = 'auto'): Promise<BackendName> {
  const used = await useBackend(name);
  const info = backendInfo();
  process.stderr.write(`backend: ${used}${info.threads ? ` (${info.threads} threads)` : ''}\n`);
  return used;
}

export interface LoadedClassifier {
  classifier: Classifier & { outputsProbabilities: boolean };
  meta: ModelMeta | undefined;
  dir: string;
}

/** The model folder --model names: the folder itself, or a run directory's model/ (where `advlab train` puts it). */
export function modelFolder(dirOrRun: string): string {
  const dir =
    !existsSync(join(dirOrRun, 'model.json')) && existsSync(join(dirOrRun, 'model', 'model.json')) ? join(dirOrRun, 'model') : dirOrRun;
  if (!existsSync(join(dir, 'model.json')) && !dir.endsWith('.json')) {
    throw new ModelMissingError(
      join(dir, 'model.json'),
      "--model expects a folder written by 'advlab train', or any tf.js LayersModel or GraphModel folder",
    );
  }
  return dir;
}

/** A model folder (or a run directory's model/) as a classifier, read in its input range with its normalisation. */
export async function openModel(dirOrRun: string, input: PreprocessingOptions = {}): Promise<LoadedClassifier> {
  const dir = modelFolder(dirOrRun);
  const { classifier, meta } = await loadClassifier(dir, { name: dir, ...input });
  return { classifier, meta, dir };
}

/** The dataset named by --data, else the one recorded in the model's metadata, else Fashion-MNIST. */
export function datasetFor(data: string | undefined, meta: ModelMeta | undefined, seed: number): Dataset {
  const spec = data ?? (typeof meta?.dataset === 'string' ? meta.dataset : undefined);
  return loadDataset(spec, { seed });
}

/** Refuses (ConfigError naming --data) a dataset whose images are not the model's input shape. */
export function checkInputShape(shape: readonly [number, number, number], d: Dataset): void {
  const [h, w, ch] = shape;
  if (h !== d.test.height || w !== d.test.width || ch !== d.test.channels) {
    throw new ConfigError(
      '--data',
      `images of ${h}×${w}×${ch} (the model's input)`,
      `${d.test.height}×${d.test.width}×${d.test.channels} in ${d.name}`,
    );
  }
}

export function checkCompatible(c: Pick<Classifier, 'inputShape' | 'numClasses'>, d: Dataset): void {
  checkInputShape(c.inputShape, d);
  if (c.numClasses !== d.numClasses)
    throw new ConfigError('--data', `${c.numClasses} classes (the model's output)`, `${d.numClasses} in ${d.name}`);
}

/** What the grid needs to know about one batch: the clean images, the attack's result, clean predictions. */
export interface GridSource {
  set: ImageSet;
  classNames: string[];
  /** Test-set indices of the rows of `clean` / `result`. */
  indices: number[];
  clean: Float32Array;
  result: AttackResult;
  cleanPred: ArrayLike<number>;
  cleanConf: ArrayLike<number>;
  /** The model's input range: pictures map it back to [0, 1]. */
  bounds?: readonly [number, number];
}

/** Renders the rows `pick` (positions into src.indices) as clean | perturbation | adversarial. */
export function renderGrid(src: GridSource, pick: number[], title: string): Buffer {
  const { set, classNames, result } = src;
  const size = set.height * set.width * set.channels;
  const bounds = src.bounds ?? [0, 1];
  const adv = fromInputRange(result.xAdv.dataSync() as Float32Array, bounds);
  const clean = fromInputRange(src.clean, bounds);
  const name = (k: number) => classNames[k] ?? String(k);
  const rows: viz.GridRow[] = pick.map((j) => ({
    clean: clean.slice(j * size, (j + 1) * size),
    adversarial: adv.slice(j * size, (j + 1) * size),
    height: set.height,
    width: set.width,
    channels: set.channels,
    trueLabel: name(set.labels[src.indices[j]!]!),
    cleanPred: name(src.cleanPred[j]!),
    cleanConf: src.cleanConf[j]!,
    advPred: name(result.pred[j]!),
    advConf: result.confidence[j]!,
  }));
  return adversarialGrid(rows, { title });
}

/** Softmax prediction and confidence of `classifier` on x. */
export function predictWithConfidence(classifier: Classifier, x: tf.Tensor4D): { pred: Int32Array; conf: Float32Array } {
  return tf.tidy(() => {
    const p = tf.softmax(classifier.logits(x));
    return { pred: tf.argMax(p, 1).dataSync() as Int32Array, conf: tf.max(p, 1).dataSync() as Float32Array };
  });
}

/**
 * Attacks the first `scan` test examples and renders up to `rows` that the model classifies correctly
 * and the attack fools.
 */
export function fooledGrid(
  classifier: Classifier,
  set: ImageSet,
  classNames: string[],
  attack: string,
  norm: Norm,
  eps: number,
  opts: { rows?: number; scan?: number; seed?: number; config?: object } = {},
): { png: Buffer; fooled: number; shown: number } {
  const indices = Array.from({ length: Math.min(opts.scan ?? 256, set.n) }, (_, i) => i);
  const { x, y } = batchTensors(set, indices);
  const result = runAttack(attack, classifier, x, y, threatModel(norm, eps), { seed: opts.seed ?? 0, config: opts.config });
  const clean = predictWithConfidence(classifier, x);
  const fooledAt = indices.filter((i) => clean.pred[i] === set.labels[i] && result.success[i]);
  const pick = fooledAt.slice(0, opts.rows ?? 8);
  const png = pick.length
    ? renderGrid(
        { set, classNames, indices, clean: x.dataSync() as Float32Array, result, cleanPred: clean.pred, cleanConf: clean.conf },
        pick,
        `${attack} ${norm} eps=${eps}, ${fooledAt.length} of the first ${indices.length} fooled; shown`,
      )
    : Buffer.alloc(0);
  tf.dispose([x, y, result.xAdv]);
  return { png, fooled: fooledAt.length, shown: pick.length };
}
