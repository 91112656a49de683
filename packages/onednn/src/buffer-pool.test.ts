// The output-buffer pool: what is recycled, what never is (views, arrays handed to user code), and its wiring
// into OneDnnBackend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@advlab/node';
import { AgedLists, BufferPool, HUGE_PAGE_BYTES, PAGE_ALLOC_MIN_BYTES, type PageAllocator } from './buffer-pool.ts';
import { poolStats } from './backend.ts';
import { SKIP } from './test-util.ts';
import { addon } from './native.ts';

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
  const a = p.alloc(100),
    b = p.alloc(100);
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

/** A PageAllocator over plain ArrayBuffers that records what it was asked to release. */
function fakePages(): PageAllocator & { made: ArrayBuffer[]; released: ArrayBuffer[] } {
  const made: ArrayBuffer[] = [],
    released: ArrayBuffer[] = [];
  return {
    made,
    released,
    alloc: (bytes) => {
      const b = new ArrayBuffer(bytes);
      made.push(b);
      return b;
    },
    release: (b) => void released.push(b),
  };
}

/** alloc + store + release: the buffer comes back idle. */
function cycle(p: BufferPool, n: number): Float32Array {
  const a = p.alloc(n);
  p.noteStored(a);
  p.noteReleased(a);
  return a;
}

test('large buffers come from the page allocator, small ones do not; evicting one releases its pages', () => {
  const pages = fakePages();
  const p = new BufferPool({ enabled: true, maxIdleBytes: 1 << 30, pages });
  const big = PAGE_ALLOC_MIN_BYTES / 4;
  const a = cycle(p, big);
  cycle(p, 10);
  assert.ok(pages.made.length === 1 && pages.made[0] === a.buffer, 'only the large buffer is page-backed');
  p.trim();
  assert.ok(pages.released.length === 1 && pages.released[0] === a.buffer, 'trim released its pages');
  const { idleBuffers, evicted, coldBuffers } = p.stats();
  assert.deepEqual({ idleBuffers, evicted, coldBuffers }, { idleBuffers: 0, evicted: 2, coldBuffers: 0 });
  assert.notEqual(p.alloc(big), a);
});

test('an evicted page-backed buffer stays cold and serves the next miss of its length, not a new one', () => {
  const pages = fakePages();
  const len = HUGE_PAGE_BYTES / 4;
  const p = new BufferPool({ enabled: true, maxIdleBytes: 4 * 2 * len, pages });
  const a = cycle(p, len);
  const b = cycle(p, len + 1); // over the cap: a, the oldest, is evicted
  assert.ok(pages.released.length === 1 && pages.released[0] === a.buffer, 'a released its pages');
  assert.equal(p.stats().coldBuffers, 1);
  assert.equal(p.alloc(len), a, 'the cold buffer is reused');
  assert.equal(pages.made.length, 2);
  assert.deepEqual({ misses: p.stats().misses, cold: p.stats().coldBuffers }, { misses: 3, cold: 0 });
  assert.equal(p.alloc(len + 1), b);
});

test('over the cap, huge-page buffers are evicted before smaller page-backed ones', () => {
  const pages = fakePages();
  const small = PAGE_ALLOC_MIN_BYTES / 4,
    huge = HUGE_PAGE_BYTES / 4;
  const p = new BufferPool({ enabled: true, maxIdleBytes: 4 * (small + huge), pages });
  const s1 = cycle(p, small); // the oldest
  const h1 = cycle(p, huge);
  cycle(p, small + 1); // over the cap: h1 goes although s1 is older
  assert.ok(pages.released.length === 1 && pages.released[0] === h1.buffer, 'the huge-page buffer went first');
  assert.equal(p.alloc(small), s1);
});

test('over the byte cap the oldest idle buffers go first', () => {
  const p = new BufferPool({ enabled: true, maxIdleBytes: 4 * 300 });
  const a = cycle(p, 100),
    b = cycle(p, 150);
  const c = cycle(p, 120); // 370 floats idle: a (the oldest) must go
  assert.equal(p.stats().idleBytes, 4 * 270);
  assert.equal(p.alloc(120), c);
  assert.equal(p.alloc(150), b);
  assert.notEqual(p.alloc(100), a);
});

test('fresh allocations evict buffers that went stale (idle since long before), a steady loop evicts nothing', () => {
  const staleAfterFreshBytes = 4 * 1000;
  const p = new BufferPool({ enabled: true, maxIdleBytes: 1 << 30, staleAfterFreshBytes });
  // "workload 1": sizes 500 and 600, repeated; after the first round everything hits
  const old = [cycle(p, 500), cycle(p, 600)];
  for (let i = 0; i < 10; i++) {
    assert.equal(cycle(p, 500), old[0]);
    assert.equal(cycle(p, 600), old[1]);
  }
  assert.equal(p.stats().evicted, 0);
  // "workload 2": new sizes. Within 1000 floats of misses nothing is evicted yet...
  cycle(p, 700);
  assert.equal(p.stats().evicted, 0);
  // ...past it, each miss evicts at least its own size of the oldest stale buffers (here: one is enough)
  cycle(p, 400);
  assert.equal(p.stats().evicted, 1);
  assert.equal(p.stats().idleBytes, 4 * (600 + 700 + 400));
  assert.notEqual(p.alloc(500), old[0], 'the oldest stale buffer was evicted');
});

test('addon page buffers: release gives the pages back and keeps the buffer usable', { skip: SKIP }, () => {
  const ab = addon!.allocBuffer(3 << 20);
  const f = new Float32Array(ab);
  f.fill(7);
  addon!.releaseBuffer(ab);
  assert.equal(f[123], 0, 'released pages read as zeros');
  f[123] = 1;
  assert.equal(f[123], 1);
  assert.throws(() => addon!.releaseBuffer(new ArrayBuffer(8)), TypeError);
  assert.throws(() => addon!.allocBuffer(0), RangeError);
});

test('the age queue stays bounded when an old idle buffer is never reused', () => {
  const lists = new AgedLists();
  lists.add(new Float32Array(7), 0); // stays idle at the head of the queue
  const a = new Float32Array(3);
  for (let i = 0; i < 100_000; i++) {
    lists.add(a, i);
    assert.equal(lists.takeNewest(3), a);
  }
  assert.equal(lists.count, 1);
  assert.ok(lists.queued <= 2 * lists.count + 1025, `queue holds ${lists.queued} slots`);
  assert.equal(lists.takeOldest()?.length, 7);
  assert.equal(lists.takeOldest(), undefined);
});

test('unused() returns a buffer a failed kernel allocated', () => {
  const p = pool();
  const a = p.alloc(8);
  p.unused(a);
  assert.equal(p.stats().outstanding, 0);
  assert.equal(p.alloc(8), a);
});

test('allocView: int32 and bool views of a pooled buffer recycle it; other views still taint it', () => {
  const p = pool();
  const v = p.allocView('int32', 12);
  assert.ok(v instanceof Int32Array && v.length === 12);
  p.noteStored(v);
  p.noteReleased(v);
  const f = p.alloc(12); // the same buffer, as the float32 array it is pooled as
  assert.equal(f.buffer, v.buffer);
  p.unused(f);
  const b = p.allocView('bool', 48);
  assert.ok(b instanceof Uint8Array && b.length === 48);
  assert.equal(b.buffer, v.buffer); // 48 bytes = 12 floats
  p.noteStored(b);
  const other = new Int32Array(b.buffer); // some other view of it: tainted
  p.noteStored(other);
  p.noteReleased(b);
  p.noteReleased(other);
  assert.equal(p.stats().outstanding, 0);
  assert.notEqual(p.alloc(12).buffer, b.buffer);
  const odd = p.allocView('bool', 7); // not a whole float buffer: a plain array
  assert.equal(odd.buffer.byteLength, 7);
  p.noteStored(odd);
  p.noteReleased(odd);
  const u = p.allocView('int32', 5);
  p.unused(u);
  assert.equal(p.alloc(5).buffer, u.buffer);
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

test('on the backend: bool and int32 outputs recycle, and a mask read with dataSync() stays intact', { skip: SKIP }, async () => {
  await useBackend('onednn');
  const x = tf.randomNormal([64, 100]);
  const first = tf.greater(x, 0);
  const kept = first.dataSync();
  const copy = Uint8Array.from(kept);
  first.dispose();
  const s0 = poolStats()!;
  for (let i = 0; i < 5; i++) tf.tidy(() => void tf.logicalNot(tf.less(x, 0.5)));
  for (let i = 0; i < 5; i++) tf.tidy(() => void tf.topk(x, 100));
  const s1 = poolStats()!;
  assert.deepEqual(kept, copy, 'an array returned by dataSync was overwritten');
  if (s1.enabled) assert.ok(s1.hits - s0.hits >= 16, `expected pool hits, got ${s1.hits - s0.hits}`);
  assert.equal(s1.outstanding, s0.outstanding);
  x.dispose();
});
