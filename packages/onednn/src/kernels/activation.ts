/**
 * tf.js's fused activations (FusedConv2D, _FusedMatMul): the ones oneDNN can apply as a post-op inside the
 * convolution / matmul get a code for the addon; prelu (per-channel weights) is applied afterwards with the
 * cpu kernel on the native result.
 */
import { Prelu } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { ACTIVATION_CODES } from '../native.ts';
import { cpuKernel, type KernelArgs } from './util.ts';

/** The post-op code for `activation` (undefined = linear), or null when it cannot be fused. */
export function activationCode(activation: unknown): number | null {
  if (activation === undefined || activation === null) return 0;
  const code = ACTIVATION_CODES[String(activation)];
  return code === undefined ? null : code;
}

/** prelu(x, alpha) with tf.js's cpu kernel; consumes (disposes) x. */
export function applyPrelu(backend: KernelArgs['backend'], x: TensorInfo, alpha: TensorInfo): TensorInfo {
  const out = cpuKernel(Prelu)({ inputs: { x, alpha }, backend, attrs: {} }) as TensorInfo;
  backend.disposeIntermediateTensorInfo(x);
  return out;
}
