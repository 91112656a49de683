/**
 * Selecting the tf.js backend advlab computes on.
 *
 * - 'cpu'   : tf.js's pure-JS backend. Slow (naive conv loops) but the reference; advlab replaces its
 *             Conv2DBackpropFilter (the slowest kernel of a conv-net training step) with a fast JS one.
 * - 'wasm'  : tf.js's WebAssembly backend (XNNPACK, SIMD; single-threaded in Node). Fast forward and input
 *             gradients; advlab registers the gradient kernels it lacks (Conv2DBackpropFilter, depthwise
 *             backprops, UnsortedSegmentSum) so conv nets can be trained on it.
 * - 'onednn': a native oneDNN backend, provided by the separate package `@advlab/onednn` (not built yet).
 *             Contract: importing that package registers a tf.js backend named 'onednn' (or it exports a
 *             `register()` that does); it may export `info()` → { threads?, simd? }.
 *
 * `useBackend('auto')` picks the fastest one available: onednn > wasm > cpu.
 *
 * Whatever the backend, useBackend also makes sure tf.js's gradient functions are registered (tfjs-core's
 * Node bundle registers none; tfjs-layers' does) and installs advlab's fixes for second-order gradients
 * (gradients.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdvlabError, ConfigError } from '../errors.ts';
import { registerConv2DBackpropFilter } from './conv2d-backprop-filter.ts';
import { registerExtraGradients } from './gradients.ts';
import { registerWasmFallbacks } from './wasm-fallbacks.ts';

export type BackendName = 'cpu' | 'wasm' | 'onednn';

export const BACKENDS: { name: BackendName; description: string }[] = [
  {
    name: 'cpu',
    description: 'tf.js pure-JS backend: the slow reference (advlab swaps in a fast JS Conv2DBackpropFilter)',
  },
  {
    name: 'wasm',
    description:
      'tf.js WebAssembly backend (XNNPACK, SIMD, single-threaded in Node) plus advlab JS kernels for the ' +
      'gradients it lacks; trains conv nets',
  },
  {
    name: 'onednn',
    description: 'native oneDNN backend from the package @advlab/onednn (not built yet)',
  },
];

/** What a run config records about the backend it ran on. */
export interface BackendInfo {
  name: BackendName;
  /** Worker threads the backend computes with, when known. */
  threads?: number;
  /** Whether the backend uses SIMD instructions, when known. */
  simd?: boolean;
  /** tf.js core version. */
  tfjs: string;
}

const AUTO_ORDER: readonly BackendName[] = ['onednn', 'wasm', 'cpu'];
const ONEDNN_PACKAGE = '@advlab/onednn';

/** Per backend: the one-off preparation (imports, kernel registration), memoised with its outcome. */
const prepared = new Map<BackendName, Promise<void>>();
/** Per backend that has been activated: what backendInfo() reports. */
const infos = new Map<BackendName, Omit<BackendInfo, 'name' | 'tfjs'>>();

function isBackendName(name: unknown): name is BackendName {
  return BACKENDS.some((b) => b.name === name);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface OnednnModule {
  register?: () => unknown;
  info?: () => { threads?: number; simd?: boolean };
}
let onednnModule: OnednnModule | null = null;

async function prepareOnednn(): Promise<void> {
  let mod: OnednnModule;
  try {
    // A variable specifier: the package is optional and need not exist at type-check time.
    const spec: string = ONEDNN_PACKAGE;
    mod = (await import(spec)) as OnednnModule;
  } catch (e) {
    throw new AdvlabError(
      'E_BACKEND',
      `--backend onednn: expected the native oneDNN backend (package ${ONEDNN_PACKAGE}), found it is not ` +
        `built or not installed (${messageOf(e)}); use --backend wasm or cpu`,
    );
  }
  if (typeof mod.register === 'function') await mod.register();
  if (tf.findBackendFactory('onednn') == null) {
    throw new AdvlabError(
      'E_BACKEND',
      `--backend onednn: expected ${ONEDNN_PACKAGE} to register a tf.js backend named 'onednn', found none`,
    );
  }
  onednnModule = mod;
}

let wasmModule: typeof import('@tensorflow/tfjs-backend-wasm') | null = null;

async function prepareWasm(): Promise<void> {
  try {
    wasmModule = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    throw new AdvlabError(
      'E_BACKEND',
      `--backend wasm: could not load @tensorflow/tfjs-backend-wasm (${messageOf(e)})`,
    );
  }
  registerConv2DBackpropFilter('wasm');
  registerWasmFallbacks();
}

function prepare(name: BackendName): Promise<void> {
  let p = prepared.get(name);
  if (!p) {
    p =
      name === 'cpu'
        ? Promise.resolve().then(() => {
            registerConv2DBackpropFilter('cpu');
          })
        : name === 'wasm'
          ? prepareWasm()
          : prepareOnednn();
    prepared.set(name, p);
  }
  return p;
}

async function describe(name: BackendName): Promise<Omit<BackendInfo, 'name' | 'tfjs'>> {
  if (name === 'cpu') return { threads: 1, simd: false };
  if (name === 'wasm') {
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    let threads: number | undefined;
    try {
      threads = wasmModule?.getThreadsCount();
    } catch {
      threads = undefined;
    }
    return threads === undefined ? { simd } : { threads, simd };
  }
  const i = onednnModule?.info?.() ?? {};
  return {
    ...(typeof i.threads === 'number' ? { threads: i.threads } : {}),
    ...(typeof i.simd === 'boolean' ? { simd: i.simd } : {}),
  };
}

let gradientsReady: Promise<void> | null = null;

/**
 * tf.js's node bundle of tfjs-core registers no gradient functions (tf.grad fails with "gradient function
 * not found for Sum"); tfjs-layers' bundle registers all of them on import. Then add advlab's extra
 * second-order gradients (gradients.ts). Once per process.
 */
function ensureGradients(): Promise<void> {
  gradientsReady ??= (async () => {
    if (tf.getGradient(tf.Sum) == null) await import('@tensorflow/tfjs-layers');
    registerExtraGradients();
  })();
  return gradientsReady;
}

/** Prepare `name` and make it tf.js's active backend; throws E_BACKEND when it cannot be. */
async function activate(name: BackendName): Promise<void> {
  await ensureGradients();
  await prepare(name);
  const previous = tf.getBackend() as string | null;
  if (previous !== name || tf.findBackend(name) == null) {
    let problem: string | null = null;
    try {
      if (!(await tf.setBackend(name))) problem = 'tf.js failed to initialise the backend';
    } catch (e) {
      problem = `tf.js could not select it (${messageOf(e)})`;
    }
    if (problem !== null) {
      // leave tf.js on the backend it was using rather than on a half-initialised one
      if (previous && previous !== name && tf.findBackend(previous) != null) await tf.setBackend(previous);
      throw new AdvlabError('E_BACKEND', `--backend ${name}: ${problem}`);
    }
  }
  await tf.ready();
  if (!infos.has(name)) infos.set(name, await describe(name));
}

/**
 * Select and initialise a backend; 'auto' = fastest available (onednn > wasm > cpu). Returns the name in
 * use. Idempotent: kernels are registered once and a backend already active is not re-initialised.
 * Throws ConfigError (E_CONFIG) for an unknown name and AdvlabError E_BACKEND when the named backend is
 * unavailable ('onednn' until @advlab/onednn is built). Under 'auto' unavailable backends are skipped
 * silently.
 */
export async function useBackend(name: BackendName | 'auto' = 'auto'): Promise<BackendName> {
  if (name === 'auto') {
    const failures: string[] = [];
    for (const candidate of AUTO_ORDER) {
      try {
        await activate(candidate);
        return candidate;
      } catch (e) {
        failures.push(messageOf(e));
      }
    }
    throw new AdvlabError('E_BACKEND', `--backend auto: no backend could be initialised: ${failures.join('; ')}`);
  }
  if (!isBackendName(name)) {
    throw new ConfigError('--backend', `one of ${[...BACKENDS.map((b) => b.name), 'auto'].join(', ')}`, String(name));
  }
  await activate(name);
  return name;
}

/**
 * The backend tf.js is computing on, for recording in run configs: name, threads and SIMD use when known,
 * tf.js version. Throws E_BACKEND when the active backend was not selected with useBackend().
 */
export function backendInfo(): BackendInfo {
  const name = tf.getBackend() as string | null | undefined;
  const info = isBackendName(name) && tf.findBackend(name) != null ? infos.get(name) : undefined;
  if (!isBackendName(name) || info === undefined) {
    throw new AdvlabError(
      'E_BACKEND',
      `backendInfo(): expected a backend selected with useBackend(), found ${name ? `'${name}'` : 'none'}`,
    );
  }
  return { name, ...info, tfjs: tf.version_core };
}
