import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, evaluateRobustness, type EvaluateOptions } from '@advlab/core';
import { cpu, trainedMlp } from '@advlab/core/testing';
import { parseFlags } from '../flags.ts';
import { EVAL_OPTIONS, evaluate } from './eval.ts';
import { merge } from './merge.ts';

await cpu();
const { classifier, test: data } = trainedMlp(5, 8, 4);
const CLASS_NAMES = ['a', 'b', 'c', 'd'];

test('--shard takes I/N with 0 ≤ I < N; anything else is a ConfigError naming --shard', async () => {
  assert.equal(parseFlags(['--model', 'm', '--shard', '1/3'], EVAL_OPTIONS).values.shard, '1/3');
  for (const bad of ['4/4', '0/0', 'x', '1', '2/1', '-1/2'])
    assert.throws(
      () => parseFlags(['--model', 'm', `--shard=${bad}`], EVAL_OPTIONS),
      (e: unknown) => e instanceof ConfigError && e.option === '--shard' && e.found === JSON.stringify(bad) && /0 ≤ I < N/.test(e.expected),
      bad,
    );
  // Refused before anything is loaded, and not with --generative.
  await assert.rejects(
    evaluate(['--model', '/nonexistent', '--shard', '4/4']),
    (e: unknown) => e instanceof ConfigError && e.option === '--shard',
  );
  await assert.rejects(
    evaluate(['--model', '/nonexistent', '--generative', '--shard', '0/2']),
    (e: unknown) => e instanceof ConfigError && e.option === 'shard',
  );
});

test('advlab merge writes the JSON advlab eval writes unsharded; refuses a missing shard and a stray file, naming them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'advlab-merge-'));
  const quiet = process.stdout.write;
  try {
    const o: EvaluateOptions = {
      attacks: ['fgsm', 'pgd'],
      eps: [0.1],
      n: 100,
      batchSize: 25,
      seed: 3,
      batching: 'blocks',
      attackConfig: { pgd: { steps: 2 }, 'apgd-ce': { steps: 2 }, 'apgd-t': { steps: 2, targetClasses: 2 } },
    };
    // As advlab eval writes its JSON: the report and the class names.
    const asWritten = (shard?: { index: number; count: number }) => {
      const { report } = evaluateRobustness(classifier, data, { ...o, ...(shard ? { shard } : {}) }, 'blobs');
      return `${JSON.stringify({ ...report, class_names: CLASS_NAMES }, null, 2)}\n`;
    };
    const files = [0, 1, 2].map((index) => {
      const file = join(dir, `shard-${index}.json`);
      writeFileSync(file, asWritten({ index, count: 3 }));
      return file;
    });
    const out = join(dir, 'merged.json');
    process.stdout.write = () => true;
    await merge([files[2]!, files[0]!, files[1]!, '--json', out]);
    const timeless = (text: string) => JSON.parse(text, (k, v) => (k === 'seconds' ? 0 : v));
    assert.deepEqual(timeless(readFileSync(out, 'utf8')), timeless(asWritten()));
    // An existing output needs --force; a missing shard and a file that is not JSON are refused, naming them.
    await assert.rejects(merge([...files, '--json', out]), (e: unknown) => e instanceof ConfigError && e.option === 'json');
    await assert.rejects(merge([files[0]!, files[2]!]), (e: unknown) => e instanceof ConfigError && /missing 1\/3/.test(e.message));
    const stray = join(dir, 'stray.json');
    writeFileSync(stray, '{"n": ');
    await assert.rejects(
      merge([...files, stray]),
      (e: Error & { code?: string }) => e.code === 'E_DATA_FORMAT' && e.message.startsWith(stray),
    );
    await assert.rejects(merge([join(dir, 'none.json')]), (e: Error & { code?: string }) => e.code === 'E_DATA_MISSING');
    await assert.rejects(merge([]), (e: unknown) => e instanceof ConfigError && e.option === 'SHARD_JSON');
  } finally {
    process.stdout.write = quiet;
    rmSync(dir, { recursive: true, force: true });
  }
});
