// The tests in this file run in order and share one process: the first one observes the state before any
// backend has been selected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { AdvlabError, ConfigError } from '../errors.ts';
import { BACKENDS, backendInfo, useBackend } from './index.ts';
import { registerConv2DBackpropFilter } from './conv2d-backprop-filter.ts';

async function onednnInstalled(): Promise<boolean> {
  try {
    const spec: string = '@advlab/onednn';
    await import(spec);
    return true;
  } catch {
    return false;
  }
}

test('backendInfo before any useBackend fails with E_BACKEND', () => {
  assert.throws(backendInfo, (e: unknown) => e instanceof AdvlabError && e.code === 'E_BACKEND' && /useBackend/.test(e.message));
});

test("useBackend() = 'auto' picks the fastest available backend silently", async (t) => {
  const printed: unknown[][] = [];
  for (const m of ['log', 'warn', 'error', 'info'] as const) {
    t.mock.method(console, m, (...args: unknown[]) => printed.push(args));
  }
  const name = await useBackend();
  t.mock.restoreAll();
  const expected = (await onednnInstalled()) ? 'onednn' : 'wasm';
  assert.equal(name, expected);
  assert.equal(tf.getBackend(), expected);
  assert.deepEqual(printed, []);
});

test('BACKENDS lists cpu, wasm and onednn with descriptions', () => {
  assert.deepEqual(BACKENDS.map((b) => b.name), ['cpu', 'wasm', 'onednn']);
  for (const b of BACKENDS) assert.ok(b.description.length > 10, b.name);
});

test('useBackend is idempotent: kernels are registered once, the active backend is kept', async () => {
  assert.equal(await useBackend('wasm'), 'wasm');
  const backend = tf.backend();
  assert.equal(await useBackend('wasm'), 'wasm');
  assert.equal(await useBackend('wasm'), 'wasm');
  assert.equal(tf.backend(), backend);
  assert.equal(registerConv2DBackpropFilter('wasm'), false, 'already registered');
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
});

test('backendInfo reports name, threads, SIMD and the tf.js version', async () => {
  await useBackend('wasm');
  const wasm = backendInfo();
  assert.equal(wasm.name, 'wasm');
  assert.equal(wasm.tfjs, tf.version_core);
  assert.equal(typeof wasm.simd, 'boolean');
  assert.ok(wasm.threads === undefined || (Number.isInteger(wasm.threads) && wasm.threads >= 1));
  assert.deepEqual(JSON.parse(JSON.stringify(wasm)), wasm, 'serialisable for run configs');

  assert.equal(await useBackend('cpu'), 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.deepEqual(backendInfo(), { name: 'cpu', threads: 1, simd: false, tfjs: tf.version_core });
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'cpu'));

  assert.equal(await useBackend('wasm'), 'wasm');
  assert.equal(backendInfo().name, 'wasm');
});

test('an unknown backend name is a ConfigError naming --backend', async () => {
  for (const bad of ['gpu', 'WASM', '', 'webgl']) {
    await assert.rejects(useBackend(bad as never), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'E_CONFIG');
      assert.equal(e.option, '--backend');
      assert.equal(e.message, `--backend: expected one of cpu, wasm, onednn, auto, found ${bad}`);
      return true;
    });
  }
});

test("useBackend('onednn') fails with E_BACKEND while @advlab/onednn is not built; the backend in use is unchanged", async (t) => {
  if (await onednnInstalled()) return t.skip('@advlab/onednn is installed');
  await useBackend('wasm');
  await assert.rejects(useBackend('onednn'), (e: unknown) => {
    assert.ok(e instanceof AdvlabError);
    assert.equal(e.code, 'E_BACKEND');
    assert.match(e.message, /onednn/);
    assert.match(e.message, /@advlab\/onednn/);
    assert.match(e.message, /not built/);
    return true;
  });
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(await useBackend('auto'), 'wasm');
});
