import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { AdvlabError } from '@advlab/core';
import { backendInfo, backendProviders, useBackend } from './backend.ts';

async function onednnInstalled(): Promise<boolean> {
  try {
    const spec: string = '@advlab/onednn';
    await import(spec);
    return true;
  } catch {
    return false;
  }
}

test("importing @advlab/node registers 'onednn' first in 'auto' order; auto picks it when it is built, silently", async (t) => {
  assert.deepEqual(
    backendProviders().map((b) => b.name),
    ['onednn', 'wasm', 'cpu'],
  );
  const printed: unknown[][] = [];
  for (const m of ['log', 'warn', 'error', 'info'] as const) t.mock.method(console, m, (...args: unknown[]) => printed.push(args));
  const name = await useBackend('auto');
  tf.tidy(() => tf.add(tf.ones([2]), 1).dataSync()); // a first tensor: tf.js's cpu backend prints its banner here
  t.mock.restoreAll();
  assert.equal(name, (await onednnInstalled()) ? 'onednn' : 'wasm');
  assert.equal(backendInfo().name, name);
  assert.deepEqual(printed, [], "no output, not even tf.js's 'install tfjs-node' banner");
});

test("useBackend('onednn') fails with E_BACKEND while @advlab/onednn is not built; the backend in use is unchanged", async (t) => {
  if (await onednnInstalled()) return t.skip('@advlab/onednn is installed');
  await useBackend('wasm');
  await assert.rejects(useBackend('onednn'), (e: unknown) => {
    assert.ok(e instanceof AdvlabError);
    assert.equal(e.code, 'E_BACKEND');
    assert.match(e.message, /@advlab\/onednn/);
    assert.match(e.message, /not built/);
    return true;
  });
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(await useBackend('auto'), 'wasm');
});
