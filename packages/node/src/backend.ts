/**
 * The machine's own backend: registers 'onednn' (native oneDNN kernels from @advlab/onednn) with
 * @advlab/core's backend registry, ranked first under 'auto'. @advlab/onednn is optional: when it is not
 * built or not installed, 'auto' falls back to wasm and `useBackend('onednn')` says why.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdvlabError, registerBackendProvider, type BackendTraits } from '@advlab/core';

const ONEDNN_PACKAGE = '@advlab/onednn';

interface OnednnModule {
  register?: () => unknown;
  info?: () => BackendTraits;
}
let onednnModule: OnednnModule | null = null;

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

registerBackendProvider({
  name: 'onednn',
  description: 'native oneDNN backend (package @advlab/onednn, built by `npm run build:native`): the fastest on CPU',
  autoRank: 0,
  prepare: async () => {
    let mod: OnednnModule;
    try {
      // A variable specifier: the package is optional and need not exist at type-check time.
      const spec: string = ONEDNN_PACKAGE;
      mod = (await import(spec)) as OnednnModule;
    } catch (e) {
      throw new AdvlabError(
        'E_BACKEND',
        `backend onednn: expected the native oneDNN backend (package ${ONEDNN_PACKAGE}), found it is not ` +
          `built or not installed (${messageOf(e)}); use the wasm or cpu backend`,
      );
    }
    if (typeof mod.register === 'function') await mod.register();
    if (tf.findBackendFactory('onednn') == null) {
      throw new AdvlabError(
        'E_BACKEND',
        `backend onednn: expected ${ONEDNN_PACKAGE} to register a tf.js backend named 'onednn', found none`,
      );
    }
    onednnModule = mod;
  },
  describe: () => {
    const i = onednnModule?.info?.() ?? {};
    return {
      ...(typeof i.threads === 'number' ? { threads: i.threads } : {}),
      ...(typeof i.simd === 'boolean' ? { simd: i.simd } : {}),
    };
  },
});

export { backendInfo, backendProviders, useBackend } from '@advlab/core';
