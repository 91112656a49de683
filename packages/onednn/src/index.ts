/**
 * @advlab/onednn — a tf.js backend for Node that runs the hot kernels natively on Intel oneDNN.
 *
 * The backend 'onednn' is tf.js's cpu backend (OneDnnBackend extends MathBackendCPU: same tensor storage,
 * every cpu kernel is copied over and works unchanged) with native overrides for:
 * - convolution: Conv2D, FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter (kernels/conv.ts);
 * - matrix products: BatchMatMul, _FusedMatMul (kernels/matmul.ts);
 * - pooling: MaxPool, AvgPool, MaxPoolGrad, AvgPoolGrad (kernels/pool.ts);
 * - elementwise: Relu, Step, Sign, ClipByValue, Neg, Exp, Log, Square, Abs, Sqrt, Sigmoid, Tanh, Relu6,
 *   LeakyRelu, Elu, Rsqrt; Add, Sub, Multiply, RealDiv, Maximum, Minimum, SquaredDifference with
 *   broadcasting; AddN; FusedBatchNorm; ZerosLike; Cast bool/int32 → float32 into a real Float32Array
 *   (kernels/elementwise.ts);
 * - reductions: Sum, Mean, Softmax (kernels/reduce.ts);
 * - data movement: PadV2, Slice; Tile and GatherV2 also for int32 and bool (kernels/layout.ts);
 * - comparisons and logic, with broadcasting, bool results: Less, LessEqual, Greater, GreaterEqual, Equal,
 *   NotEqual (float32, int32, bool operands); LogicalAnd, LogicalOr, LogicalNot; Select (kernels/logic.ts);
 * - along the last axis: TopK (sorted), Cumsum (kernels/rowwise.ts).
 * Each override handles float32 NHWC inputs (and the int32 / bool ones named) in the common patterns and
 * hands anything else to the cpu kernel. Native outputs come from a buffer pool (buffer-pool.ts; ADVLAB_ONEDNN_POOL=0 disables it), large
 * ones on pages the addon maps and can hand back to the OS (native/src/memory.cc).
 * Threads: ADVLAB_THREADS, default all hardware threads; setThreads() changes it.
 *
 * Importing this module registers the backend. When the addon cannot be loaded (not built, or libdnnl.so
 * missing) the import itself throws, saying why and how to build it: advlab's useBackend treats "the package
 * imports" as "the backend exists". `@advlab/onednn/status` (status.ts) answers isAvailable() without
 * throwing.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { OneDnnBackend } from './backend.ts';
import { BufferPool, type PageAllocator } from './buffer-pool.ts';
import { convKernels } from './kernels/conv.ts';
import { elementwiseKernels } from './kernels/elementwise.ts';
import { layoutKernels } from './kernels/layout.ts';
import { logicKernels } from './kernels/logic.ts';
import { matmulKernels } from './kernels/matmul.ts';
import { poolKernels } from './kernels/pool.ts';
import { reduceKernels } from './kernels/reduce.ts';
import { rowwiseKernels } from './kernels/rowwise.ts';
import { BACKEND_NAME, registerNativeKernels, type NativeKernel } from './kernels/util.ts';
import { addon, loadError, type NativeAddon } from './native.ts';

if (!addon) throw new Error(`@advlab/onednn: ${loadError}`);
const native: NativeAddon = addon;

export { OneDnnBackend, poolStats } from './backend.ts';
export { BufferPool, type PageAllocator, type PoolStats } from './buffer-pool.ts';
export { kernelStats, resetKernelStats, type KernelCounts } from './kernels/util.ts';
export { BACKEND_NAME };

/** Above cpu (1) and wasm (2): when this package is imported, tf.js's default backend is the fastest one. */
export const PRIORITY = 3;

/** Every kernel with a native implementation. */
export const NATIVE_KERNELS: readonly NativeKernel[] = [
  ...convKernels,
  ...matmulKernels,
  ...poolKernels,
  ...elementwiseKernels,
  ...reduceKernels,
  ...layoutKernels,
  ...logicKernels,
  ...rowwiseKernels,
];

export { isAvailable, unavailableReason } from './status.ts';

let registered = false;

/**
 * The addon's page-backed buffers for the pool; undefined with an addon built before they existed (the pool
 * then uses plain arrays: same results, more resident memory) rather than failing every native kernel.
 */
function pageAllocator(): PageAllocator | undefined {
  if (typeof native.allocBuffer !== 'function') return undefined;
  return { alloc: (bytes) => native.allocBuffer(bytes), release: (buffer) => native.releaseBuffer(buffer) };
}

/** Register the 'onednn' tf.js backend and its kernels (done on import; idempotent). */
export function register(): void {
  if (registered) return;
  tf.registerBackend(BACKEND_NAME, () => new OneDnnBackend(BufferPool.fromEnv(process.env, pageAllocator())), PRIORITY);
  tf.copyRegisteredKernels('cpu', BACKEND_NAME);
  registerNativeKernels(NATIVE_KERNELS, native);
  registered = true;
}

export interface OneDnnInfo {
  threads: number;
  /** oneDNN dispatches to SIMD kernels on every x86-64 it supports. */
  simd: boolean;
  /** Instruction set oneDNN uses, e.g. 'avx2', 'avx512_core'. */
  isa: string;
  /** oneDNN version. */
  version: string;
}

/** Threads, ISA and oneDNN version. */
export function info(): OneDnnInfo {
  const i = native.info();
  return { threads: i.threads, simd: i.isa !== 'all' && i.isa !== 'unknown', isa: i.isa, version: i.version };
}

/** Set the number of threads (oneDNN and the elementwise loops); returns the count in effect. */
export function setThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setThreads: expected an integer >= 1, found ${n}`);
  return native.setThreads(n);
}

export function getThreads(): number {
  return native.getThreads();
}

register();
