// The output-buffer pool: what is recycled, what never is (views, arrays handed to user code), and its wiring
// into OneDnnBackend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../core/src/backend/index.ts';
import { BufferPool } from './buffer-pool.ts';
import { poolStats } from './backend.ts';
import { SKIP } from './test-util.ts';

const pool = () => new BufferPool({ enabled: true, maxIdleBytes: 1 << 20 });

test('a released buffer is reused for the next allocation of the same length only', () => {
  const p = pool();
  const a = p.alloc(100);
  p.noteStored(a);
  p.noteReleased(a);
  assert.equal(p.alloc(99).length, 99);
  assert.equal(p.alloc(100), a);
  assert.deepEqual({ hits: p.stats().hits, misses: p.stats().misses }, { hits: 1, misses: 2 });
});

test('a buffer stored under several data ids returns only when the last one is released', () => {
  const p = pool();
  const a = p.alloc(10);
  p.noteStored(a);
  p.noteStored(a); // e.g. a cpu kernel that returns its input's array under a new id
  p.noteReleased(a);
  assert.notEqual(p.alloc(10), a);
  p.noteReleased(a);
  assert.equal(p.alloc(10), a);
});

test('views and arrays handed to user code are never recycled', () => {
  const p = pool();
  const a = p.alloc(10);
  p.noteStored(a);
  const view = a.subarray(2, 5); // cpu Slice of a contiguous block
  p.noteStored(view);
  p.noteReleased(a);
  p.noteReleased(view);
  assert.notEqual(p.alloc(10), a);
  const b = p.alloc(20);
  p.noteStored(b);
  p.noteExposed(b); // dataSync()
  p.noteReleased(b);
  assert.notEqual(p.alloc(20), b);
  assert.equal(p.stats().tainted, 2);
});

test('foreign arrays are ignored, idle bytes are capped, and a disabled pool never reuses', () => {
  const p = new BufferPool({ enabled: true, maxIdleBytes: 4 * 100 });
  const foreign = new Float32Array(10);
  p.noteStored(foreign);
  p.noteReleased(foreign);
  assert.notEqual(p.alloc(10), foreign);
  const a = p.alloc(100), b = p.alloc(100);
  for (const x of [a, b]) {
    p.noteStored(x);
    p.noteReleased(x);
  }
  assert.equal(p.stats().idleBuffers, 1); // the second would exceed 400 bytes
  const off = new BufferPool({ enabled: false, maxIdleBytes: 1 << 20 });
  const c = off.alloc(5);
  off.noteStored(c);
  off.noteReleased(c);
  assert.notEqual(off.alloc(5), c);
  assert.equal(off.stats().outstanding, 0);
});

test('unused() returns a buffer a failed kernel allocated', () => {
  const p = pool();
  const a = p.alloc(8);
  p.unused(a);
  assert.equal(p.stats().outstanding, 0);
  assert.equal(p.alloc(8), a);
});

test('on the backend: outputs recycle, and values read with dataSync() stay intact after dispose', { skip: SKIP }, async () => {
  await useBackend('onednn');
  const x = tf.randomNormal([64, 100]);
  const first = tf.relu(x);
  const kept = first.dataSync(); // the backend's own array: must not be recycled
  const copy = Float32Array.from(kept);
  first.dispose();
  const s0 = poolStats()!;
  for (let i = 0; i < 5; i++) tf.tidy(() => void tf.neg(tf.relu(x)));
  const s1 = poolStats()!;
  assert.deepEqual(kept, copy, 'an array returned by dataSync was overwritten');
  if (s1.enabled) assert.ok(s1.hits - s0.hits >= 8, `expected pool hits, got ${s1.hits - s0.hits}`);
  assert.equal(s1.outstanding, s0.outstanding);
  // a cpu kernel that returns a view of a pooled buffer: StridedSlice of contiguous rows (tf.js's cpu
  // slice helper returns values.subarray(...)); the view must survive the source tensor's disposal
  const r = tf.relu(x);
  const t0 = poolStats()!.tainted;
  const rows = tf.stridedSlice(r, [10, 0], [20, 100], [1, 1]);
  assert.equal(poolStats()!.tainted, t0 + (s1.enabled ? 1 : 0), 'the view tainted its buffer');
  const rowsCopy = Float32Array.from(rows.dataSync());
  r.dispose();
  for (let i = 0; i < 5; i++) tf.tidy(() => void tf.neg(tf.relu(x)));
  assert.deepEqual(rows.dataSync(), rowsCopy);
  tf.dispose([x, rows]);
});
