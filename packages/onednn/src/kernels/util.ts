/**
 * Plumbing shared by the native kernels: reading float32 inputs, allocating pooled outputs, and registering
 * a kernel for 'onednn' that falls back to tf.js's cpu kernel for anything it does not handle.
 *
 * A native kernel returns null to decline (non-float32 input, NCHW, an unsupported broadcast or padding
 * pattern...); the cpu kernel then runs on the same backend object (OneDnnBackend is a MathBackendCPU).
 * If the addon throws (a bug, or oneDNN refusing a shape) the cpu kernel also runs, the error is counted in
 * kernelStats() and reported once per kernel on stderr: results stay correct, tests assert it never happens.
 */
import { getKernel, registerKernel, unregisterKernel, util } from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { OneDnnBackend } from '../backend.ts';
import type { NativeAddon, Stored } from '../native.ts';

export const BACKEND_NAME = 'onednn';

export interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: OneDnnBackend;
  attrs: NamedAttrMap;
}

/** A native implementation; null means "not handled here, use the cpu kernel". */
export type NativeImpl = (args: KernelArgs, native: NativeAddon) => TensorInfo | TensorInfo[] | null;

export interface NativeKernel {
  name: string;
  impl: NativeImpl;
}

/** A tensor's values when it is float32 stored as a Float32Array (the only case that goes native). */
export function float32Values(backend: OneDnnBackend, t: TensorInfo | undefined): Float32Array | null {
  if (t === undefined || t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Float32Array && v.length === util.sizeFromShape(t.shape) ? v : null;
}

/** The dtypes whose stores the native kernels read and write as raw elements. */
export type StoredDtype = 'float32' | 'int32' | 'bool';

/**
 * A float32, int32 or bool tensor's values when they are stored in its dtype's array (Float32Array,
 * Int32Array, Uint8Array); null otherwise. tf.js's cpu Cast of bool to int32 keeps the bool's Uint8Array
 * under the int32 tensor (no encoding loss, so it shares the data): such tensors go to the cpu kernel.
 */
export function storedValues(backend: OneDnnBackend, t: TensorInfo | undefined): Stored | null {
  if (t === undefined) return null;
  const v = backend.data.get(t.dataId)?.values;
  const ok =
    t.dtype === 'float32'
      ? v instanceof Float32Array
      : t.dtype === 'int32'
        ? v instanceof Int32Array
        : t.dtype === 'bool' && v instanceof Uint8Array;
  return ok && (v as Stored).length === util.sizeFromShape(t.shape) ? (v as Stored) : null;
}

/**
 * An output of `dtype` on a pooled buffer (a float32 one, or an int32 / bool view of one: allocView), filled
 * by `fill`. `fill` returning false declines: the buffer goes back to the pool and the result is null; if
 * it throws, the buffer goes back before the error propagates.
 */
export function storedOutput<T extends Stored = Stored>(
  backend: OneDnnBackend,
  shape: number[],
  dtype: StoredDtype,
  fill: (out: T) => unknown,
): TensorInfo | null {
  const n = util.sizeFromShape(shape);
  const out = dtype === 'float32' ? backend.allocFloat32(n) : backend.allocView(dtype, n);
  let done = false;
  try {
    done = fill(out as T) !== false;
  } finally {
    if (!done) backend.pool.unused(out);
  }
  return done ? backend.makeTensorInfo(shape, dtype, out) : null;
}

/**
 * Allocate a pooled float32 output of `shape`, let `fill` write it, and wrap it as a tensor. If `fill`
 * throws, the buffer goes back to the pool before the error propagates.
 */
export function nativeOutput(backend: OneDnnBackend, shape: number[], fill: (out: Float32Array) => void): TensorInfo {
  const out = backend.allocFloat32(util.sizeFromShape(shape));
  try {
    fill(out);
  } catch (e) {
    backend.pool.unused(out);
    throw e;
  }
  return backend.makeTensorInfo(shape, 'float32', out);
}

export interface KernelCounts {
  native: number;
  fallback: number;
  errors: number;
  lastError?: string;
}

const counts = new Map<string, KernelCounts>();

/** Per kernel: calls served natively, calls delegated to the cpu kernel, native errors. */
export function kernelStats(): Record<string, KernelCounts> {
  return Object.fromEntries([...counts].map(([k, v]) => [k, { ...v }]));
}

export function resetKernelStats(): void {
  // zero in place: the registered kernel functions hold on to their counters
  for (const c of counts.values()) {
    c.native = c.fallback = c.errors = 0;
    delete c.lastError;
  }
}

/** The cpu kernel function for `name` (advlab delegates to it). Throws if tf.js has none. */
export function cpuKernel(name: string): KernelFunc {
  const k = getKernel(name, 'cpu');
  if (!k) throw new Error(`@advlab/onednn: expected tf.js's cpu backend to have a ${name} kernel, found none`);
  return k.kernelFunc;
}

/** Register `kernels` for the onednn backend, replacing the cpu copies copyRegisteredKernels made. */
export function registerNativeKernels(kernels: readonly NativeKernel[], native: NativeAddon): void {
  for (const { name, impl } of kernels) {
    const fallback = cpuKernel(name);
    const c: KernelCounts = counts.get(name) ?? { native: 0, fallback: 0, errors: 0 };
    counts.set(name, c);
    const kernelFunc = ((args: KernelArgs) => {
      let out: TensorInfo | TensorInfo[] | null = null;
      try {
        out = impl(args, native);
      } catch (e) {
        c.errors++;
        c.lastError = e instanceof Error ? e.message : String(e);
        if (c.errors === 1) {
          process.emitWarning(`@advlab/onednn: native ${name} failed (${c.lastError}); using the cpu kernel`);
        }
      }
      if (out !== null) {
        c.native++;
        return out;
      }
      c.fallback++;
      return fallback(args as unknown as Parameters<KernelFunc>[0]);
    }) as unknown as KernelFunc;
    if (getKernel(name, BACKEND_NAME)) unregisterKernel(name, BACKEND_NAME);
    registerKernel({ kernelName: name, backendName: BACKEND_NAME, kernelFunc });
  }
}
