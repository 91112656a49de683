/**
 * Wrap a tfjs-converter GraphModel (a converted TensorFlow SavedModel / frozen graph, or a TF Hub
 * model) as a Classifier. The GraphModel is taken structurally (`GraphModelLike`), so @advlab/core
 * needs @tensorflow/tfjs-converter neither at run time nor in its types: load the model with
 * `tf.loadGraphModel(...)` in your own code and pass it here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ModelFormatError, ShapeError } from '../errors.ts';
import {
  type ClassifierOptions,
  type WrappedClassifier,
  checkInputBatch,
  describeModelValue,
  isGraphModelLike,
  isLayersModelLike,
  outputToLogits,
  resolvePreprocessing,
  wrappedClassifier,
} from './classifier.ts';

/** One input or output node of a graph model (tfjs-converter's TensorInfo). Unknown dimensions are -1 or null. */
export interface GraphTensorInfo {
  readonly name: string;
  readonly shape?: readonly (number | null)[];
  readonly dtype?: string;
}

type GraphInputs = tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;

/** What `classifierFromGraphModel` uses of a tfjs-converter GraphModel. */
export interface GraphModelLike {
  readonly inputs: readonly GraphTensorInfo[];
  readonly outputs: readonly GraphTensorInfo[];
  /** Synchronous execution (GraphModel.execute); preferred when present. */
  execute?(inputs: GraphInputs, outputs?: string | string[]): tf.Tensor | tf.Tensor[];
  /** Used when there is no `execute`. */
  predict?(inputs: GraphInputs, config?: object): tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;
}

export interface GraphClassifierOptions extends ClassifierOptions {
  /**
   * [h, w, c] of one image. Required when the graph's input placeholder leaves height, width or
   * channels unknown; when the graph knows them, must agree.
   */
  inputShape?: readonly [number, number, number];
  /** Number of classes K. Default: the output node's shape, else found by running one input. */
  numClasses?: number;
  /** The output node to read when the graph has several (e.g. 'logits'); default: its only output. */
  outputName?: string;
}

const PASS_THROUGH_OPS = new Set(['Identity', 'IdentityN', 'StopGradient', 'Snapshot', 'PreventGradient']);

interface GraphDefNode {
  name?: unknown;
  op?: unknown;
  input?: unknown;
}

/**
 * True / false if the GraphDef the model was loaded from is reachable (GraphModel keeps it as
 * `artifacts.modelTopology`) and shows whether `outputName` is a Softmax (through Identity nodes);
 * undefined when the topology cannot be read.
 */
function outputIsSoftmax(model: GraphModelLike, outputName: string): boolean | undefined {
  const topology = (model as { artifacts?: { modelTopology?: { node?: unknown } } }).artifacts?.modelTopology;
  const nodes = topology?.node;
  if (!Array.isArray(nodes)) return undefined;
  const byName = new Map<string, GraphDefNode>();
  for (const n of nodes as GraphDefNode[]) if (typeof n?.name === 'string') byName.set(n.name, n);
  const strip = (s: string) => s.replace(/^\^/, '').replace(/:\d+$/, '');
  let node = byName.get(strip(outputName));
  for (let hops = 0; node && hops < 64; hops++) {
    if (node.op === 'Softmax') return true;
    if (typeof node.op !== 'string' || !PASS_THROUGH_OPS.has(node.op)) return false;
    const first = Array.isArray(node.input) ? node.input.find((i) => typeof i === 'string' && !i.startsWith('^')) : undefined;
    node = typeof first === 'string' ? byName.get(strip(first)) : undefined;
  }
  return undefined;
}

function showShape(shape: readonly (number | null)[] | undefined): string {
  return shape === undefined ? 'unknown' : `[${shape.map((d) => (d === null ? 'null' : String(d))).join(', ')}]`;
}

const known = (d: number | null | undefined): d is number => typeof d === 'number' && d > 0;

/**
 * Wrap a GraphModel as a Classifier. The graph must have one float32 input [n, h, w, c] (NHWC) and
 * an output [n, K], K >= 2 (pick it with `outputName` if there are several). `logits(x)` runs
 * `model.execute((x − mean) / std)` and is differentiable: tf.grad follows the executed ops.
 * The graph must run synchronously (no control-flow ops that need executeAsync).
 *
 * `bounds`, `mean` and `std` work as for `classifierFromLayersModel`: attacks perturb x in `bounds`
 * (ε in that space) and the normalisation happens inside. Whether the output is a probability vector
 * is read from the graph when GraphModel exposes its topology (a Softmax node, possibly behind
 * Identity nodes); otherwise it cannot be detected — pass `outputsProbabilities: true` for a model
 * whose output is a softmax. The option always wins.
 */
export function classifierFromGraphModel(model: GraphModelLike, opts: GraphClassifierOptions = {}): WrappedClassifier {
  const name = opts.name ?? 'graph-model';
  if (!isGraphModelLike(model)) {
    const hint = isLayersModelLike(model) ? ' (use classifierFromLayersModel for a tf.LayersModel)' : '';
    throw new ModelFormatError(name, `a GraphModel${hint}`, describeModelValue(model));
  }
  if (model.inputs.length !== 1) {
    throw new ModelFormatError(
      name,
      'a graph with exactly one input',
      `${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')})`,
    );
  }
  const input = model.inputs[0]!;
  if (input.dtype !== undefined && input.dtype !== 'float32') {
    throw new ModelFormatError(
      name,
      'a float32 input (attacks differentiate with respect to it)',
      `input '${input.name}' of dtype ${input.dtype}`,
    );
  }

  let outputName: string | undefined;
  let outInfo: GraphTensorInfo | undefined;
  if (opts.outputName !== undefined) {
    outInfo = model.outputs.find((o) => o.name === opts.outputName);
    outputName = opts.outputName;
  } else if (model.outputs.length === 1) {
    outInfo = model.outputs[0];
  } else {
    throw new ModelFormatError(
      name,
      'a graph with exactly one output (or the outputName option)',
      `${model.outputs.length} outputs (${model.outputs.map((o) => o.name).join(', ')})`,
    );
  }

  // Input shape: the placeholder's, completed (and checked) by the inputShape option.
  const inShape = input.shape;
  if (inShape !== undefined && inShape.length !== 4) {
    throw new ModelFormatError(name, 'an input of rank 4 [n, h, w, c] (NHWC images)', `shape ${showShape(inShape)}`);
  }
  let inputShape: [number, number, number];
  if (opts.inputShape !== undefined) {
    const s = opts.inputShape as readonly unknown[];
    if (!Array.isArray(s) || s.length !== 3 || !s.every((d) => Number.isInteger(d) && (d as number) > 0)) {
      throw new ConfigError('inputShape', 'three positive integers [h, w, c]', `[${Array.isArray(s) ? s.join(', ') : String(s)}]`);
    }
    const hwc = inShape?.slice(1);
    if (hwc?.some((d, i) => known(d) && d !== s[i])) {
      throw new ConfigError('inputShape', `[h, w, c] agreeing with the graph's input ${showShape(inShape)}`, `[${s.join(', ')}]`);
    }
    inputShape = [s[0] as number, s[1] as number, s[2] as number];
  } else {
    const hwc = inShape?.slice(1);
    if (!hwc?.every(known)) {
      throw new ModelFormatError(
        name,
        'an input with known height, width and channels (or pass the inputShape option)',
        `shape ${showShape(inShape)}`,
      );
    }
    inputShape = [hwc[0] as number, hwc[1] as number, hwc[2] as number];
  }

  const pre = resolvePreprocessing(opts, inputShape[2]);
  const outputsProbabilities = opts.outputsProbabilities ?? outputIsSoftmax(model, outputName ?? outInfo?.name ?? '') ?? false;

  const run = (xin: tf.Tensor4D): tf.Tensor => {
    let out: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;
    if (typeof model.execute === 'function') {
      out = outputName === undefined ? model.execute(xin) : model.execute(xin, outputName);
    } else {
      out = model.predict!(xin);
      if (outputName !== undefined && !(out instanceof tf.Tensor) && !Array.isArray(out)) out = out[outputName]!;
    }
    if (!(out instanceof tf.Tensor)) {
      throw new ModelFormatError(name, 'a single output tensor', Array.isArray(out) ? `${out.length} tensors` : describeModelValue(out));
    }
    return out;
  };

  // numClasses: option, else the output node's static shape, else one forward pass.
  const outShape = outInfo?.shape;
  if (outShape !== undefined && outShape.length !== 2) {
    throw new ModelFormatError(name, 'an output of rank 2 [n, K]', `shape ${showShape(outShape)}`);
  }
  const staticK = outShape !== undefined && known(outShape[1]) ? outShape[1] : undefined;
  let k: number;
  if (opts.numClasses !== undefined) {
    if (!Number.isInteger(opts.numClasses) || opts.numClasses < 2) {
      throw new ConfigError('numClasses', 'an integer >= 2', String(opts.numClasses));
    }
    if (staticK !== undefined && staticK !== opts.numClasses) {
      throw new ConfigError('numClasses', `the graph's output width ${staticK}`, String(opts.numClasses));
    }
    k = opts.numClasses;
  } else if (staticK !== undefined) {
    k = staticK;
  } else {
    const probeShape = tf.tidy(() => run(pre.apply(tf.fill([1, ...inputShape], pre.bounds[0], 'float32') as tf.Tensor4D)).shape);
    if (probeShape.length !== 2) {
      throw new ModelFormatError(name, 'an output of rank 2 [n, K]', `shape ${showShape(probeShape)} for one input`);
    }
    k = probeShape[1]!;
  }
  if (k < 2) throw new ModelFormatError(name, 'an output [n, K] with K >= 2 classes', `K = ${k}`);

  const logits = (x: tf.Tensor4D): tf.Tensor2D => {
    checkInputBatch(name, inputShape, x);
    // tidy frees the intermediates; tensors saved for gradients are kept by the engine.
    return tf.tidy(() => {
      const xf = x.dtype === 'float32' ? x : (tf.cast(x, 'float32') as tf.Tensor4D);
      const out = run(pre.apply(xf));
      if (out.rank !== 2 || out.shape[0] !== x.shape[0] || out.shape[1] !== k) {
        throw new ShapeError(`${name}: expected output [${x.shape[0]}, ${k}], found ${JSON.stringify(out.shape)}`);
      }
      return outputToLogits(
        out.dtype === 'float32' ? (out as tf.Tensor2D) : (tf.cast(out, 'float32') as tf.Tensor2D),
        outputsProbabilities,
      );
    });
  };

  return wrappedClassifier({ logits, numClasses: k, inputShape, name }, pre, outputsProbabilities);
}
