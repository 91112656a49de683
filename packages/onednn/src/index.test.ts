// Package surface: availability, registration with tf.js and advlab's useBackend, info and threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { backendInfo, useBackend } from '@advlab/node';
import { isAvailable, unavailableReason } from './status.ts';
import { SKIP } from './test-util.ts';

// the main entry throws on import when the addon is unavailable (tested below), so load it only if it is
const onednn = isAvailable() ? await import('./index.ts') : null;

test('isAvailable() agrees with unavailableReason(); the main entry imports exactly when available', async () => {
  assert.equal(isAvailable(), unavailableReason() === null);
  if (isAvailable()) {
    assert.equal(onednn!.isAvailable(), true);
  } else {
    assert.match(unavailableReason()!, /npm run build:native/);
    await assert.rejects(import('./index.ts'), /npm run build:native/);
  }
});

test("importing registers the 'onednn' backend with every cpu kernel plus the native ones", { skip: SKIP }, () => {
  onednn!.register(); // idempotent
  assert.ok(tf.findBackendFactory('onednn'));
  const cpu = new Set(tf.getKernelsForBackend('cpu').map((k) => k.kernelName));
  const ours = new Set(tf.getKernelsForBackend('onednn').map((k) => k.kernelName));
  for (const k of cpu) assert.ok(ours.has(k), `missing kernel ${k}`);
  for (const k of onednn!.NATIVE_KERNELS) assert.ok(ours.has(k.name), `missing native kernel ${k.name}`);
});

test("advlab's useBackend('onednn') selects it and records threads / SIMD", { skip: SKIP }, async () => {
  assert.equal(await useBackend('onednn'), 'onednn');
  assert.equal(tf.getBackend(), 'onednn');
  const bi = backendInfo();
  assert.equal(bi.name, 'onednn');
  assert.equal(bi.threads, onednn!.info().threads);
  assert.equal(bi.simd, true);
  assert.match(onednn!.info().version, /^\d+\.\d+\.\d+$/);
  assert.ok(onednn!.info().isa.length > 0);
});

test('setThreads changes the thread count and results do not depend on it', { skip: SKIP }, async () => {
  await useBackend('onednn');
  const before = onednn!.getThreads();
  const x = tf.randomNormal([8, 12, 12, 5], 0, 1, 'float32', 1) as tf.Tensor4D;
  const f = tf.randomNormal([3, 3, 5, 7], 0, 1, 'float32', 2) as tf.Tensor4D;
  const run = () => tf.tidy(() => Float32Array.from(tf.sum(tf.conv2d(x, f, 1, 'same'), [0, 1, 2]).dataSync()));
  try {
    assert.equal(onednn!.setThreads(1), 1);
    assert.equal(onednn!.getThreads(), 1);
    const one = run();
    onednn!.setThreads(2);
    const two = run();
    for (let i = 0; i < one.length; i++) assert.ok(Math.abs(one[i]! - two[i]!) <= 1e-4 * Math.max(1, Math.abs(one[i]!)));
    assert.throws(() => onednn!.setThreads(0), RangeError);
  } finally {
    onednn!.setThreads(before);
    tf.dispose([x, f]);
  }
});
