/**
 * BatchMatMul and _FusedMatMul (bias + activation as oneDNN post-ops). Transposes become memory strides in
 * the addon (no copies). Batch broadcasting: equal batch shapes, or one side with a batch of 1; other
 * patterns fall back to the cpu kernel.
 */
import { BatchMatMul, _FusedMatMul, broadcast_util, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native.ts';
import { activationCode, applyPrelu } from './activation.ts';
import { float32Values, nativeOutput, type KernelArgs, type NativeKernel } from './util.ts';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

function matmul({ inputs, backend, attrs }: KernelArgs, native: NativeAddon, fused: boolean): TensorInfo | null {
  const { a, b, bias, preluActivationWeights } = inputs;
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as MatMulAttrs;
  const av = float32Values(backend, a),
    bv = float32Values(backend, b);
  if (!a || !b || !av || !bv || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length,
    rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kB = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (K !== kB || M === 0 || N === 0 || K === 0) return null; // the cpu kernel reports the mismatch
  const outerA = a.shape.slice(0, -2),
    outerB = b.shape.slice(0, -2);
  const batchA = util.sizeFromShape(outerA),
    batchB = util.sizeFromShape(outerB);
  let outer: number[];
  try {
    outer = broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return null;
  }
  if (!(batchA === batchB && util.arraysEqual(outerA, outerB)) && batchA !== 1 && batchB !== 1) return null;
  const outShape = [...outer, M, N];

  let biasValues: Float32Array | null = null;
  if (fused && bias) {
    biasValues = float32Values(backend, bias);
    // a bias along the last output axis fuses; other broadcasts go to the cpu kernel
    if (!biasValues || biasValues.length !== N || (bias.shape.length > 0 && bias.shape[bias.shape.length - 1] !== N)) {
      return null;
    }
  }
  const isPrelu = fused && activation === 'prelu';
  const code = !fused || isPrelu ? 0 : activationCode(activation);
  if (code === null || (isPrelu && !preluActivationWeights)) return null;

  // [batch, M, K] · [K, N] with A not transposed is one 2-D product of [batch·M, K] · [K, N]
  const fold = batchB === 1 && batchA > 1 && !transposeA;
  const p = Int32Array.from([
    fold ? 1 : batchA,
    batchB,
    fold ? batchA * M : M,
    K,
    N,
    transposeA ? 1 : 0,
    transposeB ? 1 : 0,
    biasValues ? 1 : 0,
    code,
  ]);
  const y = nativeOutput(backend, outShape, (out) => native.matmul(av, bv, biasValues, out, p, leakyreluAlpha ?? 0.2));
  return isPrelu ? applyPrelu(backend, y, preluActivationWeights!) : y;
}

export const matmulKernels: readonly NativeKernel[] = [
  { name: BatchMatMul, impl: (args, native) => matmul(args, native, false) },
  { name: _FusedMatMul, impl: (args, native) => matmul(args, native, true) },
];
