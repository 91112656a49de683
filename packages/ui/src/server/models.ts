/**
 * What the playground loads: the tf.js LayersModel folders under the served roots (a run's model/ and best/
 * among them) and a few test images of the embedded default dataset.
 *
 * The browser fetches a model through /files/ (paths.ts checks every request), so a listing only says where
 * model.json is. Test images come from the embedded Fashion-MNIST only: a model's metadata may name any
 * dataset path, and the server reads no file outside its roots on a model's say-so.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataFormatError, type ModelMeta } from '@advlab/core';
import { DEFAULT_FASHION_MNIST_DIR, loadFashionMnist } from '@advlab/node';
import { filesUrl, findFolders, MAX_DEPTH, runFile } from './runs.ts';
import { readFileSync } from 'node:fs';

/** A LayersModel folder the playground can load. */
export interface ModelInfo {
  /** `<root>.<relative path, base64url>`: a key, never turned back into a path. */
  id: string;
  /** Index of the served root holding it. */
  root: number;
  /** Its folder relative to that root, `/`-separated. */
  path: string;
  /** A short label: the run's folder name for a run's model/, with " (best)" for its best/. */
  name: string;
  /** The /files/ URL of its model.json (the weights are fetched relative to it). */
  url: string;
  /** The `advlab` object of model.json (class names, input shape, how it was trained), null without one. */
  meta: ModelMeta | null;
  /** The training method recorded in the metadata (`standard`, `pgd`, `fgsm`, …), null when unknown. */
  method: string | null;
  /** The training ε recorded in the metadata, null when unknown or not adversarial. */
  eps: number | null;
}

/** model.json files larger than this are not listed (a topology is kilobytes; weights live in weights.bin). */
const MAX_LISTED_MODEL_JSON = 4 << 20;
/** How many test images /api/samples returns. */
export const SAMPLE_COUNT = 100;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The metadata fields the playground relies on, kept only when well-formed. */
function checkedMeta(value: unknown): ModelMeta | null {
  if (!isRecord(value)) return null;
  const meta: ModelMeta = {};
  if (typeof value.dataset === 'string') meta.dataset = value.dataset;
  if (Array.isArray(value.classNames) && value.classNames.every((c) => typeof c === 'string')) meta.classNames = value.classNames;
  const shape = value.inputShape;
  if (Array.isArray(shape) && shape.length === 3 && shape.every((d) => Number.isInteger(d) && d > 0))
    meta.inputShape = shape as [number, number, number];
  if (Number.isInteger(value.numClasses)) meta.numClasses = value.numClasses as number;
  if (isRecord(value.trainedWith)) meta.trainedWith = value.trainedWith;
  return meta;
}

function describeModel(rootsReal: readonly string[], root: number, rel: string): ModelInfo | undefined {
  const dir = rel === '.' ? rootsReal[root]! : join(rootsReal[root]!, ...rel.split('/'));
  const file = runFile(rootsReal, dir, 'model.json');
  if (!file) return undefined;
  let json: unknown;
  try {
    const text = readFileSync(file);
    if (text.length > MAX_LISTED_MODEL_JSON) return undefined;
    json = JSON.parse(text.toString('utf8'));
  } catch {
    return undefined; // half-written or not JSON: not listed until it is whole
  }
  if (!isRecord(json) || (json.format !== undefined && json.format !== 'layers-model') || !isRecord(json.modelTopology)) return undefined;
  const meta = checkedMeta(json.advlab);
  const segments = rel.split('/');
  const last = segments.at(-1)!;
  const parent = segments.length > 1 ? segments.at(-2)! : rel === '.' ? 'model' : last;
  const name = last === 'model' ? parent : last === 'best' ? `${parent} (best)` : last === '.' ? 'model' : last;
  const trained = meta?.trainedWith;
  return {
    id: `${root}.${Buffer.from(rel, 'utf8').toString('base64url')}`,
    root,
    path: rel,
    name,
    url: `${filesUrl(root, rel)}model.json`,
    meta,
    method: typeof trained?.method === 'string' ? trained.method : null,
    eps: typeof trained?.eps === 'number' && Number.isFinite(trained.eps) ? trained.eps : null,
  };
}

/**
 * Every LayersModel folder under the roots (up to MAX_DEPTH + 1 levels, so a run's model/ is found), except
 * checkpoints; in root order then path order.
 */
export function findModels(rootsReal: readonly string[]): ModelInfo[] {
  const models: ModelInfo[] = [];
  const seen = new Set<string>();
  rootsReal.forEach((rootReal, root) => {
    const rels = findFolders(rootReal, (entries) => entries.some((e) => e.isFile() && e.name === 'model.json'), MAX_DEPTH + 1);
    for (const rel of rels) {
      if (rel.split('/').includes('checkpoints')) continue;
      const key = join(rootReal, rel);
      if (seen.has(key)) continue;
      seen.add(key);
      const info = describeModel(rootsReal, root, rel);
      if (info) models.push(info);
    }
  });
  return models;
}

/** The ε the playground opens with; the default robust model is chosen for it. */
export const PLAYGROUND_EPS = 0.1;

/**
 * The playground's default pair: the first model trained without attacks, and the adversarially trained one
 * (PGD preferred) best suited to the page's ε: trained at PLAYGROUND_EPS or the nearest ε above it, else the
 * largest below. Run folders' best/ copies are not chosen; null where none is found.
 */
export function defaultPair(models: readonly ModelInfo[]): { standard: string | null; robust: string | null } {
  const unbest = models.filter((m) => !m.name.endsWith(' (best)'));
  const standard = unbest.find((m) => m.method === 'standard') ?? null;
  const rank = (m: ModelInfo) => {
    const eps = m.eps ?? 0;
    return eps >= PLAYGROUND_EPS ? eps - PLAYGROUND_EPS : 1 + (PLAYGROUND_EPS - eps);
  };
  const closest = (list: ModelInfo[]) =>
    list.reduce<ModelInfo | null>((best, m) => (best === null || rank(m) < rank(best) ? m : best), null);
  const robust =
    closest(unbest.filter((m) => m.method === 'pgd')) ?? closest(unbest.filter((m) => m.method !== null && m.method !== 'standard'));
  return { standard: standard?.id ?? null, robust: robust?.id ?? null };
}

/** What /api/samples answers: the first test images of the embedded dataset, as bytes. */
export interface SamplesResponse {
  dataset: string;
  classNames: string[];
  height: number;
  width: number;
  channels: number;
  /** `pixels`: base64 of height × width × channels bytes (row-major, channels last; value / 255 is the input). */
  images: { index: number; label: number; pixels: string }[];
}

let samplesCache: SamplesResponse | undefined;

/**
 * The first SAMPLE_COUNT test images of the embedded Fashion-MNIST (read once, then cached); a DataFormatError
 * when the dataset is not installed.
 */
export function testSamples(dir: string = DEFAULT_FASHION_MNIST_DIR): SamplesResponse {
  if (samplesCache && dir === DEFAULT_FASHION_MNIST_DIR) return samplesCache;
  if (!existsSync(dir))
    throw new DataFormatError(dir, 'the embedded Fashion-MNIST (apt-get install dataset-fashion-mnist)', 'no such folder');
  const { test, classNames } = loadFashionMnist(dir);
  const size = test.height * test.width * test.channels;
  const images: SamplesResponse['images'] = [];
  for (let i = 0; i < Math.min(SAMPLE_COUNT, test.n); i++) {
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j++) bytes[j] = Math.round(test.images[i * size + j]! * 255);
    images.push({ index: i, label: test.labels[i]!, pixels: bytes.toString('base64') });
  }
  const response: SamplesResponse = {
    dataset: 'fashion-mnist',
    classNames: [...classNames],
    height: test.height,
    width: test.width,
    channels: test.channels,
    images,
  };
  if (dir === DEFAULT_FASHION_MNIST_DIR) samplesCache = response;
  return response;
}
