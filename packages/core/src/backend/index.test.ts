// The tests in this file run in order and share one process: the first one observes the state before any
// backend has been selected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { AdvlabError, ConfigError } from '../errors.ts';
import { backendInfo, backendProviders, registerBackendProvider, useBackend } from './index.ts';
import { registerConv2DBackpropFilter } from './conv2d-backprop-filter.ts';

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
  // @advlab/core alone knows no native backend: @advlab/node registers 'onednn'.
  assert.equal(name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(printed, []);
});

test("backendProviders lists wasm and cpu, in 'auto' order, with descriptions; one in use cannot be replaced", () => {
  assert.deepEqual(
    backendProviders().map((b) => b.name),
    ['wasm', 'cpu'],
  );
  for (const b of backendProviders()) assert.ok(b.description.length > 10, b.name);
  assert.throws(
    () => registerBackendProvider({ name: 'wasm', description: 'another', prepare: async () => {} }),
    (e: unknown) => e instanceof AdvlabError && e.code === 'E_BACKEND' && /already in use/.test(e.message),
  );
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

test('an unknown backend name is a ConfigError naming the backend option', async () => {
  for (const bad of ['gpu', 'WASM', '', 'webgl']) {
    await assert.rejects(useBackend(bad as never), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'E_CONFIG');
      assert.equal(e.option, 'backend');
      assert.equal(e.message, `backend: expected one of cpu, wasm, auto, found ${bad}`);
      return true;
    });
  }
});
