import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cpu, trainedMlp } from '../testing/fixtures.ts';
import { attackBatches, parseShardSpec, shardRange } from './batches.ts';
import { SANITY_CHECKS } from './checks.ts';
import type { AttackSuite } from './suites.ts';
import { evaluateRobustness, evaluateRobustnessAsync, PROBE_ELSEWHERE, type EvaluateOptions, type EvaluationReport } from './evaluate.ts';
import { mergeShards, ShardMergeError, type ShardFile } from './merge.ts';

await cpu();
const { classifier, test: data } = trainedMlp(11, 8, 4);

const opts: EvaluateOptions = {
  attacks: ['fgsm', 'pgd'],
  eps: [0.05, 0.1],
  norm: 'linf',
  n: 150,
  batchSize: 32,
  seed: 7,
  // What a merge of shards reproduces is the unsharded evaluation batched per block (the default is 'survivors').
  batching: 'blocks',
  attackConfig: { pgd: { steps: 3 }, 'apgd-ce': { steps: 3 }, 'apgd-t': { steps: 3, targetClasses: 2 } },
};

/** A report without its wall times, the only figures a merge may not reproduce. */
function timeless(r: EvaluationReport): unknown {
  return JSON.parse(JSON.stringify(r, (k, v) => (k === 'seconds' ? 0 : v)));
}

/** Every shard of `count` of the evaluation `o`, as files named shard-K.json, each parsed back from its JSON. */
function shards(o: EvaluateOptions, count: number): ShardFile[] {
  return Array.from({ length: count }, (_, index) => {
    const { report } = evaluateRobustness(classifier, data, { ...o, shard: { index, count } }, 'blobs');
    return { file: `shard-${index}.json`, report: JSON.parse(JSON.stringify(report)) as EvaluationReport };
  });
}

test('shardRange: contiguous runs of whole batches, covering every example exactly once', () => {
  for (const n of [1, 7, 64, 100, 257, 1000])
    for (const batchSize of [1, 3, 32, 256, 2000]) {
      const blocks = Math.ceil(n / batchSize);
      for (const count of [1, 2, 3, 5, 8].filter((c) => c <= blocks)) {
        const seen = new Uint8Array(n);
        let next = 0;
        for (let index = 0; index < count; index++) {
          const { start, end } = shardRange(n, batchSize, { index, count });
          assert.equal(start, next, `n ${n} batch ${batchSize} shard ${index}/${count} starts where the last ended`);
          assert.equal(start % batchSize, 0, 'on a batch boundary');
          assert.ok(end > start, 'not empty');
          for (let i = start; i < end; i++) seen[i]!++;
          next = end;
        }
        assert.equal(next, n);
        assert.ok(
          seen.every((s) => s === 1),
          `n ${n} batch ${batchSize} ${count} shards`,
        );
      }
    }
  assert.deepEqual(shardRange(10, 4, { index: 0, count: 1 }), { start: 0, end: 10 });
  assert.deepEqual(shardRange(10, 4, { index: 2, count: 3 }), { start: 8, end: 10 });
  for (const [index, count] of [
    [4, 4],
    [0, 0],
    [-1, 2],
    [0, 4], // 10 examples in batches of 4 make 3 batches
  ] as const)
    assert.throws(
      () => shardRange(10, 4, { index, count }),
      (e: any) => e.code === 'E_CONFIG' && e.option === 'shard',
    );
});

test('parseShardSpec reads I/N and refuses anything else, naming shard', () => {
  assert.deepEqual(parseShardSpec('0/2'), { index: 0, count: 2 });
  assert.deepEqual(parseShardSpec('3/4'), { index: 3, count: 4 });
  for (const bad of ['4/4', '0/0', 'x', '', '1', '1/2/3', '-1/2', '0.5/2'])
    assert.throws(
      () => parseShardSpec(bad),
      (e: any) => e.code === 'E_CONFIG' && e.option === 'shard' && e.message.includes(JSON.stringify(bad)),
      bad,
    );
});

test('attackBatches: one batch per block of the set holding any of the indices, in order', () => {
  assert.deepEqual(attackBatches([0, 2, 3, 5, 9, 10, 11], 4), [
    { block: 0, indices: [0, 2, 3] },
    { block: 1, indices: [5] },
    { block: 2, indices: [9, 10, 11] },
  ]);
  assert.deepEqual(attackBatches([], 4), []);
});

test('a shard report covers its slice and carries compact per-example outcomes; probe checks run only in shard 0', () => {
  // Shard 0 of 3 holds 32 examples and reads on past them for the probe; no tensor is left behind.
  shards(opts, 3);
  const before = tf.memory().numTensors;
  shards(opts, 3);
  assert.equal(tf.memory().numTensors, before);
  const [zero, one] = shards(opts, 2).map((s) => s.report);
  assert.equal(zero!.shard!.start, 0);
  assert.equal(zero!.shard!.end, 64);
  assert.equal(zero!.n, 64);
  assert.equal(one!.shard!.start, 64);
  assert.equal(one!.shard!.end, 150);
  assert.equal(one!.shard!.correct.length, 86);
  assert.equal(one!.shard!.robust.length, one!.attacks.length);
  assert.equal(one!.shard!.worst.length, 2);
  for (const c of SANITY_CHECKS) {
    const r1 = one!.checks.find((r) => r.code === c.code)!;
    if (c.usesProbe) {
      assert.ok(r1.skipped && r1.detail.endsWith(PROBE_ELSEWHERE), c.code);
      assert.ok(!zero!.checks.find((r) => r.code === c.code)!.skipped, `${c.code} ran in shard 0`);
    }
  }
});

test('merging the shards gives the unsharded evaluation, field by field, for 2, 3 and 5 shards in any order', () => {
  const whole = evaluateRobustness(classifier, data, opts, 'blobs');
  assert.ok(whole.report.worst_case.robust_accuracy < whole.report.clean_accuracy, 'the attacks bite');
  assert.ok(
    whole.report.worst_case_by_eps.some((w) => w.sequence.some((s) => s.run_on > 0 && s.broke > 0)),
    'the suite broke some survivors',
  );
  for (const count of [2, 3, 5]) {
    const parts = shards(opts, count).reverse();
    const merged = mergeShards(parts);
    assert.deepEqual(timeless(merged.report), timeless(whole.report), `${count} shards`);
    assert.deepEqual(merged.detail, whole.detail, `${count} shards: per-example flags`);
    assert.equal(merged.report.shard, undefined);
    // The shard holding example 0 found the probe past its own end (it holds fewer than 100 examples).
    if (count > 2) assert.ok(parts.at(-1)!.report.n < 100);
  }
  // Every check is compared above; make sure they ran rather than skipped.
  assert.ok(whole.report.checks.filter((c) => !c.skipped).length >= 6, JSON.stringify(whole.report.checks));
});

/** AutoAttack's attacks with tiny budgets (the autoattack suite fixes its own, too long for a test). */
const tinyAutoAttack: AttackSuite = {
  name: 'tiny-autoattack',
  label: 'APGD-CE + APGD-T + FAB-T + Square (tiny budgets)',
  description: 'for tests',
  plan: () => ({
    steps: [
      { attack: 'apgd-ce', config: { steps: 3 } },
      { attack: 'apgd-t', config: { steps: 3, targetClasses: 2 } },
      { attack: 'fab-t', config: { steps: 3, targetClasses: 2 } },
      { attack: 'square', config: { queries: 30 } },
    ],
    skipped: [],
  }),
};

test('FAB-T and Square (batch-wide random windows) under L2 merge to the unsharded numbers too; async shards match sync', async () => {
  const aa: EvaluateOptions = { ...opts, attacks: ['pgd'], norm: 'l2', eps: [0.2], n: 80, batchSize: 16, suite: tinyAutoAttack };
  const whole = evaluateRobustness(classifier, data, aa, 'blobs');
  assert.deepEqual(
    whole.report.worst_case.sequence.map((s) => [s.attack, s.run_on > 0]),
    [
      ['apgd-ce', true],
      ['apgd-t', true],
      ['fab-t', true],
      ['square', true],
    ],
  );
  const parts = shards(aa, 3);
  assert.deepEqual(timeless(mergeShards(parts).report), timeless(whole.report));
  const async = await evaluateRobustnessAsync(classifier, data, { ...aa, shard: { index: 1, count: 3 } }, 'blobs');
  assert.deepEqual(timeless(JSON.parse(JSON.stringify(async.report))), timeless(parts[1]!.report));
});

test('merge refuses shards of different evaluations, overlapping or missing shards, and reports that are not shards', () => {
  const small = { ...opts, eps: [0.05], worstCase: false, n: 96 };
  const parts = shards(small, 3);
  const refused = (files: ShardFile[], pattern: RegExp, file = /./) =>
    assert.throws(
      () => mergeShards(files),
      (e: any) => e instanceof ShardMergeError && e.code === 'E_CONFIG' && file.test(e.file) && pattern.test(e.message),
    );
  // Another seed, another ε, other attack settings, another n, another number of shards, another model.
  const otherSeed = shards({ ...small, seed: 8 }, 3);
  refused([parts[0]!, otherSeed[1]!, parts[2]!], /^shard-1\.json: expected the seed of shard-0\.json, 7, found 8$/);
  refused([parts[0]!, parts[1]!, shards({ ...small, eps: [0.1] }, 3)[2]!], /the eps of shard-0\.json, \[0\.05\], found \[0\.1\]/);
  refused(
    [parts[0]!, shards({ ...small, attackConfig: { pgd: { steps: 4 } } }, 3)[1]!, parts[2]!],
    /expected the attacks \(name, norm, ε, config, cost\) of shard-0\.json/,
  );
  refused([parts[0]!, parts[1]!, shards({ ...small, n: 90 }, 3)[2]!], /the n of the whole evaluation of shard-0\.json, 96, found 90/);
  refused([parts[0]!, parts[1]!, shards(small, 2)[1]!], /the number of shards of shard-0\.json, 3, found 2/);
  refused([parts[0]!, { ...parts[1]!, report: { ...parts[1]!.report, model: 'other' } }, parts[2]!], /the model of shard-0\.json/);
  refused([parts[0]!, { ...parts[1]!, report: { ...parts[1]!.report, batch: 1 } as EvaluationReport }, parts[2]!], /the batch of/);
  // Overlapping: the same shard twice (under two names); missing: a shard left out.
  refused(
    [parts[0]!, parts[1]!, { ...parts[1]!, file: 'copy.json' }],
    /shard 1\/3 is shard-1\.json.*found shard 1\/3 again/,
    /^copy\.json$/,
  );
  refused([parts[2]!, parts[0]!], /missing 1\/3 \(examples 32…63\)/, /^shard-2\.json$/);
  // Not a shard's report, or a shard whose flags were cut short: DataFormatError naming the file.
  const whole = evaluateRobustness(classifier, data, small, 'blobs').report;
  assert.throws(
    () => mergeShards([parts[0]!, { file: 'whole.json', report: whole }]),
    (e: any) => e.code === 'E_DATA_FORMAT' && /^whole\.json: expected the report of one shard/.test(e.message),
  );
  const cut = { ...parts[1]!, report: { ...parts[1]!.report, shard: { ...parts[1]!.report.shard!, correct: '0101' } } };
  assert.throws(
    () => mergeShards([parts[0]!, cut, parts[2]!]),
    (e: any) => e.code === 'E_DATA_FORMAT' && /^shard-1\.json: expected shard\.correct: a string of 32 characters/.test(e.message),
  );
  assert.throws(
    () => mergeShards([]),
    (e: any) => e.code === 'E_CONFIG',
  );
});

test('unsharded evaluations batch survivors by default (reports as before sharding); a shard batches per block and refuses survivors', () => {
  const { batching: _b, ...plain } = opts;
  const survivors = evaluateRobustness(classifier, data, { ...plain, attacks: ['pgd'], eps: [0.1], worstCase: false }, 'blobs').report;
  assert.equal(survivors.batching, undefined, 'no batching field: the report has its old shape');
  const blocks = evaluateRobustness(
    classifier,
    data,
    { ...plain, attacks: ['pgd'], eps: [0.1], worstCase: false, batching: 'blocks' },
    'blobs',
  ).report;
  assert.equal(blocks.batching, 'blocks');
  const shard = evaluateRobustness(
    classifier,
    data,
    { ...plain, attacks: ['pgd'], eps: [0.1], worstCase: false, shard: { index: 0, count: 2 } },
    'blobs',
  ).report;
  assert.equal(shard.batching, 'blocks', 'a shard batches per block without being told');
  assert.throws(
    () => evaluateRobustness(classifier, data, { ...plain, shard: { index: 0, count: 2 }, batching: 'survivors' }, 'blobs'),
    /batching: expected 'blocks' with a shard/,
  );
});
