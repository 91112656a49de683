import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auddc, distortionDistanceCurve } from './auddc.ts';
import { distortionDistanceY } from './attacks.ts';

test('the straight line y = 1 − x has AUDDC exactly ½ (dyadic samples: every sum exact in binary)', () => {
  for (const k of [2, 3, 5, 9, 17, 33]) {
    const pts = Array.from({ length: k }, (_, i) => ({ x: i / (k - 1), y: 1 - i / (k - 1) }));
    assert.equal(auddc(pts), 0.5);
  }
  // Points in any order, and the start (0, 1) and end at x = 1 supplied by the curve itself.
  assert.equal(auddc([{ x: 1, y: 0 }]), 0.5);
});

test('a model whose output never moves has AUDDC 1; one that jumps to the target at once has 0', () => {
  assert.equal(auddc([]), 1);
  assert.equal(auddc([0.2, 0.5, 1].map((x) => ({ x, y: 1.3 }))), 1); // moving away never counts: the attacker keeps δ = 0
  assert.equal(auddc([{ x: 0, y: 0 }]), 0);
});

test('the curve is the attacker’s envelope: running minimum, restricted to [0, 1], closed at x = 1', () => {
  const curve = distortionDistanceCurve([
    { x: 0.5, y: 0.2 },
    { x: 0.25, y: 0.6 },
    { x: 0.75, y: 0.4 }, // worse than a smaller distortion already reached: the envelope stays at 0.2
    { x: 1.5, y: -1 }, // beyond ‖x − x_t‖: outside the curve
    { x: Number.NaN, y: 0 },
  ]);
  assert.deepEqual(curve, [
    { x: 0, y: 1 },
    { x: 0.25, y: 0.6 },
    { x: 0.5, y: 0.2 },
    { x: 0.75, y: 0.2 },
    { x: 1, y: 0.2 },
  ]);
  // Trapezoids: 0.25·(1 + 0.6)/2 + 0.25·(0.6 + 0.2)/2 + 0.5·0.2
  assert.ok(
    Math.abs(
      auddc([
        { x: 0.5, y: 0.2 },
        { x: 0.25, y: 0.6 },
      ]) -
        (0.2 + 0.1 + 0.1),
    ) < 1e-12,
  );
});

test('y of a point: normalised, clipped at 0, and 1 when rec(x) and rec(x_t) are as far from x_t (nothing to move toward)', () => {
  assert.equal(distortionDistanceY(3, 5, 1), 0.5);
  assert.equal(distortionDistanceY(0.5, 5, 1), 0); // closer than the target's own reconstruction: reached
  assert.equal(distortionDistanceY(7, 5, 1), 1.5); // moved away: above 1 (the curve's envelope never uses it)
  assert.equal(distortionDistanceY(2, 2, 2), 1);
  assert.equal(distortionDistanceY(1, 2, 2.5), 1);
  assert.equal(distortionDistanceY(0, 2, 2 - 1e-6), 1); // a span that is float noise
});
