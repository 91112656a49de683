import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertMinority, parseMinority, withMinority } from './minority.ts';
import type { ImageSet } from './types.ts';

const set: ImageSet = {
  // image i is filled with the value i, so the kept rows can be traced
  images: Float32Array.from({ length: 12 * 2 }, (_, k) => Math.floor(k / 2)),
  labels: Int32Array.from([0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 2]),
  n: 12,
  height: 1,
  width: 2,
  channels: 1,
};

test('withMinority keeps the first ⌈f·count⌉ examples of the class and every other example, in order', () => {
  const r = withMinority(set, { class: 0, fraction: 0.4 }); // 6 zeros → keep 3
  assert.equal(r.n, 9);
  assert.deepEqual(Array.from(r.labels), [0, 1, 0, 2, 0, 1, 2, 1, 2]);
  assert.deepEqual(Array.from(r.images.filter((_, k) => k % 2 === 0)), [0, 1, 2, 3, 4, 5, 7, 9, 11]);
  assert.equal(withMinority(set, { class: 1, fraction: 1 }).n, 12);
  assert.equal(withMinority(set, { class: 2, fraction: 0.01 }).n, 10, 'at least one example is kept');
});

test('parseMinority: CLASS:FRACTION, typed errors naming the flag', () => {
  assert.deepEqual(parseMinority('0:0.1', 10), { class: 0, fraction: 0.1 });
  for (const bad of ['0', '10:0.1', '1:0', '1:1.5', 'a:0.1', '-1:0.5', '']) {
    assert.throws(
      () => parseMinority(bad, 10),
      (e: Error) => /^minority: /.test(e.message) && /CLASS:FRACTION/.test(e.message),
      bad,
    );
  }
  // parsed before the dataset is known, checked against it afterwards
  const late = parseMinority('12:0.5');
  assert.throws(() => assertMinority(late, 10), /CLASS in 0\.\.9.*found 12:0\.5/);
  assert.doesNotThrow(() => assertMinority(late, 20));
});
