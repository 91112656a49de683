import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBar, formatSeconds } from './progress.ts';

test('the rate is measured between updates: unknown at the first, then units per second', async (t) => {
  const lines: string[] = [];
  t.mock.method(process.stderr, 'write', (s: string) => {
    lines.push(s);
    return true;
  });
  const bar = new ProgressBar('epoch 1/1');
  bar.update(1, 10);
  await new Promise((r) => setTimeout(r, 200));
  bar.update(2, 10);
  bar.update(10, 10);
  t.mock.restoreAll();
  const rates = lines.map((l) => /\] \d+\/10 (\S+)\/s ETA (\S+)/.exec(l)).filter((m) => m !== null);
  assert.equal(rates.length, 3, lines.join(''));
  assert.deepEqual([rates[0]![1], rates[0]![2]], ['?', '?'], 'no rate from a single point');
  const second = Number(rates[1]![1]);
  assert.ok(second > 0.5 && second < 10, `1 unit in ~0.2 s: ${second}/s`);
  assert.equal(rates[2]![2], '0s');
});

test('formatSeconds', () => {
  assert.deepEqual(
    [formatSeconds(5.2), formatSeconds(125), formatSeconds(3 * 3600 + 60), formatSeconds(Number.NaN)],
    ['5s', '2m05s', '3h01m', '?'],
  );
});
