/**
 * Selecting the tf.js backend advlab computes on.
 *
 * Backends come from an explicit registry of providers, each with its one-off preparation (imports,
 * kernel registration) and a description. Built in:
 * - 'cpu'   : tf.js's pure-JS backend. Slow (naive conv loops) but the reference; advlab replaces its
 *             Conv2DBackpropFilter (the slowest kernel of a conv-net training step) with a fast JS one.
 * - 'wasm'  : tf.js's WebAssembly backend (XNNPACK, SIMD; single-threaded in Node). Fast forward and input
 *             gradients; advlab registers the gradient kernels it lacks (Conv2DBackpropFilter, depthwise
 *             backprops, UnsortedSegmentSum) so conv nets can be trained on it.
 * @advlab/node registers 'onednn' (the native backend of @advlab/onednn). Any other backend registered with
 * tf.js (webgl, webgpu, ...: import its package first) is accepted by name as it is.
 *
 * `useBackend('auto')` picks the first available provider by rank: onednn > wasm > cpu.
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

/** A backend's name as tf.js knows it: 'cpu', 'wasm', 'onednn', 'webgl', 'webgpu', ... */
export type BackendName = string;

/** Threads and SIMD use of a backend, when known. */
export interface BackendTraits {
  threads?: number;
  simd?: boolean;
}

/** How advlab prepares one backend. Register more with registerBackendProvider. */
export interface BackendProvider {
  name: BackendName;
  description: string;
  /** One-off preparation (imports, kernel registration); throws AdvlabError E_BACKEND when unavailable. */
  prepare(): Promise<void>;
  /** Threads and SIMD of the initialised backend. */
  describe?(): BackendTraits | Promise<BackendTraits>;
  /** Order under 'auto', lowest first; a provider without a rank is never picked by 'auto'. */
  autoRank?: number;
}

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

/** Per backend: the one-off preparation, memoised with its outcome. */
const prepared = new Map<BackendName, Promise<void>>();
/** Per backend that has been activated: what backendInfo() reports. */
const infos = new Map<BackendName, BackendTraits>();
const providers = new Map<BackendName, BackendProvider>();

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Adds (or replaces, before first use) how advlab prepares the backend `provider.name`. */
export function registerBackendProvider(provider: BackendProvider): void {
  if (prepared.has(provider.name)) {
    throw new AdvlabError('E_BACKEND', `registerBackendProvider: '${provider.name}' is already in use and cannot be replaced`);
  }
  providers.set(provider.name, provider);
}

/** The registered providers, by rank under 'auto' (for `advlab list`). */
export function backendProviders(): readonly { name: BackendName; description: string }[] {
  return [...providers.values()]
    .sort((a, b) => (a.autoRank ?? Infinity) - (b.autoRank ?? Infinity))
    .map(({ name, description }) => ({ name, description }));
}

let wasmModule: typeof import('@tensorflow/tfjs-backend-wasm') | null = null;

registerBackendProvider({
  name: 'cpu',
  description: 'tf.js pure-JS backend: the slow reference (advlab swaps in a fast JS Conv2DBackpropFilter)',
  autoRank: 2,
  prepare: async () => {
    registerConv2DBackpropFilter('cpu');
  },
  describe: () => ({ threads: 1, simd: false }),
});

registerBackendProvider({
  name: 'wasm',
  description:
    'tf.js WebAssembly backend (XNNPACK, SIMD, single-threaded in Node) plus advlab JS kernels for the ' +
    'gradients it lacks; trains conv nets',
  autoRank: 1,
  prepare: async () => {
    try {
      wasmModule = await import('@tensorflow/tfjs-backend-wasm');
    } catch (e) {
      throw new AdvlabError('E_BACKEND', `backend wasm: could not load @tensorflow/tfjs-backend-wasm (${messageOf(e)})`);
    }
    registerConv2DBackpropFilter('wasm');
    registerWasmFallbacks();
  },
  describe: async () => {
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    let threads: number | undefined;
    try {
      threads = wasmModule?.getThreadsCount();
    } catch {
      threads = undefined;
    }
    return threads === undefined ? { simd } : { threads, simd };
  },
});

function prepare(name: BackendName): Promise<void> {
  let p = prepared.get(name);
  if (!p) {
    const provider = providers.get(name);
    p = provider ? provider.prepare() : Promise.resolve();
    prepared.set(name, p);
  }
  return p;
}

async function describe(name: BackendName): Promise<BackendTraits> {
  return (await providers.get(name)?.describe?.()) ?? {};
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
      throw new AdvlabError('E_BACKEND', `backend ${name}: ${problem}`);
    }
  }
  await tf.ready();
  quietCpuBanner();
  if (!infos.has(name)) infos.set(name, await describe(name));
}

/**
 * tf.js's cpu backend (and onednn, built on it) prints "looks like you are running TensorFlow.js in Node.js
 * ... install our node backend" at its first tensor; that package cannot be installed where advlab runs
 * (it downloads libtensorflow) and advlab has its own fast backends, so the advice only misleads.
 */
function quietCpuBanner(): void {
  const backend = tf.backend() as { firstUse?: unknown };
  if (backend.firstUse === true) backend.firstUse = false;
}

function isKnownBackend(name: unknown): name is BackendName {
  return typeof name === 'string' && (providers.has(name) || tf.findBackendFactory(name) != null);
}

/**
 * Select and initialise a backend: a registered provider ('cpu', 'wasm'; 'onednn' once @advlab/node is
 * imported), any backend registered with tf.js ('webgl', 'webgpu', ...), or 'auto' = the first available
 * provider by rank (onednn > wasm > cpu). Returns the name in use. Idempotent: kernels are registered once
 * and a backend already active is not re-initialised. Throws ConfigError (E_CONFIG) for an unknown name and
 * AdvlabError E_BACKEND when the named backend cannot be initialised. Under 'auto' unavailable backends are
 * skipped silently.
 */
export async function useBackend(name: BackendName | 'auto' = 'auto'): Promise<BackendName> {
  if (name === 'auto') {
    const failures: string[] = [];
    for (const { name: candidate } of backendProviders().filter((b) => providers.get(b.name)!.autoRank !== undefined)) {
      try {
        await activate(candidate);
        return candidate;
      } catch (e) {
        failures.push(messageOf(e));
      }
    }
    throw new AdvlabError('E_BACKEND', `backend auto: no backend could be initialised: ${failures.join('; ')}`);
  }
  if (!isKnownBackend(name)) {
    const known = [...providers.keys(), ...Object.keys(tf.engine().registryFactory).filter((b) => !providers.has(b))];
    throw new ConfigError('backend', `one of ${[...known, 'auto'].join(', ')}`, String(name));
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
  const info = typeof name === 'string' && tf.findBackend(name) != null ? infos.get(name) : undefined;
  if (typeof name !== 'string' || info === undefined) {
    throw new AdvlabError(
      'E_BACKEND',
      `backendInfo(): expected a backend selected with useBackend(), found ${name ? `'${name}'` : 'none'}`,
    );
  }
  return { name, ...info, tfjs: tf.version_core };
}
