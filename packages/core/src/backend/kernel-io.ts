/**
 * Reading inputs and producing outputs for advlab's JS kernels, on the tf.js 'cpu' and 'wasm' backends.
 *
 * The kernels themselves are plain functions over TypedArrays; this file is the only place that knows how
 * each backend stores tensor data:
 * - cpu:  `backend.data.get(dataId).values` (a JS TypedArray, not copied: do not mutate it) and
 *         `backend.makeTensorInfo(shape, dtype, values)`;
 * - wasm: `backend.readSync(dataId)` (a copy out of the wasm heap) and `backend.makeOutput(shape, dtype)` +
 *         `backend.typedArrayFromHeap(out).set(values)`. The output is allocated after the result has been
 *         computed in JS, so no heap view is held across an allocation (which may grow and detach the heap).
 */
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { AdvlabError } from '../errors.ts';

/** The tf.js backends advlab registers JS kernels for. */
export type JsKernelBackend = 'cpu' | 'wasm';

type NumericArray = Float32Array | Int32Array | Uint8Array;

function isNumericArray(v: unknown): v is NumericArray {
  return v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array;
}

/** Raw values of a tensor (float32, int32 or bool) as stored by the backend. Treat as read-only. */
export function readValues(backendName: JsKernelBackend, backend: unknown, t: TensorInfo, kernelName: string): NumericArray {
  let v: unknown;
  if (backendName === 'wasm') v = (backend as BackendWasm).readSync(t.dataId);
  else v = (backend as MathBackendCPU).data.get(t.dataId)?.values;
  if (!isNumericArray(v)) {
    throw new AdvlabError(
      'E_BACKEND',
      `${kernelName} (advlab JS kernel, ${backendName}): expected a numeric tensor, found dtype ${t.dtype}`,
    );
  }
  return v;
}

/** A tensor's values as float32 (no copy when it already is float32). Treat as read-only. */
export function readFloat32(backendName: JsKernelBackend, backend: unknown, t: TensorInfo, kernelName: string): Float32Array {
  const v = readValues(backendName, backend, t, kernelName);
  return v instanceof Float32Array ? v : Float32Array.from(v);
}

/** A tensor's values as int32 (no copy when it already is int32). Treat as read-only. */
export function readInt32(backendName: JsKernelBackend, backend: unknown, t: TensorInfo, kernelName: string): Int32Array {
  const v = readValues(backendName, backend, t, kernelName);
  return v instanceof Int32Array ? v : Int32Array.from(v);
}

/** Make an output tensor on the backend holding `values` (which the backend may keep: pass a fresh array). */
export function makeOutput(
  backendName: JsKernelBackend,
  backend: unknown,
  shape: number[],
  dtype: 'float32' | 'int32',
  values: Float32Array | Int32Array,
): TensorInfo {
  if (backendName === 'wasm') {
    const b = backend as BackendWasm;
    const out = b.makeOutput(shape, dtype);
    if (values.length > 0) b.typedArrayFromHeap(out).set(values);
    return out;
  }
  return (backend as MathBackendCPU).makeTensorInfo(shape, dtype as DataType, values);
}

/** Kernels that advlab replaced with its own, keyed `${kernelName}/${backendName}`. */
const replaced = new Map<string, KernelConfig | null>();

/**
 * Register the kernel built by `make` in tf.js's kernel registry, replacing any kernel already registered
 * under the same name and backend (without tf.js's "already registered" warning); `make` receives the
 * replaced kernel's function, if any, e.g. to delegate cases the JS kernel does not handle. Idempotent: a
 * second call for the same kernel/backend does nothing and returns false.
 */
export function registerJsKernel(
  kernelName: string,
  backendName: JsKernelBackend,
  make: (previous: KernelFunc | undefined) => KernelFunc,
): boolean {
  const key = `${kernelName}/${backendName}`;
  if (replaced.has(key)) return false;
  const existing = getKernel(kernelName, backendName);
  if (existing) unregisterKernel(kernelName, backendName);
  replaced.set(key, existing ?? null);
  registerKernel({ kernelName, backendName, kernelFunc: make(existing?.kernelFunc) });
  return true;
}

/**
 * The tf.js kernel that advlab's `registerJsKernel` replaced (e.g. tf.js's own cpu Conv2DBackpropFilter),
 * for reference checks and benchmarks; undefined when advlab registered nothing or nothing was replaced.
 */
export function replacedKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return replaced.get(`${kernelName}/${backendName}`) ?? undefined;
}

/** Whether advlab registered its own kernel for this name and backend. */
export function isJsKernelRegistered(kernelName: string, backendName: string): boolean {
  return replaced.has(`${kernelName}/${backendName}`);
}
