/**
 * Test fixture: a tiny CNN as the artifacts of a tf.js GraphModel (what tensorflowjs_converter writes
 * for a SavedModel: format 'graph-model', a GraphDef as JSON, Const weights in the weights manifest),
 * built in memory from given weights, and the equivalent tfjs-layers model with the same weights.
 *
 *   input (Placeholder [-1, h, w, c]) → Conv2D (VALID, stride 1) → BiasAdd → Relu → Reshape [-1, d]
 *   → MatMul → BiasAdd [→ Softmax] [→ Identity]
 *
 * Load the graph with `tf.loadGraphModel(tf.io.fromMemory(tinyCnnGraphArtifacts(w)))` from
 * @tensorflow/tfjs-converter. Browser-safe: no node: imports, nothing is written anywhere — every
 * function returns plain objects (see `tinyCnnGraphModelFiles` for model.json + shard as they would be
 * served).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../util/rng.ts';

export interface TinyCnnSpec {
  /** [h, w, c] of one image. */
  inputShape: [number, number, number];
  /** Conv2D output channels. */
  filters: number;
  /** Square kernel size (VALID padding, stride 1). */
  kernelSize: number;
  numClasses: number;
}

/** Weights in TensorFlow's layouts (which tfjs-layers shares): kernel [kh, kw, cIn, cOut], dense [d, K]. */
export interface TinyCnnWeights {
  spec: TinyCnnSpec;
  convKernel: Float32Array;
  convBias: Float32Array;
  denseKernel: Float32Array;
  denseBias: Float32Array;
}

export interface TinyCnnGraphOptions {
  /** End in a Softmax node (the model outputs probabilities). */
  softmax?: boolean;
  /** Put an Identity node after the last op, as SavedModel signatures do. */
  identityOutput?: boolean;
  /** Use the converter's fused ops (_FusedConv2D with BiasAdd+Relu, _FusedMatMul with BiasAdd). */
  fused?: boolean;
  /** Leave height and width unknown in the Placeholder ([-1, -1, -1, c]). */
  unknownSpatial?: boolean;
  /** Name of the input Placeholder. Default 'input'. */
  inputName?: string;
}

/** Spatial size after the VALID convolution, and the flattened width d. */
export function tinyCnnDims(spec: TinyCnnSpec): { oh: number; ow: number; d: number } {
  const oh = spec.inputShape[0] - spec.kernelSize + 1;
  const ow = spec.inputShape[1] - spec.kernelSize + 1;
  if (oh < 1 || ow < 1) throw new Error(`tinyCnn: kernel ${spec.kernelSize} larger than input ${spec.inputShape.join('x')}`);
  return { oh, ow, d: oh * ow * spec.filters };
}

/** He-normal weights (and small biases) drawn from a seeded Rng. */
export function tinyCnnWeights(spec: TinyCnnSpec, seed = 1): TinyCnnWeights {
  const rng = new Rng(seed);
  const [, , c] = spec.inputShape;
  const { d } = tinyCnnDims(spec);
  const fill = (n: number, sd: number) => Float32Array.from({ length: n }, () => sd * rng.normal());
  const fanIn = spec.kernelSize * spec.kernelSize * c;
  return {
    spec,
    convKernel: fill(spec.kernelSize * spec.kernelSize * c * spec.filters, Math.sqrt(2 / fanIn)),
    convBias: fill(spec.filters, 0.05),
    denseKernel: fill(d * spec.numClasses, Math.sqrt(2 / d)),
    denseBias: fill(spec.numClasses, 0.05),
  };
}

// ---- GraphDef JSON helpers (the proto3 JSON mapping tensorflowjs_converter writes) ----

type AttrValue = Record<string, unknown>;
interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
  device?: string;
}

/** Bytes fields are base64 in proto3 JSON (the converter decodes with atob). */
function b64(s: string): string {
  return btoa(s);
}
const DT_FLOAT: AttrValue = { type: 'DT_FLOAT' };
const DT_INT32: AttrValue = { type: 'DT_INT32' };
const dims = (shape: number[]) => ({ dim: shape.map((size) => ({ size: String(size) })) });
const ints = (v: number[]): AttrValue => ({ list: { i: v.map(String) } });
const str = (s: string): AttrValue => ({ s: b64(s) });
const strs = (v: string[]): AttrValue => ({ list: { s: v.map(b64) } });

function constNode(name: string, shape: number[], dtype: 'float32' | 'int32'): NodeDef {
  const dt = dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32';
  return { name, op: 'Const', attr: { value: { tensor: { dtype: dt, tensorShape: dims(shape) } }, dtype: { type: dt } } };
}

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

function buildGraph(w: TinyCnnWeights, opts: TinyCnnGraphOptions): { nodes: NodeDef[]; weights: WeightEntry[] } {
  const { inputShape, filters, kernelSize: ks, numClasses: k } = w.spec;
  const [h, wd, c] = inputShape;
  const { d } = tinyCnnDims(w.spec);
  const input = opts.inputName ?? 'input';
  const weights: WeightEntry[] = [
    { name: 'conv/kernel', shape: [ks, ks, c, filters], dtype: 'float32', data: w.convKernel },
    { name: 'conv/bias', shape: [filters], dtype: 'float32', data: w.convBias },
    { name: 'flatten/shape', shape: [2], dtype: 'int32', data: Int32Array.from([-1, d]) },
    { name: 'dense/kernel', shape: [d, k], dtype: 'float32', data: w.denseKernel },
    { name: 'dense/bias', shape: [k], dtype: 'float32', data: w.denseBias },
  ];
  const nodes: NodeDef[] = [
    {
      name: input,
      op: 'Placeholder',
      attr: { dtype: DT_FLOAT, shape: { shape: dims(opts.unknownSpatial ? [-1, -1, -1, c] : [-1, h, wd, c]) } },
    },
    ...weights.map((e) => constNode(e.name, e.shape, e.dtype)),
  ];
  const convAttr = {
    T: DT_FLOAT,
    strides: ints([1, 1, 1, 1]),
    padding: str('VALID'),
    data_format: str('NHWC'),
    dilations: ints([1, 1, 1, 1]),
    use_cudnn_on_gpu: { b: true },
    explicit_paddings: { list: {} },
  };
  let last = 'dense/BiasAdd';
  if (opts.fused) {
    nodes.push({
      name: 'conv/Relu',
      op: '_FusedConv2D',
      input: [input, 'conv/kernel', 'conv/bias'],
      attr: { ...convAttr, num_args: { i: '1' }, fused_ops: strs(['BiasAdd', 'Relu']), epsilon: { f: 0 } },
    });
    nodes.push({ name: 'flatten/Reshape', op: 'Reshape', input: ['conv/Relu', 'flatten/shape'], attr: { T: DT_FLOAT, Tshape: DT_INT32 } });
    nodes.push({
      name: 'dense/BiasAdd',
      op: '_FusedMatMul',
      input: ['flatten/Reshape', 'dense/kernel', 'dense/bias'],
      attr: {
        T: DT_FLOAT,
        transpose_a: { b: false },
        transpose_b: { b: false },
        num_args: { i: '1' },
        fused_ops: strs(['BiasAdd']),
        epsilon: { f: 0 },
      },
    });
  } else {
    nodes.push({ name: 'conv/Conv2D', op: 'Conv2D', input: [input, 'conv/kernel'], attr: convAttr });
    nodes.push({
      name: 'conv/BiasAdd',
      op: 'BiasAdd',
      input: ['conv/Conv2D', 'conv/bias'],
      attr: { T: DT_FLOAT, data_format: str('NHWC') },
    });
    nodes.push({ name: 'conv/Relu', op: 'Relu', input: ['conv/BiasAdd'], attr: { T: DT_FLOAT } });
    nodes.push({ name: 'flatten/Reshape', op: 'Reshape', input: ['conv/Relu', 'flatten/shape'], attr: { T: DT_FLOAT, Tshape: DT_INT32 } });
    nodes.push({
      name: 'dense/MatMul',
      op: 'MatMul',
      input: ['flatten/Reshape', 'dense/kernel'],
      attr: { T: DT_FLOAT, transpose_a: { b: false }, transpose_b: { b: false } },
    });
    nodes.push({
      name: 'dense/BiasAdd',
      op: 'BiasAdd',
      input: ['dense/MatMul', 'dense/bias'],
      attr: { T: DT_FLOAT, data_format: str('NHWC') },
    });
  }
  if (opts.softmax) {
    nodes.push({ name: 'probs/Softmax', op: 'Softmax', input: [last], attr: { T: DT_FLOAT } });
    last = 'probs/Softmax';
  }
  if (opts.identityOutput) nodes.push({ name: 'Identity', op: 'Identity', input: [last], attr: { T: DT_FLOAT } });
  return { nodes, weights };
}

function concatWeights(weights: WeightEntry[]): ArrayBuffer {
  const total = weights.reduce((s, e) => s + e.data.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of weights) {
    const expected = e.shape.reduce((a, b) => a * b, 1);
    if (e.data.length !== expected)
      throw new Error(`tinyCnn: weight ${e.name} has ${e.data.length} values, shape [${e.shape}] needs ${expected}`);
    out.set(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength), at);
    at += e.data.byteLength;
  }
  return out.buffer;
}

const GENERATED_BY = 'advlab testing/graph-model.ts';

/** The in-memory ModelArtifacts of the GraphModel: pass to `tf.io.fromMemory` / `loadGraphModelSync`. */
export function tinyCnnGraphArtifacts(w: TinyCnnWeights, opts: TinyCnnGraphOptions = {}): tf.io.ModelArtifacts {
  const { nodes, weights } = buildGraph(w, opts);
  return {
    format: 'graph-model',
    generatedBy: GENERATED_BY,
    convertedBy: GENERATED_BY,
    modelTopology: { node: nodes, library: {}, versions: { producer: 1286 } },
    weightSpecs: weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })),
    weightData: concatWeights(weights),
  };
}

/**
 * The same model as the files tensorflowjs_converter writes: `model.json` (text) and one weight shard.
 * Nothing is written: serve or save them as you like.
 */
export function tinyCnnGraphModelFiles(
  w: TinyCnnWeights,
  opts: TinyCnnGraphOptions = {},
  shardName = 'group1-shard1of1.bin',
): { modelJson: string; shardName: string; shard: Uint8Array } {
  const { nodes, weights } = buildGraph(w, opts);
  const modelJson = JSON.stringify({
    format: 'graph-model',
    generatedBy: GENERATED_BY,
    convertedBy: GENERATED_BY,
    modelTopology: { node: nodes, library: {}, versions: { producer: 1286 } },
    weightsManifest: [{ paths: [shardName], weights: weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
  });
  return { modelJson, shardName, shard: new Uint8Array(concatWeights(weights)) };
}

/** The equivalent tfjs-layers model: conv2d(valid, relu) → flatten → dense [softmax], same weights. */
export function tinyCnnLayersModel(w: TinyCnnWeights, opts: { softmax?: boolean; name?: string } = {}): tfl.LayersModel {
  const { inputShape, filters, kernelSize: ks, numClasses: k } = w.spec;
  const { d } = tinyCnnDims(w.spec);
  const model = tfl.sequential({
    name: opts.name ?? 'tiny-cnn',
    layers: [
      tfl.layers.conv2d({ inputShape, filters, kernelSize: ks, padding: 'valid', activation: 'relu' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: k, activation: opts.softmax ? 'softmax' : 'linear' }),
    ],
  });
  const ts = [
    tf.tensor4d(w.convKernel, [ks, ks, inputShape[2], filters]),
    tf.tensor1d(w.convBias),
    tf.tensor2d(w.denseKernel, [d, k]),
    tf.tensor1d(w.denseBias),
  ];
  model.setWeights(ts);
  tf.dispose(ts);
  return model;
}
