import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../packages/core/src/errors.ts';
import { DEFAULT_AA_MODEL, autoattackSkipReason, modelFolder, parseOptions, type BenchOptions } from './options.ts';

// parseOptions refuses a --python that does not exist; node itself stands in for it.
const base = ['--python', process.execPath];
const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => parseOptions([...base, ...args], env) as BenchOptions;

test('rounds: 5 by default, 2 with --quick, --rounds sets it', () => {
  assert.equal(parse([]).rounds, 5);
  assert.equal(parse(['--quick']).rounds, 2);
  assert.equal(parse(['--rounds', '7']).rounds, 7);
  assert.equal(parse(['--rounds=3', '--quick']).rounds, 3);
});

test('bad values are ConfigErrors naming the flag', () => {
  const cases: [string[], string][] = [
    [['--rounds', '0'], '--rounds'],
    [['--rounds', '2.5'], '--rounds'],
    [['--rounds', ''], '--rounds'],
    [['--aa-n', '0'], '--aa-n'],
    [['--aa-n', '10001'], '--aa-n'],
    [['--aa-bs', 'x'], '--aa-bs'],
    [['--aa-square-queries', '-1'], '--aa-square-queries'],
    [['--aa-model', '/nonexistent/advlab-bench-model'], '--aa-model'],
    [['--workloads', 'autoattack,apgd'], '--workloads'],
    [['--rounds'], '--rounds'],
    [['--aa-rounds', '2'], '--aa-rounds'],
  ];
  for (const [args, flag] of cases) {
    assert.throws(
      () => parse(args),
      (e: unknown) => e instanceof ConfigError && e.option === flag,
      `${args.join(' ')} should be refused naming ${flag}`,
    );
  }
});

test('autoattack is a workload, in the default list and selectable alone', () => {
  assert.ok(parse([]).workloads.includes('autoattack'));
  assert.deepEqual(parse(['--workloads', 'standard,autoattack']).workloads, ['standard', 'autoattack']);
});

test('AutoAttack settings: defaults, quick defaults, the checkout from the flag or ADVLAB_AUTOATTACK', () => {
  const d = parse([]);
  assert.equal(d.autoattack, undefined);
  assert.equal(d.aaModel, DEFAULT_AA_MODEL);
  assert.equal(d.aaModelGiven, false);
  assert.equal(d.aaN, 1000);
  assert.equal(d.aaBs, 250);
  assert.equal(d.aaSquareQueries, undefined);
  const q = parse(['--quick']);
  assert.equal(q.aaN, 100);
  assert.equal(q.aaSquareQueries, 100);
  assert.equal(parse(['--quick', '--aa-n', '50', '--aa-square-queries', '20']).aaSquareQueries, 20);
  // the standard budget given explicitly is the standard version
  assert.equal(parse(['--quick', '--aa-square-queries', '5000']).aaSquareQueries, undefined);
  assert.equal(parse([], { ADVLAB_AUTOATTACK: '/x/auto-attack' }).autoattack, '/x/auto-attack');
  assert.equal(parse(['--autoattack', '/y'], { ADVLAB_AUTOATTACK: '/x' }).autoattack, '/y');
  assert.equal(parse([], { ADVLAB_AUTOATTACK: '' }).autoattack, undefined);
});

test('--aa-model takes a model folder or a run directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'advlab-bench-'));
  mkdirSync(join(dir, 'run', 'model'), { recursive: true });
  writeFileSync(join(dir, 'run', 'model', 'model.json'), '{}');
  assert.equal(modelFolder(join(dir, 'run')), join(dir, 'run', 'model'));
  assert.equal(modelFolder(join(dir, 'run', 'model')), join(dir, 'run', 'model'));
  assert.equal(modelFolder(dir), null);
  const o = parse(['--aa-model', join(dir, 'run')]);
  assert.equal(o.aaModel, join(dir, 'run'));
  assert.equal(o.aaModelGiven, true);
});

test('autoattackSkipReason: one line saying how to get a checkout, null for a checkout', () => {
  const none = autoattackSkipReason(undefined)!;
  assert.match(none, /^autoattack: skipped/);
  assert.match(none, /git clone https:\/\/github\.com\/fra31\/auto-attack/);
  assert.ok(!none.includes('\n'));
  const dir = mkdtempSync(join(tmpdir(), 'advlab-aa-'));
  assert.match(autoattackSkipReason(dir)!, /has no autoattack\/autoattack\.py/);
  mkdirSync(join(dir, 'autoattack'));
  writeFileSync(join(dir, 'autoattack', 'autoattack.py'), '');
  assert.equal(autoattackSkipReason(dir), null);
});
