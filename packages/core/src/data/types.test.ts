import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeError } from '../errors.ts';
import { checkImageSet, emptyImageSet, fromInputRange, imageSize, subset, take, toInputRange, type ImageSet } from './types.ts';

// 4 images of 1×2×1, image i = [10i, 10i+1]
const set: ImageSet = {
  images: Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]),
  labels: Int32Array.from([0, 1, 2, 0]),
  n: 4,
  height: 1,
  width: 2,
  channels: 1,
};

test('imageSize', () => {
  assert.equal(imageSize(set), 2);
  assert.equal(imageSize({ height: 28, width: 28, channels: 3 }), 2352);
});

test('subset returns views on the same buffers', () => {
  const s = subset(set, 1, 2);
  assert.equal(s.n, 2);
  assert.deepEqual([...s.images], [10, 11, 20, 21]);
  assert.deepEqual([...s.labels], [1, 2]);
  assert.equal(s.images.buffer, set.images.buffer);
  assert.equal(subset(set, 4, 0).n, 0);
  for (const [a, b] of [
    [-1, 1],
    [3, 2],
    [0, 5],
    [0.5, 1],
  ])
    assert.throws(() => subset(set, a!, b!), ShapeError);
});

test('take copies the chosen images in order, repeats allowed', () => {
  const t = take(set, [3, 0, 3]);
  assert.equal(t.n, 3);
  assert.deepEqual([...t.images], [30, 31, 0, 1, 30, 31]);
  assert.deepEqual([...t.labels], [0, 0, 0]);
  assert.notEqual(t.images.buffer, set.images.buffer);
  assert.equal(take(set, Int32Array.from([2])).labels[0], 2);
  assert.throws(() => take(set, [4]), ShapeError);
  assert.throws(() => take(set, [-1]), ShapeError);
});

test('checkImageSet', () => {
  checkImageSet(set, 3);
  assert.throws(() => checkImageSet(set, 2), ShapeError);
  assert.throws(() => checkImageSet({ ...set, n: 3 }), ShapeError);
  checkImageSet(emptyImageSet(28, 28, 1));
});

test('toInputRange maps [0,1] pixels into a model range and fromInputRange maps them back', () => {
  const set = { images: Float32Array.from([0, 0.5, 1, 0.25]), labels: Int32Array.from([1]), n: 1, height: 2, width: 2, channels: 1 };
  assert.equal(toInputRange(set, [0, 1]), set, 'nothing to do: the same set');
  const in255 = toInputRange(set, [0, 255]);
  assert.deepEqual([...in255.images], [0, 127.5, 255, 63.75]);
  assert.equal(in255.labels, set.labels);
  assert.deepEqual([...toInputRange(set, [-1, 1]).images], [-1, 0, 1, -0.5]);
  assert.deepEqual([...fromInputRange(in255.images, [0, 255])], [...set.images]);
});
