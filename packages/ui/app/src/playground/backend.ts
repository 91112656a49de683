/**
 * The tf.js backend the playground computes on: WebGL when the browser gives a WebGL context, else the CPU.
 * Selected through @advlab/core's useBackend, as the CLI does, so the same gradient registrations apply.
 */
import '@tensorflow/tfjs-backend-webgl';
import { useBackend } from '@advlab/core';

export interface BackendChoice {
  name: string;
  /** Why WebGL was not used, when it was not. */
  fallbackReason?: string;
}

export async function startBackend(): Promise<BackendChoice> {
  try {
    return { name: await useBackend('webgl') };
  } catch (e) {
    // Headless or GPU-less browsers (and some privacy settings) give no WebGL context: the CPU is slower but exact.
    const name = await useBackend('cpu');
    return { name, fallbackReason: e instanceof Error ? e.message : String(e) };
  }
}
