/**
 * Black-box classifiers: models advlab can query for logits but not differentiate — an ONNX model run by
 * onnxruntime (`loadOnnxModel`), or any function from images to logits (`asyncClassifierFromFunction`).
 * Score-based attacks (Square) and clean evaluation need nothing more.
 *
 * onnxruntime-node is an optional peer dependency of @advlab/node (its CPU binaries ship in its npm
 * tarball; `npm install onnxruntime-node`). Without it, `loadOnnxModel` fails with E_BACKEND saying so.
 * onnxruntime-web (WebAssembly, also runs in Node) has the same API: pass `runtime: 'onnxruntime-web'`.
 *
 * An .onnx file is untrusted input: it must be a regular file no larger than `maxBytes`, checked before a byte
 * is read, and it is parsed by onnxruntime from memory (models with external data files are not supported).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import {
  AdvlabError,
  ConfigError,
  IoError,
  ModelFormatError,
  ModelMissingError,
  ShapeError,
  checkInputBatch,
  outputToLogits,
  resolvePreprocessing,
  type PreprocessingOptions,
  type AsyncClassifier,
} from '@advlab/core';

/** The memory layout of a model's image input: PyTorch exports NCHW, TensorFlow/Keras ones NHWC. */
export type OnnxLayout = 'nchw' | 'nhwc';

/** What `loadOnnxModel` returns: an AsyncClassifier backed by an onnxruntime session. */
export interface OnnxClassifier extends AsyncClassifier {
  readonly bounds: readonly [number, number];
  /** The layout the model takes; advlab's NHWC images are transposed to it before each query. */
  readonly layout: OnnxLayout;
  /** The .onnx file, as passed. */
  readonly file: string;
  readonly inputName: string;
  readonly outputName: string;
  /** Images per onnxruntime run: `logitsAsync` splits larger batches. */
  readonly batchSize: number;
  readonly outputsProbabilities: boolean;
  /** Releases the onnxruntime session; `logitsAsync` fails afterwards. Safe to call twice. */
  dispose(): Promise<void>;
}

/** The largest .onnx file `loadOnnxModel` reads unless told otherwise (`maxBytes`). */
export const MAX_ONNX_BYTES = 512 * 1024 * 1024;
/** Images per onnxruntime run unless told otherwise (`batchSize`). */
export const DEFAULT_ONNX_BATCH_SIZE = 128;
/** The package `loadOnnxModel` imports unless told otherwise (`runtime`). */
export const ONNX_RUNTIME_PACKAGE = 'onnxruntime-node';

/** The part of onnxruntime's tensor that advlab uses. */
export interface OnnxRuntimeTensor {
  readonly dims: readonly number[];
  readonly type: string;
  readonly data: unknown;
  /** Frees the tensor's data (onnxruntime-node: GPU buffers; a no-op on CPU). */
  dispose?(): void;
}

/** Input/output metadata as onnxruntime ≥ 1.21 reports it: symbolic dimensions are strings. */
export interface OnnxValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

/** The part of onnxruntime's InferenceSession that advlab uses. */
export interface OnnxRuntimeSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OnnxValueMetadata[];
  readonly outputMetadata?: readonly OnnxValueMetadata[];
  /** Runs the model on `feeds` (input name → tensor); resolves to output name → tensor. */
  run(feeds: Record<string, OnnxRuntimeTensor>): Promise<Record<string, OnnxRuntimeTensor>>;
  /** Frees the session. */
  release(): Promise<void>;
}

/** The part of the onnxruntime-node / onnxruntime-web module that advlab uses. */
export interface OnnxRuntimeModule {
  InferenceSession: {
    /** A session for the model in `model` (the bytes of an .onnx file). */
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OnnxRuntimeSession>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OnnxRuntimeTensor;
}

/** Options of `loadOnnxModel`: `bounds`, `mean` and `std` as for @advlab/core's model wrappers, and the rest below. */
export interface OnnxModelOptions extends PreprocessingOptions {
  /** Default: the file's base name. */
  name?: string;
  /** Images per onnxruntime run (a positive integer). Default 128; a model with a fixed batch dimension B gets B. */
  batchSize?: number;
  /** The input's layout. Default: read from the input's shape ([n, c, h, w] with c ≤ 4, or [n, h, w, c]). */
  layout?: OnnxLayout;
  /** [h, w, c] when the model leaves height, width or channels symbolic; else checked against the model. */
  inputShape?: readonly [number, number, number];
  /** The output to read, for a model with several outputs. */
  output?: string;
  /** The model outputs probabilities: `logitsAsync` returns log(clip(p, 1e-12, 1)). Default false. */
  outputsProbabilities?: boolean;
  /** Refuse files larger than this many bytes (checked before reading). Default MAX_ONNX_BYTES (512 MiB). */
  maxBytes?: number;
  /** onnxruntime's intra-op threads. Default: onnxruntime's (one per core). */
  threads?: number;
  /** The onnxruntime module, or the package to import it from. Default 'onnxruntime-node'. */
  runtime?: string | OnnxRuntimeModule;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

const runtimes = new Map<string, Promise<OnnxRuntimeModule>>();

async function importRuntime(spec: string, file: string): Promise<OnnxRuntimeModule> {
  let pending = runtimes.get(spec);
  if (pending === undefined) {
    // A variable specifier: the package is optional and need not exist at type-check time.
    pending = import(spec).then((m: Record<string, unknown>) => {
      const mod = (typeof m.InferenceSession === 'function' ? m : m.default) as Partial<OnnxRuntimeModule> | undefined;
      if (typeof mod?.InferenceSession?.create !== 'function' || typeof mod.Tensor !== 'function') {
        throw new Error(`${spec} has no InferenceSession.create or Tensor`);
      }
      return mod as OnnxRuntimeModule;
    });
    runtimes.set(spec, pending);
    pending.catch(() => runtimes.delete(spec));
  }
  try {
    return await pending;
  } catch (e) {
    throw new AdvlabError(
      'E_BACKEND',
      `${file}: running an ONNX model needs the package ${spec}, which could not be loaded (${messageOf(e)}); ` +
        `install it with \`npm install ${spec}\` (onnxruntime-web works too: the option runtime: 'onnxruntime-web')`,
    );
  }
}

/** Reads `file` after checking it is a regular file of 1..maxBytes bytes (on the open descriptor, so no swap in between). */
function readModelFile(file: string, maxBytes: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ModelMissingError(file, 'expected an ONNX model file (.onnx)');
    throw new IoError(file, 'open', code ?? messageOf(e));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new ModelFormatError(file, 'an ONNX model file', st.isDirectory() ? 'a directory' : 'not a regular file');
    }
    if (st.size > maxBytes) {
      throw new ModelFormatError(file, `an ONNX model of at most ${maxBytes} bytes (the option maxBytes)`, `${st.size} bytes; not read`);
    }
    if (st.size === 0) throw new ModelFormatError(file, 'an ONNX model', 'an empty file');
    const buf = new Uint8Array(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== buf.length) throw new ModelFormatError(file, `${buf.length} bytes`, `${off} (the file shrank while read)`);
    return buf;
  } catch (e) {
    if (e instanceof AdvlabError) throw e;
    throw new IoError(file, 'read', (e as NodeJS.ErrnoException).code ?? messageOf(e));
  } finally {
    closeSync(fd);
  }
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function checkOptions(opts: OnnxModelOptions): void {
  if (opts.batchSize !== undefined && !isPositiveInt(opts.batchSize)) {
    throw new ConfigError('batchSize', 'a positive integer', show(opts.batchSize));
  }
  if (opts.maxBytes !== undefined && !isPositiveInt(opts.maxBytes)) {
    throw new ConfigError('maxBytes', 'a positive integer', show(opts.maxBytes));
  }
  if (opts.threads !== undefined && !isPositiveInt(opts.threads)) {
    throw new ConfigError('threads', 'a positive integer', show(opts.threads));
  }
  if (opts.layout !== undefined && opts.layout !== 'nchw' && opts.layout !== 'nhwc') {
    throw new ConfigError('layout', "'nchw' or 'nhwc'", show(opts.layout));
  }
  if (
    opts.inputShape !== undefined &&
    !(Array.isArray(opts.inputShape) && opts.inputShape.length === 3 && opts.inputShape.every(isPositiveInt))
  ) {
    throw new ConfigError('inputShape', '[h, w, c], three positive integers', show(opts.inputShape));
  }
}

const isDim = (d: unknown): d is number => typeof d === 'number' && d > 0;
/** A dimension that can only be channels (TF and PyTorch image models take 1, 3 or 4). */
const isChannelDim = (d: unknown) => isDim(d) && d <= 4;

function baseName(file: string): string {
  return (file.split(/[\\/]/).pop() ?? file).replace(/\.onnx$/i, '') || file;
}

interface InputPlan {
  inputShape: [number, number, number];
  layout: OnnxLayout;
  /** The batch dimension when the model fixes it, else undefined. */
  fixedBatch: number | undefined;
}

/** The input's layout, [h, w, c] and batch dimension, from its metadata and the options. */
function planInput(file: string, meta: OnnxValueMetadata | undefined, opts: OnnxModelOptions): InputPlan {
  const shape = meta?.shape ?? [];
  if (meta !== undefined) {
    if (!meta.isTensor) throw new ModelFormatError(file, 'a tensor input (images)', `input "${meta.name}" that is not a tensor`);
    if (meta.type !== undefined && meta.type !== 'float32') {
      throw new ModelFormatError(file, 'a float32 image input', `input "${meta.name}" of type ${meta.type}`);
    }
  }
  const what = `input "${meta?.name ?? '?'}" of shape ${show(shape)}`;
  if (shape.length === 0) {
    // onnxruntime reports no shape: the options must say everything.
    if (opts.inputShape === undefined || opts.layout === undefined) {
      throw new ModelFormatError(file, 'an input shape in the model, or the options inputShape and layout', `${what} (unknown)`);
    }
    return { inputShape: [...opts.inputShape], layout: opts.layout, fixedBatch: undefined };
  }
  if (shape.length !== 4) throw new ModelFormatError(file, 'an image input of rank 4 ([n, c, h, w] or [n, h, w, c])', what);
  let layout = opts.layout;
  if (layout === undefined) {
    const nchw = isChannelDim(shape[1]) && !isChannelDim(shape[3]);
    const nhwc = isChannelDim(shape[3]) && !isChannelDim(shape[1]);
    if (nchw === nhwc) {
      throw new ModelFormatError(file, "an input whose layout its shape tells (else pass layout: 'nchw' or 'nhwc')", what);
    }
    layout = nchw ? 'nchw' : 'nhwc';
  }
  const [, a, b, c] = shape;
  const hwc = layout === 'nchw' ? [b, c, a] : [a, b, c];
  let inputShape: [number, number, number];
  if (opts.inputShape !== undefined) {
    const o = opts.inputShape;
    if (hwc.some((d, i) => isDim(d) && d !== o[i])) {
      throw new ModelFormatError(file, `an input of [h, w, c] ${show(o)} (the option inputShape, ${layout})`, what);
    }
    inputShape = [o[0], o[1], o[2]];
  } else {
    if (!hwc.every(isDim)) {
      throw new ModelFormatError(file, 'an input with known height, width and channels (else pass inputShape [h, w, c])', what);
    }
    inputShape = hwc as [number, number, number];
  }
  return { inputShape, layout, fixedBatch: isDim(shape[0]) ? shape[0] : undefined };
}

/** The output to read and its class count when the metadata tells it. */
function planOutput(file: string, session: OnnxRuntimeSession, opts: OnnxModelOptions): { name: string; numClasses?: number } {
  const names = session.outputNames;
  let name: string;
  if (opts.output !== undefined) {
    if (!names.includes(opts.output)) {
      throw new ModelFormatError(file, `an output named ${show(opts.output)} (the option output)`, `outputs ${show(names)}`);
    }
    name = opts.output;
  } else if (names.length === 1) {
    name = names[0]!;
  } else {
    throw new ModelFormatError(file, 'one output of logits (else pass output: NAME)', `${names.length} outputs ${show(names)}`);
  }
  const meta = session.outputMetadata?.[names.indexOf(name)];
  const shape = meta?.shape ?? [];
  if (meta !== undefined && !meta.isTensor)
    throw new ModelFormatError(file, 'a tensor output [n, K]', `output "${name}" that is not a tensor`);
  if (meta?.type !== undefined && meta.type !== 'float32' && meta.type !== 'float64') {
    throw new ModelFormatError(file, 'a float output [n, K] (logits)', `output "${name}" of type ${meta.type}`);
  }
  if (shape.length === 0) return { name };
  if (shape.length !== 2)
    throw new ModelFormatError(file, 'an output of rank 2 [n, K] (logits)', `output "${name}" of shape ${show(shape)}`);
  const k = shape[1];
  if (isDim(k) && k < 2)
    throw new ModelFormatError(file, 'an output [n, K] with K >= 2 classes', `output "${name}" of shape ${show(shape)}`);
  return isDim(k) ? { name, numClasses: k } : { name };
}

/**
 * Load an ONNX image classifier as an AsyncClassifier. The model must have one float32 image input, [n, c, h, w]
 * (e.g. a PyTorch export; advlab's NHWC images are transposed before each query) or [n, h, w, c], and an output
 * [n, K] of logits (or probabilities, with `outputsProbabilities`). Batches larger than `batchSize` are split.
 *
 * Errors: ModelMissingError for a missing file; ModelFormatError naming the file for one that is too large (not
 * read), empty, not ONNX, or not an image classifier (not one image input, an output that is not [n, K]);
 * AdvlabError E_BACKEND when onnxruntime-node is not installed; ConfigError for a bad option.
 */
export async function loadOnnxModel(file: string, opts: OnnxModelOptions = {}): Promise<OnnxClassifier> {
  checkOptions(opts);
  const bytes = readModelFile(file, opts.maxBytes ?? MAX_ONNX_BYTES);
  const ort = typeof opts.runtime === 'object' ? opts.runtime : await importRuntime(opts.runtime ?? ONNX_RUNTIME_PACKAGE, file);
  let session: OnnxRuntimeSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      logSeverityLevel: 3,
      ...(opts.threads !== undefined ? { intraOpNumThreads: opts.threads } : {}),
    });
  } catch (e) {
    throw new ModelFormatError(file, 'an ONNX model onnxruntime can load', `a file it refused (${messageOf(e)})`);
  }
  try {
    return await wrapSession(file, ort, session, opts);
  } catch (e) {
    await session.release().catch(() => undefined);
    throw e;
  }
}

async function wrapSession(
  file: string,
  ort: OnnxRuntimeModule,
  session: OnnxRuntimeSession,
  opts: OnnxModelOptions,
): Promise<OnnxClassifier> {
  if (session.inputNames.length !== 1) {
    throw new ModelFormatError(file, 'one input (images)', `${session.inputNames.length} inputs ${show(session.inputNames)}`);
  }
  const inputName = session.inputNames[0]!;
  const { inputShape, layout, fixedBatch } = planInput(file, session.inputMetadata?.[0], opts);
  const out = planOutput(file, session, opts);
  const outputName = out.name;
  const name = opts.name ?? baseName(file);
  const pre = resolvePreprocessing(opts, inputShape[2]);
  const outputsProbabilities = opts.outputsProbabilities ?? false;
  if (fixedBatch !== undefined && opts.batchSize !== undefined && opts.batchSize !== fixedBatch) {
    throw new ModelFormatError(
      file,
      `a model taking batches of ${opts.batchSize} (the option batchSize)`,
      `a fixed batch of ${fixedBatch}`,
    );
  }
  const batchSize = fixedBatch ?? opts.batchSize ?? DEFAULT_ONNX_BATCH_SIZE;
  const [h, w, c] = inputShape;
  const perImage = h * w * c;
  const dims = (n: number) => (layout === 'nchw' ? [n, c, h, w] : [n, h, w, c]);
  let released = false;

  /** Raw outputs [n, K] for n images (model layout, flat); pads a short chunk when the batch dimension is fixed. */
  async function runChunk(data: Float32Array, n: number, expectK: number | undefined): Promise<Float32Array> {
    const rows = fixedBatch ?? n;
    let feed = data;
    if (rows !== n) {
      feed = new Float32Array(rows * perImage);
      feed.set(data);
    }
    let result: Record<string, OnnxRuntimeTensor>;
    try {
      result = await session.run({ [inputName]: new ort.Tensor('float32', feed, dims(rows)) });
    } catch (e) {
      throw new AdvlabError('E_BACKEND', `${file}: onnxruntime could not run the model on ${show(dims(rows))} (${messageOf(e)})`);
    }
    const y = result[outputName];
    try {
      const k = y?.dims[1];
      if (y === undefined || y.dims.length !== 2 || y.dims[0] !== rows || !isDim(k) || (expectK !== undefined && k !== expectK)) {
        const expected = `output "${outputName}" of shape [${rows}, ${expectK ?? 'K'}] for ${rows} images`;
        throw new ModelFormatError(file, expected, y === undefined ? 'no such output' : `shape ${show(y.dims)}`);
      }
      if (!(y.data instanceof Float32Array || y.data instanceof Float64Array)) {
        throw new ModelFormatError(file, `a float output "${outputName}"`, `type ${y.type}`);
      }
      return Float32Array.from(y.data.subarray(0, n * k));
    } finally {
      for (const t of Object.values(result)) t.dispose?.();
    }
  }

  let numClasses = out.numClasses;
  if (numClasses === undefined) {
    // The metadata leaves K symbolic: one query of a blank image tells it.
    const probe = await runChunk(new Float32Array(perImage), 1, undefined);
    numClasses = probe.length;
    if (numClasses < 2) throw new ModelFormatError(file, 'an output [n, K] with K >= 2 classes', `K = ${numClasses}`);
  }
  const K = numClasses;

  async function logitsAsync(x: tf.Tensor4D): Promise<tf.Tensor2D> {
    if (released) throw new AdvlabError('E_BACKEND', `${file}: the ONNX model was disposed`);
    checkInputBatch(name, inputShape, x);
    const n = x.shape[0];
    const feed = tf.tidy(() => {
      const xf = x.dtype === 'float32' ? x : (tf.cast(x, 'float32') as tf.Tensor4D);
      const y = pre.apply(xf);
      return layout === 'nchw' ? tf.transpose(y, [0, 3, 1, 2]) : y === x ? tf.clone(y) : y;
    });
    let data: Float32Array;
    try {
      data = (await feed.data()) as Float32Array;
    } finally {
      feed.dispose();
    }
    const logits = new Float32Array(n * K);
    for (let i = 0; i < n; i += batchSize) {
      const m = Math.min(batchSize, n - i);
      const chunk = data.subarray(i * perImage, (i + m) * perImage);
      logits.set(await runChunk(chunk, m, K), i * K);
    }
    return tf.tidy(() => outputToLogits(tf.tensor2d(logits, [n, K], 'float32'), outputsProbabilities));
  }

  return {
    name,
    file,
    numClasses: K,
    inputShape,
    bounds: pre.bounds,
    layout,
    inputName,
    outputName,
    batchSize,
    outputsProbabilities,
    logitsAsync,
    dispose: async () => {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}

/** What `asyncClassifierFromFunction` needs besides the function. */
export interface AsyncClassifierInfo {
  numClasses: number;
  inputShape: readonly [number, number, number];
  /** Default 'function'. */
  name?: string;
  /** The function's input domain. Default [0, 1]. */
  bounds?: readonly [number, number];
}

/**
 * Any function from images to logits as an AsyncClassifier: a tf.js model (`(x) => model.predict(x)`), a remote
 * service, a wrapper with randomisation. `fn` gets x [n, h, w, c] (the caller's tensor: it must not dispose it)
 * and returns logits [n, numClasses], or a promise of them; what it returns is handed to the caller. `fn` owns
 * every other tensor it makes (wrap its synchronous work in tf.tidy). The input and the output's shape are checked
 * (ShapeError), and a wrong output is disposed.
 */
export function asyncClassifierFromFunction(
  fn: (x: tf.Tensor4D) => tf.Tensor2D | Promise<tf.Tensor2D>,
  info: AsyncClassifierInfo,
): AsyncClassifier {
  if (typeof fn !== 'function') throw new ConfigError('fn', 'a function from images to logits', typeof fn);
  if (!isPositiveInt(info.numClasses) || info.numClasses < 2) {
    throw new ConfigError('numClasses', 'an integer >= 2', show(info.numClasses));
  }
  if (!(Array.isArray(info.inputShape) && info.inputShape.length === 3 && info.inputShape.every(isPositiveInt))) {
    throw new ConfigError('inputShape', '[h, w, c], three positive integers', show(info.inputShape));
  }
  const name = info.name ?? 'function';
  const inputShape: [number, number, number] = [info.inputShape[0], info.inputShape[1], info.inputShape[2]];
  const { bounds } = resolvePreprocessing({ ...(info.bounds !== undefined ? { bounds: info.bounds } : {}) }, inputShape[2]);
  const K = info.numClasses;
  return {
    name,
    numClasses: K,
    inputShape,
    bounds,
    logitsAsync: async (x: tf.Tensor4D): Promise<tf.Tensor2D> => {
      checkInputBatch(name, inputShape, x);
      const y: unknown = await fn(x);
      if (!(y instanceof tf.Tensor) || y.rank !== 2 || y.shape[0] !== x.shape[0] || y.shape[1] !== K) {
        if (y instanceof tf.Tensor && y !== x) y.dispose();
        const found = y instanceof tf.Tensor ? `shape ${show(y.shape)}` : `a ${typeof y}`;
        throw new ShapeError(`${name}: expected logits [${x.shape[0]}, ${K}] from the function, found ${found}`);
      }
      return y as tf.Tensor2D;
    },
  };
}
