/**
 * Analytic FLOP counts for the benchmark workloads, from the layer shapes of advlab's zoo
 * (packages/core/src/models/zoo.ts). One multiply-add = 2 FLOPs; biases, activations, losses and the
 * optimiser update are not counted (they are a few percent at most for these models).
 *
 *   conv  : 2·K·K·Cin·Cout·Hout·Wout per image, forward
 *   dense : 2·in·out per image, forward
 *
 * Passes, in units of one forward pass F:
 *   forward only                                   1F
 *   input gradient (attack step: forward + ∂/∂x)   2F   (backward w.r.t. the input only ≈ 1 forward)
 *   training pass (forward + ∂/∂x and ∂/∂θ)        3F   (full backward ≈ 2 forwards)
 *
 * The same count is used for advlab and PyTorch: it is the work of the algorithm written plainly
 * (bench/pytorch/bench.py), not of either implementation (advlab's PGD, for instance, also evaluates
 * its final iterate once more).
 */

export type BenchModel = 'wong-cnn' | 'cnn';
export const BENCH_MODELS: readonly BenchModel[] = ['wong-cnn', 'cnn'];

export interface LayerFlops {
  name: string;
  /** Output shape [h, w, c] (dense: [1, 1, units]). */
  out: [number, number, number];
  flops: number;
}

/** Output size of a convolution along one axis. */
export function convOut(n: number, k: number, stride: number, padding: 'same' | 'valid', pad = 0): number {
  if (padding === 'same') return Math.ceil(n / stride);
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

/** Per-layer forward FLOPs of one image of `inputShape` [h, w, c], 10 classes. */
export function layerFlops(model: BenchModel, inputShape: [number, number, number] = [28, 28, 1], classes = 10): LayerFlops[] {
  let [h, w, c] = inputShape;
  const layers: LayerFlops[] = [];
  const conv = (name: string, k: number, cout: number, stride: number, padding: 'same' | 'valid', pad = 0) => {
    const ho = convOut(h, k, stride, padding, pad);
    const wo = convOut(w, k, stride, padding, pad);
    layers.push({ name, out: [ho, wo, cout], flops: 2 * k * k * c * cout * ho * wo });
    [h, w, c] = [ho, wo, cout];
  };
  const dense = (name: string, units: number) => {
    const inputs = h * w * c;
    layers.push({ name, out: [1, 1, units], flops: 2 * inputs * units });
    [h, w, c] = [1, 1, units];
  };
  if (model === 'wong-cnn') {
    // ZeroPadding2D(1) + conv 4×4 stride 2 'valid' == PyTorch Conv2d(k=4, s=2, padding=1)
    conv('conv1', 4, 16, 2, 'valid', 1);
    conv('conv2', 4, 32, 2, 'valid', 1);
    dense('dense1', 100);
    dense('logits', classes);
  } else {
    conv('conv1', 3, 32, 1, 'same');
    conv('conv2', 3, 64, 2, 'same');
    conv('conv3', 3, 64, 2, 'same');
    dense('dense1', 128);
    dense('logits', classes);
  }
  return layers;
}

/** Forward FLOPs of one image. */
export function forwardFlops(model: BenchModel): number {
  return layerFlops(model).reduce((s, l) => s + l.flops, 0);
}

export type WorkloadName = 'standard' | 'pgd7-at' | 'fgsm-at' | 'gradalign' | 'pgd20-eval';

export interface WorkloadDef {
  name: WorkloadName;
  description: string;
  /** Forward-pass equivalents per image. */
  passes: number;
  /** Images per timed unit (a training step on the batch, or the whole evaluation). */
  images: (c: { batch: number; evalN: number }) => number;
}

export const WORKLOADS: readonly WorkloadDef[] = [
  {
    name: 'standard',
    description: 'one standard training step: CE on the clean batch, Adam update',
    passes: 3,
    images: (c) => c.batch,
  },
  {
    name: 'pgd7-at',
    description: 'one PGD-7 adversarial-training step (random start, α = ε/4; weight gradient at the PGD point)',
    // 7 input gradients + 1 training pass
    passes: 7 * 2 + 3,
    images: (c) => c.batch,
  },
  {
    name: 'fgsm-at',
    description: 'one FGSM adversarial-training step (zero init, α = ε)',
    passes: 2 + 3,
    images: (c) => c.batch,
  },
  {
    name: 'gradalign',
    description: 'one GradAlign step (FGSM + λ = 0.2 · (1 − cos(∇ₓℓ(x), ∇ₓℓ(x+η))), double backprop)',
    // FGSM point 2F + CE training pass at x_adv 3F + two input gradients built with create_graph (2F each)
    // and differentiated again w.r.t. θ (≈ 2 × their 2F each)
    passes: 2 + 3 + 2 * (2 + 4),
    images: (c) => c.batch,
  },
  {
    name: 'pgd20-eval',
    description: 'PGD-20 evaluation (random start, α = ε/4) of the first test images, batch 256: clean + attacked accuracy',
    // clean forward + 20 input gradients + forward at the final iterate
    passes: 1 + 20 * 2 + 1,
    images: (c) => c.evalN,
  },
];

export const WORKLOAD_NAMES: readonly WorkloadName[] = WORKLOADS.map((w) => w.name);

export function workloadDef(name: WorkloadName): WorkloadDef {
  const w = WORKLOADS.find((d) => d.name === name);
  if (!w) throw new Error(`unknown workload ${name}`);
  return w;
}

/** Analytic FLOPs of one timed unit of `workload` on `model`. */
export function workloadFlops(model: BenchModel, workload: WorkloadName, c: { batch: number; evalN: number }): number {
  const w = workloadDef(workload);
  return w.passes * forwardFlops(model) * w.images(c);
}

/** FLOPs of the peak-measurement convolution: NHWC [batch, 56, 56, 64] ⊛ 3×3×64×64, stride 1, same. */
export function peakConvFlops(batch: number): number {
  return 2 * 3 * 3 * 64 * 64 * 56 * 56 * batch;
}
