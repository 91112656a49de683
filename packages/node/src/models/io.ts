/**
 * Save / load models in the standard tf.js LayersModel format: a folder holding `model.json`
 * (topology + weights manifest, plus an optional `advlab` metadata object) and `weights.bin`.
 *
 * Loading treats the folder as untrusted input: model.json is size-capped and validated, every
 * weights path must stay inside the folder, and so must the real path (symbolic links resolved) of
 * model.json and of every weights file; dtypes and byte counts are checked before any weight
 * is read, and the model is built with `tfl.loadLayersModel(tf.io.fromMemory(...))`, which only
 * instantiates registered tf.js layer classes (no user code runs). model.json files written by
 * other tf.js tools (e.g. the Keras converter, with `modelTopology.model_config`) load as well.
 */
import { readFileSync, statSync, openSync, readSync, closeSync, realpathSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type AdvlabError, ModelFormatError, ModelMissingError } from '@advlab/core';
import { writeFileAtomic } from '../fs.ts';

import {
  classifierFromGraphModel,
  classifierFromLayersModel,
  type GraphClassifierOptions,
  type GraphModelLike,
  type ModelMeta,
  type WrappedClassifier,
} from '@advlab/core';

/** What `loadModel` returns; the caller owns `model` and disposes it. */
export interface LoadedModel {
  model: tfl.LayersModel;
  /** The `advlab` object of model.json, or undefined when there is none (e.g. a model from elsewhere). */
  meta: ModelMeta | undefined;
}

/** The file name of a saved model's topology and weights manifest inside its folder. */
export const MODEL_JSON = 'model.json';
/** The key of model.json under which advlab records the sha256 of the weight bytes it saved (tf.js ignores it). */
export const WEIGHTS_SHA256_KEY = 'advlabWeightsSha256';
/** The file name of a saved model's weights (one shard) inside its folder. */
export const WEIGHTS_BIN = 'weights.bin';
/** model.json is topology + manifest only; anything this large is not a sane model.json. */
export const MAX_MODEL_JSON_BYTES = 32 * 1024 * 1024;
/** Upper bound on total weight bytes (one ArrayBuffer is built from them). */
export const MAX_WEIGHT_BYTES = 2 * 1024 * 1024 * 1024;

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

// ---------------------------------------------------------------------------------------------
// save

/**
 * Save `model` to `dir` (created if needed) as model.json + weights.bin, each written atomically
 * (weights.bin first, then model.json, so model.json never points at weights that are not there yet).
 */
export async function saveModel(
  model: tfl.LayersModel,
  dir: string,
  meta?: ModelMeta,
): Promise<{ modelJson: string; weightsBin: string; weightBytes: number }> {
  if (meta !== undefined) checkMeta(meta, 'advlab metadata');
  const modelJson = path.join(dir, MODEL_JSON);
  const weightsBin = path.join(dir, WEIGHTS_BIN);
  let weightBytes = 0;
  const handler: tf.io.IOHandler = {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      if (artifacts.modelTopology == null || artifacts.modelTopology instanceof ArrayBuffer) {
        throw new ModelFormatError(modelJson, 'a JSON model topology from LayersModel.save', 'none / binary topology');
      }
      const weights = new Uint8Array(
        artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData),
      );
      weightBytes = weights.byteLength;
      const json: Record<string, unknown> = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (meta !== undefined) json.advlab = meta;
      // Bytes changed after saving (a bad disk, a torn save, a hand edit) are refused on load, not evaluated.
      json[WEIGHTS_SHA256_KEY] = createHash('sha256').update(weights).digest('hex');
      writeFileAtomic(weightsBin, weights);
      writeFileAtomic(modelJson, JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
  await model.save(handler);
  return { modelJson, weightsBin, weightBytes };
}

// ---------------------------------------------------------------------------------------------
// load

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function missing(file: string, hint = ''): AdvlabError {
  return new ModelMissingError(file, hint);
}

/** Validates the typed fields of the advlab metadata; unknown keys are kept as they are. */
function checkMeta(meta: unknown, file: string): asserts meta is ModelMeta {
  const bad = (key: string, expected: string, v: unknown) => new ModelFormatError(file, `advlab.${key} to be ${expected}`, describe(v));
  if (!isObject(meta)) throw new ModelFormatError(file, 'advlab metadata to be an object', describe(meta));
  const m = meta;
  if (m.dataset !== undefined && typeof m.dataset !== 'string') throw bad('dataset', 'a string', m.dataset);
  if (m.classNames !== undefined && !(Array.isArray(m.classNames) && m.classNames.every((c) => typeof c === 'string'))) {
    throw bad('classNames', 'an array of strings', m.classNames);
  }
  const posInt = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  if (m.inputShape !== undefined && !(Array.isArray(m.inputShape) && m.inputShape.length === 3 && m.inputShape.every(posInt))) {
    throw bad('inputShape', '[height, width, channels] of positive integers', m.inputShape);
  }
  if (m.numClasses !== undefined && !posInt(m.numClasses)) throw bad('numClasses', 'a positive integer', m.numClasses);
  if (m.trainedWith !== undefined && !isObject(m.trainedWith)) throw bad('trainedWith', 'an object', m.trainedWith);
}

/**
 * A weights path from the manifest, resolved inside `root`. Rejects anything that is not a plain
 * relative POSIX path staying inside the folder: absolute paths, URLs / drive letters (`x:`),
 * backslashes, `..` segments, NUL bytes.
 */
function resolveShard(root: string, p: unknown, where: string, file: string): string {
  const reject = (why: string) =>
    new ModelFormatError(file, `${where} to be a relative path inside the model folder`, `${describe(p)} (${why})`);
  if (typeof p !== 'string' || p.length === 0) throw reject('not a non-empty string');
  if (p.includes('\0')) throw reject('NUL byte');
  if (p.includes('\\')) throw reject('backslash');
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(p)) throw reject('URL scheme or drive letter');
  if (p.startsWith('/') || path.isAbsolute(p) || path.win32.isAbsolute(p)) throw reject('absolute path');
  if (p.split('/').includes('..')) throw reject('".." segment');
  const resolved = path.resolve(root, p);
  if (!resolved.startsWith(root + path.sep)) throw reject('escapes the model folder');
  return resolved;
}

/** Real path of an existing file, or a ModelFormatError naming it. */
function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch (e) {
    throw new ModelFormatError(file, 'a resolvable path', (e as Error).message);
  }
}

/**
 * The real path of `file`, refused unless it lies inside `rootReal` (the model folder's real path): a symbolic
 * link, of the file or of a folder on the way, would otherwise let a downloaded model folder read any file.
 */
function confined(file: string, rootReal: string, what: string): string {
  const real = realPath(file);
  if (!real.startsWith(rootReal.endsWith(path.sep) ? rootReal : rootReal + path.sep)) {
    throw new ModelFormatError(file, `${what} inside the model folder ${rootReal} once symbolic links are resolved`, `a link to ${real}`);
  }
  return real;
}

interface Shard {
  /** The path as the manifest names it, for messages. */
  file: string;
  /** Its real path, checked to lie inside the model folder; this is what is read. */
  real: string;
  size: number;
}

/** Read a file of exactly `size` bytes into `out` at `offset` (guards against a file changing under us). */
function readInto(file: string, size: number, out: Uint8Array, offset: number, readFrom: string = file): void {
  const fd = openSync(readFrom, 'r');
  try {
    let done = 0;
    while (done < size) {
      const n = readSync(fd, out, offset + done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    const extra = readSync(fd, new Uint8Array(1), 0, 1, size);
    if (done !== size || extra !== 0) {
      throw new ModelFormatError(file, `${size} bytes (its size when checked)`, 'a file that changed while being read');
    }
  } finally {
    closeSync(fd);
  }
}

/** A model folder's model.json and weights, read and checked (nothing of it has been run or built). */
interface CheckedArtifacts {
  file: string;
  format: 'layers-model' | 'graph-model';
  artifacts: tf.io.ModelArtifacts;
  meta: ModelMeta | undefined;
}

async function readModelFolder(dir: string): Promise<CheckedArtifacts> {
  let file = path.join(dir, MODEL_JSON);
  const dirStat = statSync(dir, { throwIfNoEntry: false });
  if (dirStat === undefined) throw missing(file);
  if (dirStat.isFile()) {
    file = dir;
    dir = path.dirname(dir);
  }
  const root = path.resolve(dir);

  // model.json: size-capped, JSON, object.
  const st = statSync(file, { throwIfNoEntry: false });
  if (st === undefined) throw missing(file, 'expected a tf.js LayersModel folder with model.json and weights.bin');
  if (!st.isFile()) throw new ModelFormatError(file, 'a regular file', 'a directory or special file');
  if (st.size > MAX_MODEL_JSON_BYTES) {
    throw new ModelFormatError(file, `at most ${MAX_MODEL_JSON_BYTES} bytes`, `${st.size} bytes`);
  }
  // The folder itself may be a link (e.g. models/latest → models/v3); only what lies inside it is confined.
  const rootReal = realPath(root);
  // model.json too: a linked one would be parsed, and a JSON parse error quotes the start of the file.
  const raw = readFileSync(confined(file, rootReal, 'model.json'));
  if (raw.length > MAX_MODEL_JSON_BYTES) {
    throw new ModelFormatError(file, `at most ${MAX_MODEL_JSON_BYTES} bytes`, `${raw.length} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new ModelFormatError(file, 'valid JSON', `a parse error: ${(e as Error).message}`);
  }
  if (!isObject(json)) throw new ModelFormatError(file, 'a JSON object', describe(json));

  if (json.format !== undefined && json.format !== 'layers-model' && json.format !== 'graph-model') {
    throw new ModelFormatError(file, 'format "layers-model" or "graph-model" (a tf.js model)', `format ${describe(json.format)}`);
  }
  const format = json.format === 'graph-model' ? 'graph-model' : 'layers-model';
  const modelTopology = json.modelTopology;
  if (!isObject(modelTopology)) throw new ModelFormatError(file, 'modelTopology to be an object', describe(modelTopology));
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw new ModelFormatError(file, 'weightsManifest to be an array', describe(manifest));
  let meta: ModelMeta | undefined;
  if (json.advlab !== undefined) {
    checkMeta(json.advlab, file);
    meta = json.advlab;
  }

  // Manifest: paths inside the folder, supported dtypes, expected byte counts (per group and total).
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const groups: { shards: Shard[]; expected: number; where: string }[] = [];
  let expectedTotal = 0;
  manifest.forEach((group: unknown, g) => {
    const where = `weightsManifest[${g}]`;
    if (!isObject(group)) throw new ModelFormatError(file, `${where} to be an object`, describe(group));
    if (!Array.isArray(group.paths)) throw new ModelFormatError(file, `${where}.paths to be an array`, describe(group.paths));
    if (!Array.isArray(group.weights)) {
      throw new ModelFormatError(file, `${where}.weights to be an array`, describe(group.weights));
    }
    let expected = 0;
    group.weights.forEach((w: unknown, i) => {
      const at = `${where}.weights[${i}]`;
      if (!isObject(w)) throw new ModelFormatError(file, `${at} to be an object`, describe(w));
      if (typeof w.name !== 'string' || w.name.length === 0) {
        throw new ModelFormatError(file, `${at}.name to be a non-empty string`, describe(w.name));
      }
      const shape = w.shape;
      if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
        throw new ModelFormatError(file, `${at}.shape (${w.name}) to be an array of non-negative integers`, describe(shape));
      }
      const dtype = w.dtype;
      if (w.quantization != null || dtype === 'uint8' || dtype === 'uint16') {
        const q = isObject(w.quantization) ? String(w.quantization.dtype) : String(dtype);
        throw new ModelFormatError(
          file,
          `${at} (${w.name}) to be unquantized float32, int32 or bool`,
          `${q} quantization (quantization not supported; re-export without quantization)`,
        );
      }
      if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
        throw new ModelFormatError(file, `${at}.dtype (${w.name}) to be float32, int32 or bool`, describe(dtype));
      }
      const size = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype]!;
      expected += size;
      if (!Number.isSafeInteger(expected) || expected > MAX_WEIGHT_BYTES) {
        throw new ModelFormatError(file, `at most ${MAX_WEIGHT_BYTES} bytes of weights`, `${at} (${w.name}) beyond that`);
      }
      weightSpecs.push({ name: w.name, shape: shape as number[], dtype: dtype as 'float32' | 'int32' | 'bool' });
    });
    const shards = group.paths.map((p: unknown, j): Shard => {
      const shardFile = resolveShard(root, p, `${where}.paths[${j}]`, file);
      const s = statSync(shardFile, { throwIfNoEntry: false });
      if (s === undefined) throw missing(shardFile, `listed in ${file}`);
      // Reading the real path later means a link swapped after this check cannot redirect the read.
      const real = confined(shardFile, rootReal, `${where}.paths[${j}]`);
      if (!s.isFile()) throw new ModelFormatError(shardFile, 'a regular weights file', 'a directory or special file');
      return { file: shardFile, real, size: s.size };
    });
    expectedTotal += expected;
    if (expectedTotal > MAX_WEIGHT_BYTES) {
      throw new ModelFormatError(file, `at most ${MAX_WEIGHT_BYTES} bytes of weights`, `more (${where})`);
    }
    groups.push({ shards, expected, where });
  });

  const allShards = groups.flatMap((gr) => gr.shards);
  const foundTotal = allShards.reduce((a, s) => a + s.size, 0);
  const label = (shards: Shard[]) => (shards.length === 0 ? `${file} (no weight files listed)` : shards.map((s) => s.file).join(' + '));
  if (foundTotal !== expectedTotal) {
    throw new ModelFormatError(label(allShards), `${expectedTotal} bytes for ${weightSpecs.length} weights`, `${foundTotal}`);
  }
  for (const gr of groups) {
    const found = gr.shards.reduce((a, s) => a + s.size, 0);
    if (found !== gr.expected) {
      throw new ModelFormatError(label(gr.shards), `${gr.expected} bytes for the weights of ${gr.where}`, `${found}`);
    }
  }

  // Read the weights into one buffer (sizes are known and checked, so nothing unbounded is read).
  const data = new Uint8Array(expectedTotal);
  let offset = 0;
  for (const s of allShards) {
    readInto(s.file, s.size, data, offset, s.real);
    offset += s.size;
  }

  const recorded = json[WEIGHTS_SHA256_KEY];
  if (recorded !== undefined) {
    if (typeof recorded !== 'string' || !/^[0-9a-f]{64}$/.test(recorded)) {
      throw new ModelFormatError(file, `${WEIGHTS_SHA256_KEY} a sha256 (64 hex digits)`, describe(recorded));
    }
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== recorded) {
      throw new ModelFormatError(
        label(allShards),
        `the weights model.json records (sha256 ${recorded.slice(0, 12)}…)`,
        `other bytes (sha256 ${actual.slice(0, 12)}…): the weights changed after the model was saved`,
      );
    }
  }

  const artifacts: tf.io.ModelArtifacts = {
    modelTopology,
    weightSpecs,
    weightData: data.buffer,
    format,
  };
  // biome-ignore lint/complexity/noBannedTypes: tf.io.ModelArtifacts declares userDefinedMetadata with {}
  if (isObject(json.userDefinedMetadata)) artifacts.userDefinedMetadata = json.userDefinedMetadata as { [key: string]: {} };
  return { file, format, artifacts, meta };
}

/**
 * Load a model saved by `saveModel` (or any tf.js LayersModel folder with float32 / int32 / bool
 * weights). `dir` is the model folder; a path to a model.json file is accepted too.
 */
export async function loadModel(dir: string): Promise<LoadedModel> {
  return buildLayersModel(await readModelFolder(dir));
}

async function buildLayersModel({ file, format, artifacts, meta }: CheckedArtifacts): Promise<LoadedModel> {
  if (format === 'graph-model') {
    throw new ModelFormatError(file, 'a tf.js LayersModel (loadGraphModel reads a graph-model folder)', 'format "graph-model"');
  }
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    throw new ModelFormatError(
      file,
      'a tf.js LayersModel topology (built-in layers only) matching its weights',
      (e as Error).message ?? String(e),
    );
  }
  return { model, meta };
}

/** A GraphModel (a converted SavedModel) read from a folder, with advlab's metadata when model.json has it. */
export interface LoadedGraphModel {
  model: GraphModelLike;
  meta: ModelMeta | undefined;
}

const CONVERTER_PACKAGE = '@tensorflow/tfjs-converter';

/**
 * Loads a `graph-model` folder (what tensorflowjs_converter writes for a SavedModel) with the same checks as
 * loadModel: size caps, weight paths inside the folder, byte counts; then builds it with tfjs-converter's
 * loadGraphModel from memory. @tensorflow/tfjs-converter is an optional peer: without it, an E_MODEL_FORMAT
 * error says to install it.
 */
export async function loadGraphModel(dir: string): Promise<LoadedGraphModel> {
  return buildGraphModel(await readModelFolder(dir));
}

async function buildGraphModel({ file, format, artifacts, meta }: CheckedArtifacts): Promise<LoadedGraphModel> {
  if (format !== 'graph-model') {
    throw new ModelFormatError(file, 'a tf.js GraphModel (format "graph-model"; loadModel reads a LayersModel)', `format "${format}"`);
  }
  let converter: { loadGraphModel(handler: tf.io.IOHandler): Promise<GraphModelLike> };
  try {
    // A variable specifier: the package is an optional peer and need not exist at type-check time.
    const spec: string = CONVERTER_PACKAGE;
    converter = await import(spec);
  } catch (e) {
    throw new ModelFormatError(file, `${CONVERTER_PACKAGE} installed to load a GraphModel`, `it is not (${(e as Error).message})`);
  }
  try {
    return { model: await converter.loadGraphModel(tf.io.fromMemory(artifacts)), meta };
  } catch (e) {
    throw new ModelFormatError(file, 'a tf.js GraphModel topology matching its weights', (e as Error).message ?? String(e));
  }
}

/** A classifier for a model folder of either format, with the options of classifierFromLayersModel / -GraphModel. */
export async function loadClassifier(
  dir: string,
  opts: GraphClassifierOptions = {},
): Promise<{ classifier: WrappedClassifier; meta: ModelMeta | undefined; format: 'layers-model' | 'graph-model' }> {
  const checked = await readModelFolder(dir);
  if (checked.format === 'graph-model') {
    const { model, meta } = await buildGraphModel(checked);
    return { classifier: classifierFromGraphModel(model, opts), meta, format: checked.format };
  }
  const { model, meta } = await buildLayersModel(checked);
  return { classifier: classifierFromLayersModel(model, opts), meta, format: checked.format };
}
