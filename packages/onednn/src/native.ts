/**
 * Loading the native addon (native/build/Release/advlab_onednn.node) and its typed surface.
 *
 * Loading never throws: when the addon is not built, or libdnnl.so is missing, `addon` is null and
 * `loadError` says why and how to fix it.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const ADDON_PATH = fileURLToPath(new URL('../native/build/Release/advlab_onednn.node', import.meta.url));

export const BUILD_HINT = 'build with `npm run build:native` after `apt-get install libdnnl-dev`';

/** Activation codes fused into conv / matmul as oneDNN post-ops (native/src/common.cc ActivationAttr). */
export const ACTIVATION_CODES: Readonly<Record<string, number>> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 3,
  elu: 4,
  sigmoid: 5,
};

export interface NativeInfo {
  threads: number;
  /** Instruction set oneDNN dispatches to, e.g. 'avx2', 'avx512_core'. */
  isa: string;
  /** oneDNN version, e.g. '2.6.3'. */
  version: string;
  cpuRuntime: string;
}

type F32 = Float32Array;
/** How MathBackendCPU stores float32, int32 and bool tensors. */
export type Stored = Float32Array | Int32Array | Uint8Array;

export interface NativeAddon {
  info(): NativeInfo;
  getThreads(): number;
  /** Returns the thread count now in effect. Drops cached primitives (they are tuned per thread count). */
  setThreads(n: number): number;
  clearCaches(): void;
  /** p: N,H,W,IC,OC,KH,KW,OH,OW,sh,sw,dh,dw,pt,pl,pb,pr (kernels/conv.ts convParams). */
  conv2d(x: F32, filter: F32, bias: F32 | null, y: F32, p: Int32Array, act: number, alpha: number): void;
  conv2dBackwardData(dy: F32, filter: F32, dx: F32, p: Int32Array): void;
  conv2dBackwardFilter(x: F32, dy: F32, dw: F32, p: Int32Array): void;
  convImpl(kind: 0 | 1 | 2, p: Int32Array): string;
  setConvLayout(layout: 'nhwc' | 'any'): void;
  /** Input-channel count up to which conv input gradients use matmul + col2im (default 2). */
  setSmallIcThreshold(n: number): void;
  /** p: batchA, batchB, M, K, N, transposeA, transposeB, hasBias, act. */
  matmul(a: F32, b: F32, bias: F32 | null, c: F32, p: Int32Array, alpha: number): void;
  matmulImpl(p: Int32Array): string;
  /** p: N,H,W,C,OH,OW,KH,KW,sh,sw,pt,pl,pb,pr; alg 0 max, 1 avg. */
  pool2d(x: F32, y: F32, p: Int32Array, alg: 0 | 1): void;
  maxPoolBackward(x: F32, dy: F32, dx: F32, p: Int32Array): void;
  avgPoolBackward(dy: F32, dx: F32, p: Int32Array): void;
  unary(op: number, x: F32, y: F32, n: number, a: number, b: number): void;
  binary(op: number, a: F32, b: F32, out: F32, dims: Int32Array, stridesA: Int32Array, stridesB: Int32Array): void;
  addN(inputs: F32[], out: F32, n: number): void;
  reduceSum(x: F32, y: F32, outer: number, r: number, inner: number, scale: number): void;
  softmax(x: F32, y: F32, rows: number, cols: number): void;
  pad(x: F32, y: F32, inShape: Int32Array, before: Int32Array, outShape: Int32Array, value: number): void;
  slice(x: F32, y: F32, inShape: Int32Array, begin: Int32Array, size: Int32Array): void;
  /** x and y: Float32Arrays, Int32Arrays or Uint8Arrays alike (float32, int32, bool stores). */
  tile<T extends Stored>(x: T, y: T, inShape: Int32Array, reps: Int32Array): void;
  /** y[b, o, i, s] = x[b, o, indices[b, i], s]; false (nothing written) on an index outside [0, dim). */
  gather<T extends Stored>(x: T, indices: Int32Array, y: T, batch: number, outer: number, dim: number, slice: number, n: number): boolean;
  /** op: COMPARE_OPS (kernels/logic.ts); a and b alike. */
  compare<T extends Stored>(op: number, a: T, b: T, out: Uint8Array, dims: Int32Array, stridesA: Int32Array, stridesB: Int32Array): void;
  /** op 0 and, 1 or. */
  logical(op: number, a: Uint8Array, b: Uint8Array, out: Uint8Array, dims: Int32Array, stridesA: Int32Array, stridesB: Int32Array): void;
  logicalNot(x: Uint8Array, y: Uint8Array, n: number): void;
  select<T extends Stored>(condition: Uint8Array, t: T, e: T, out: T, n: number): void;
  /** Sorted top k of each row; false (outputs partly written) where tf.js's order is not a total one. */
  topK(x: F32, values: F32, indices: Int32Array, rows: number, d: number, k: number): boolean;
  cumsum<T extends F32 | Int32Array>(x: T, y: T, rows: number, d: number, exclusive: boolean, reverse: boolean): void;
  batchNorm(x: F32, mean: F32, variance: F32, offset: F32, scale: F32, y: F32, rows: number, channels: number, epsilon: number): void;
  /** A page-backed ArrayBuffer of exactly `bytes` bytes (native/src/memory.cc); unmapped when collected. */
  allocBuffer(bytes: number): ArrayBuffer;
  /** Return an allocBuffer buffer's pages to the OS now (it reads as zeros afterwards). */
  releaseBuffer(buffer: ArrayBuffer): void;
}

/**
 * OpenMP threads that wait passively (sleep) instead of spinning. The machines this runs on are small and
 * shared (2 cores; the test runner runs two files at once): with spinning waits, a computation split over
 * 2 threads while another process holds one core ran 3–4× slower than on 1 thread; passive waits make
 * 2 threads never worse than 1. libgomp reads this when it is loaded, i.e. when the addon is, so it must be
 * set before the require below. An explicit OMP_WAIT_POLICY in the environment wins.
 */
function configureOpenMp(env: NodeJS.ProcessEnv): void {
  if (env.OMP_WAIT_POLICY === undefined && env.GOMP_SPINCOUNT === undefined) env.OMP_WAIT_POLICY = 'PASSIVE';
}

function load(): { addon: NativeAddon | null; error: string | null } {
  try {
    configureOpenMp(process.env);
    const require = createRequire(import.meta.url);
    return { addon: require(ADDON_PATH) as NativeAddon, error: null };
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { addon: null, error: `could not load the oneDNN addon ${ADDON_PATH} (${why}): ${BUILD_HINT}` };
  }
}

const loaded = load();

/** The addon, or null when it could not be loaded (see loadError). */
export const addon: NativeAddon | null = loaded.addon;
export const loadError: string | null = loaded.error;
