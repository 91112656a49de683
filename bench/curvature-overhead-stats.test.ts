import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../packages/core/src/errors.ts';
import { curvatureOverheadSummary, parseOverheadOptions } from './curvature-overhead-stats.ts';

test('curvature overhead: per-round ratios, their medians, and the lines of a finer cadence', () => {
  const s = curvatureOverheadSummary(
    [
      { epochMs: 10000, lineMs: 900, curvatureMs: 500, steps: 469 },
      { epochMs: 12000, lineMs: 1000, curvatureMs: 480, steps: 469 },
      { epochMs: 11000, lineMs: 950, curvatureMs: 660, steps: 469 },
    ],
    20,
  );
  assert.deepEqual(s.perEpoch.values, [0.05, 0.04, 0.06]);
  assert.equal(s.perEpoch.median, 0.05);
  assert.equal(s.epochMs.median, 11000);
  assert.equal(s.linesPerEpoch, 24); // ⌈469 / 20⌉
  assert.ok(Math.abs(s.atEvery.median - 1.2) < 1e-12);
  assert.equal(curvatureOverheadSummary([{ epochMs: 1, lineMs: 1, curvatureMs: 1, steps: 40 }], 20).linesPerEpoch, 2);
  assert.throws(() => curvatureOverheadSummary([], 20));
});

test('curvature overhead flags: defaults, --quick, and typed errors naming the flag', () => {
  const d = parseOverheadOptions([]);
  assert.deepEqual([d.rounds, d.eps, d.examples, d.heldOut, d.limit, d.every, d.quick], [5, 0.2, 256, 1000, undefined, 20, false]);
  const q = parseOverheadOptions(['--quick', '--examples', '64']);
  assert.deepEqual([q.rounds, q.limit, q.examples], [2, 2048, 64]);
  for (const [argv, flag] of [
    [['--rounds', '0'], '--rounds'],
    [['--eps', '1.5'], '--eps'],
    [['--limit'], '--limit'],
    [['--frobnicate'], '--frobnicate'],
    [['--model', 'vgg'], '--model'],
  ] as const) {
    assert.throws(
      () => parseOverheadOptions(argv),
      (e: unknown) => e instanceof ConfigError && e.message.includes(flag),
      argv.join(' '),
    );
  }
});
