/**
 * The model zoo: small, seeded classifiers for NHWC inputs in [0, 1] that output LOGITS (no softmax).
 *
 * Every kernel initialiser gets its own seed drawn in a fixed order from `Rng(opts.seed)`, so the
 * same seed gives bit-identical weights and a different seed gives different ones. Biases start at
 * zero ('he') or from PyTorch's U(±1/√fan_in) ('torch', from a second seeded stream); batch-norm
 * parameters at (gamma 1, beta 0, mean 0, var 1).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError } from '../errors.ts';
import { Rng } from '../util/rng.ts';
import { suggest } from '../util/suggest.ts';

/** How `createModel` initialises weights; see `ModelOptions.init`. */
export type InitScheme = 'he' | 'torch';
/** Every InitScheme, e.g. for a flag's list of valid values. */
export const INIT_SCHEMES: readonly InitScheme[] = ['he', 'torch'];

/** The architectures `createModel` builds; MODELS describes each. */
export type ModelName = 'mlp' | 'wong-cnn' | 'cnn' | 'resnet' | 'linear';

/**
 * What `createModel` needs besides the architecture. Throws ConfigError for an input shape that is not three
 * positive integers, fewer than 2 classes, a seed that is not a safe integer or a `hidden` that is not a positive integer.
 */
export interface ModelOptions {
  /** [height, width, channels] of one example. */
  inputShape: [number, number, number];
  numClasses: number;
  seed: number;
  /**
   * Weight initialisation: 'torch' (the default: PyTorch's, kernels and biases from U(±1/√fan_in) with
   * the kernel's fan-in, so runs compare with PyTorch's) or 'he' (He-normal for ReLU layers,
   * Glorot-uniform logits, zero biases).
   */
  init?: InitScheme;
  /** Hidden width of `mlp` (default 256); ignored by the other models. */
  hidden?: number;
}

/** The zoo's architectures with a one-line description of their layers, in the order help text lists them. */
export const MODELS: readonly { name: ModelName; description: string }[] = [
  { name: 'mlp', description: 'flatten → dense 256 → ReLU → dense 256 → ReLU → dense K (width set by `hidden`)' },
  {
    name: 'wong-cnn',
    description:
      'conv 16@4×4/2 pad 1 → ReLU → conv 32@4×4/2 pad 1 → ReLU → dense 100 → ReLU → dense K (fast adversarial training MNIST net)',
  },
  {
    name: 'cnn',
    description: 'conv 32@3×3 → conv 64@3×3/2 → conv 64@3×3/2 (ReLU, same padding) → dense 128 → ReLU → dense K',
  },
  {
    name: 'resnet',
    description: 'small pre-activation ResNet: stem 16, stages 16/32/64 (stride 1/2/2), BN → ReLU → global avg pool → dense K',
  },
  { name: 'linear', description: 'flatten → dense K (a linear classifier, handy for exact tests)' },
];

/** The names in MODELS, in the same order. */
export const MODEL_NAMES: readonly ModelName[] = MODELS.map((m) => m.name);

/** True if `name` is a zoo architecture (case-sensitive); `assertModelName` throws instead. */
export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/** Throws ConfigError('model', ...) for an unknown name, with "(did you mean X?)" when one is close. */
export function assertModelName(name: string): asserts name is ModelName {
  if (isModelName(name)) return;
  const err = new ConfigError('model', `one of ${MODEL_NAMES.join(', ')}`, name);
  const s = suggest(name, MODEL_NAMES);
  if (s !== undefined) err.message = `${err.message} (did you mean ${s}?)`;
  throw err;
}

function isPosInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function validate(opts: ModelOptions): void {
  const s = opts.inputShape as unknown;
  if (!Array.isArray(s) || s.length !== 3 || !s.every(isPosInt)) {
    throw new ConfigError('inputShape', '[height, width, channels] of positive integers', JSON.stringify(s));
  }
  if (!isPosInt(opts.numClasses) || opts.numClasses < 2) {
    throw new ConfigError('numClasses', 'an integer >= 2', String(opts.numClasses));
  }
  if (typeof opts.seed !== 'number' || !Number.isSafeInteger(opts.seed)) {
    throw new ConfigError('seed', 'an integer', String(opts.seed));
  }
  if (opts.hidden !== undefined && !isPosInt(opts.hidden)) {
    throw new ConfigError('hidden', 'a positive integer', String(opts.hidden));
  }
}

/** Hands out one seeded initialiser per layer, in creation order. */
class Inits {
  private readonly rng: Rng;
  constructor(
    seed: number,
    private readonly scheme: InitScheme,
  ) {
    this.rng = new Rng(seed);
  }
  /** He-normal, for layers followed by ReLU ('torch': PyTorch's default U(±1/√fan_in)). */
  he() {
    return this.scheme === 'torch' ? this.torch() : tfl.initializers.heNormal({ seed: this.rng.seed() });
  }
  /** Glorot-uniform, for the logits layer ('torch': PyTorch's default U(±1/√fan_in)). */
  glorot() {
    return this.scheme === 'torch' ? this.torch() : tfl.initializers.glorotUniform({ seed: this.rng.seed() });
  }
  /** kaiming_uniform(a=√5) = U(±√(3·(1/3)/fan_in)) = U(±1/√fan_in): PyTorch's default for Linear and Conv. */
  private torch() {
    return tfl.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed: this.rng.seed() });
  }
}

/** Build a zoo model. The same `seed` always gives identical weights. */
export function createModel(name: ModelName, opts: ModelOptions): tfl.LayersModel {
  assertModelName(name);
  validate(opts);
  const scheme = opts.init ?? 'torch';
  const model = build(name, opts, new Inits(opts.seed, scheme));
  if (scheme === 'torch') torchBiases(model, new Rng(opts.seed + 1));
  return model;
}

function build(name: ModelName, opts: ModelOptions, init: Inits): tfl.LayersModel {
  switch (name) {
    case 'mlp':
      return mlp(opts, init);
    case 'wong-cnn':
      return wongCnn(opts, init);
    case 'cnn':
      return cnn(opts, init);
    case 'resnet':
      return resnet(opts, init);
    case 'linear':
      return linear(opts, init);
  }
}

/**
 * PyTorch draws a Linear/Conv bias from U(±1/√fan_in) with the layer's kernel fan-in, which a Keras
 * bias initialiser cannot see (it gets the bias shape only), so the biases are set after the build.
 * This matters: with zero biases, PGD training of wong-cnn at ε = 0.2 stays at chance (every ReLU
 * unit dead on the adversarial inputs) where PyTorch's initialisation learns (docs/training.md).
 */
function torchBiases(model: tfl.LayersModel, rng: Rng): void {
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length !== 2 || weights[0]!.shape.length < 2 || weights[1]!.shape.length !== 1) continue;
    const [kernel, bias] = weights as [tf.Tensor, tf.Tensor];
    const fanIn = kernel.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    const fresh = tf.randomUniform(bias.shape, -bound, bound, 'float32', rng.seed());
    layer.setWeights([kernel, fresh]);
    fresh.dispose();
  }
}

function logitsLayer(k: number, init: Inits): tfl.layers.Layer {
  return tfl.layers.dense({ units: k, kernelInitializer: init.glorot(), name: 'logits' });
}

function linear(opts: ModelOptions, init: Inits): tfl.LayersModel {
  return tfl.sequential({
    name: 'linear',
    layers: [tfl.layers.flatten({ inputShape: opts.inputShape, name: 'flatten' }), logitsLayer(opts.numClasses, init)],
  });
}

function mlp(opts: ModelOptions, init: Inits): tfl.LayersModel {
  const h = opts.hidden ?? 256;
  return tfl.sequential({
    name: 'mlp',
    layers: [
      tfl.layers.flatten({ inputShape: opts.inputShape, name: 'flatten' }),
      tfl.layers.dense({ units: h, activation: 'relu', kernelInitializer: init.he(), name: 'dense1' }),
      tfl.layers.dense({ units: h, activation: 'relu', kernelInitializer: init.he(), name: 'dense2' }),
      logitsLayer(opts.numClasses, init),
    ],
  });
}

/**
 * PyTorch's `Conv2d(k=4, stride=2, padding=1)` exactly: explicit 1-pixel zero padding then a 'valid'
 * convolution, (n + 2 - 4) / 2 + 1 outputs. (TF 'same' happens to pad 1/1 for even n here, but
 * 1/2 for odd n, so it does not match in general.)
 */
function wongCnn(opts: ModelOptions, init: Inits): tfl.LayersModel {
  const [h, w] = opts.inputShape;
  const out = (n: number) => Math.floor((n + 2 - 4) / 2) + 1;
  if (out(out(h)) < 1 || out(out(w)) < 1) {
    throw new ConfigError('model', 'wong-cnn inputs of at least 4×4', `${h}×${w}`);
  }
  return tfl.sequential({
    name: 'wong-cnn',
    layers: [
      tfl.layers.zeroPadding2d({ inputShape: opts.inputShape, padding: 1, name: 'pad1' }),
      tfl.layers.conv2d({
        filters: 16,
        kernelSize: 4,
        strides: 2,
        padding: 'valid',
        activation: 'relu',
        kernelInitializer: init.he(),
        name: 'conv1',
      }),
      tfl.layers.zeroPadding2d({ padding: 1, name: 'pad2' }),
      tfl.layers.conv2d({
        filters: 32,
        kernelSize: 4,
        strides: 2,
        padding: 'valid',
        activation: 'relu',
        kernelInitializer: init.he(),
        name: 'conv2',
      }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ units: 100, activation: 'relu', kernelInitializer: init.he(), name: 'dense1' }),
      logitsLayer(opts.numClasses, init),
    ],
  });
}

function cnn(opts: ModelOptions, init: Inits): tfl.LayersModel {
  const conv = (filters: number, strides: number, name: string, first = false) =>
    tfl.layers.conv2d({
      ...(first ? { inputShape: opts.inputShape } : {}),
      filters,
      kernelSize: 3,
      strides,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init.he(),
      name,
    });
  return tfl.sequential({
    name: 'cnn',
    layers: [
      conv(32, 1, 'conv1', true),
      conv(64, 2, 'conv2'),
      conv(64, 2, 'conv3'),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init.he(), name: 'dense1' }),
      logitsLayer(opts.numClasses, init),
    ],
  });
}

type Sym = tfl.SymbolicTensor;

function resnet(opts: ModelOptions, init: Inits): tfl.LayersModel {
  // PyTorch-like batch-norm constants (PyTorch momentum 0.1 == Keras momentum 0.9).
  const bn = (name: string) => tfl.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name });
  const relu = (name: string) => tfl.layers.activation({ activation: 'relu', name });
  const conv = (filters: number, kernelSize: number, strides: number, name: string) =>
    tfl.layers.conv2d({
      filters,
      kernelSize,
      strides,
      padding: 'same',
      useBias: false,
      kernelInitializer: init.he(),
      name,
    });
  const apply = (layer: tfl.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;

  /** Pre-activation block; the projection shortcut (when the shape changes) reads the pre-activated input. */
  const block = (x: Sym, inCh: number, outCh: number, stride: number, p: string): Sym => {
    const pre = apply(relu(`${p}_relu1`), apply(bn(`${p}_bn1`), x));
    const shortcut = stride !== 1 || inCh !== outCh ? apply(conv(outCh, 1, stride, `${p}_shortcut`), pre) : x;
    let y = apply(conv(outCh, 3, stride, `${p}_conv1`), pre);
    y = apply(relu(`${p}_relu2`), apply(bn(`${p}_bn2`), y));
    y = apply(conv(outCh, 3, 1, `${p}_conv2`), y);
    return apply(tfl.layers.add({ name: `${p}_add` }), [y, shortcut]);
  };

  const input = tfl.input({ shape: opts.inputShape, name: 'input' });
  let x = apply(conv(16, 3, 1, 'stem_conv'), input);
  const stages: [number, number][] = [
    [16, 1],
    [32, 2],
    [64, 2],
  ];
  let ch = 16;
  stages.forEach(([outCh, stride], i) => {
    x = block(x, ch, outCh, stride, `stage${i + 1}`);
    ch = outCh;
  });
  x = apply(relu('final_relu'), apply(bn('final_bn'), x));
  x = apply(tfl.layers.globalAveragePooling2d({ name: 'gap' }), x);
  const out = apply(logitsLayer(opts.numClasses, init), x);
  return tfl.model({ name: 'resnet', inputs: input, outputs: out });
}
