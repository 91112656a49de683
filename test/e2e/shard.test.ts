import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withoutTimings } from './figures.ts';
import { advlab } from './advlab.ts';

// `advlab eval --shard I/N` and `advlab merge` end to end through the built binary, on a wong-cnn trained on the
// synthetic 8×8 task: the merged JSON is the unsharded run's, figure for figure.
const dir = mkdtempSync(join(tmpdir(), 'advlab-shard-'));
const run = join(dir, 'run');
after(() => rmSync(dir, { recursive: true, force: true }));

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

test('advlab eval --shard 0/2 and 1/2, then advlab merge: the JSON of the unsharded evaluation', () => {
  const t = advlab(
    'train',
    '--model',
    'wong-cnn',
    '--data',
    'synthetic:tiny',
    '--epochs',
    '2',
    '--out',
    run,
    '--lr',
    '0.01',
    '--backend',
    'cpu',
  );
  assert.equal(t.code, 0, t.err);
  // 100 examples in batches of 32: four batches, the last one short; shard 0 holds two, shard 1 the other two.
  // The unsharded reference batches per block, as shards do (unsharded runs batch survivors by default).
  const evalArgs = [
    '--model',
    run,
    '--n',
    '100',
    '--batch-size',
    '32',
    '--eps',
    '0.1,0.2',
    '--steps',
    '3',
    '--apgd-steps',
    '3',
    '--batching',
    'blocks',
  ];
  const eval_ = (...more: string[]) => advlab('eval', ...evalArgs, '--backend', 'cpu', ...more);
  const whole = join(dir, 'whole.json');
  const w = eval_('--json', whole);
  assert.equal(w.code, 0, w.err);
  const shards = [0, 1].map((i) => join(dir, `shard-${i}.json`));
  for (const [i, file] of shards.entries()) {
    const s = eval_('--shard', `${i}/2`, '--json', file);
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, new RegExp(`shard ${i}/2: test examples ${i * 64}…${i === 0 ? 63 : 99} of the first 100`));
  }
  assert.deepEqual(
    shards.map((f) => [json(f).n, json(f).shard.start, json(f).shard.end]),
    [
      [64, 0, 64],
      [36, 64, 100],
    ],
  );
  const merged = join(dir, 'merged.json');
  const m = advlab('merge', shards[1]!, shards[0]!, '--json', merged);
  assert.equal(m.code, 0, m.err);
  assert.match(m.out, /first 100 test examples/);
  const expected = json(whole);
  assert.ok(
    expected.worst_case.sequence.some((s: { run_on: number }) => s.run_on > 0),
    'the worst-case suite ran',
  );
  assert.deepEqual(withoutTimings(json(merged)), withoutTimings(expected));
  // withoutTimings sets aside the checks' wording too: compare it apart.
  assert.deepEqual(json(merged).checks, expected.checks);
});

test('advlab eval refuses a bad --shard and advlab merge refuses a missing or mismatched shard, naming them', () => {
  for (const bad of ['4/4', '0/0', 'x']) {
    const r = advlab('eval', '--model', run, '--shard', bad, '--backend', 'cpu');
    assert.equal(r.code, 2, bad);
    assert.match(r.err, /\[E_CONFIG\] --shard: expected I\/N: shard I of N, integers with 0 ≤ I < N, found "/);
  }
  const tooMany = advlab('eval', '--model', run, '--n', '40', '--batch-size', '32', '--shard', '2/3', '--backend', 'cpu');
  assert.equal(tooMany.code, 2);
  assert.match(tooMany.err, /\[E_CONFIG\] --shard: expected at most 2 shards/);
  const shard0 = join(dir, 'shard-0.json');
  const missing = advlab('merge', shard0);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /\[E_CONFIG\] .*shard-0\.json: expected all 2 shards .*missing 1\/2 \(examples 64…99\)/);
  const other = join(dir, 'other-1.json');
  const o = advlab(
    'eval',
    ...['--model', run, '--n', '100', '--batch-size', '32', '--eps', '0.1,0.2', '--steps', '3', '--apgd-steps', '3'],
    ...['--seed', '1', '--shard', '1/2', '--json', other, '--backend', 'cpu'],
  );
  assert.equal(o.code, 0, o.err);
  const mismatch = advlab('merge', shard0, other);
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.err, /other-1\.json: expected the seed of .*shard-0\.json, 0, found 1/);
});
