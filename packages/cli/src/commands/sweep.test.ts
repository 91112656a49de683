import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@advlab/core';
import { parseFlags } from '../flags.ts';
import { SWEEP_OPTIONS, pointName, sweep, sweepGrid } from './sweep.ts';
import { RUN_CONFIG_OPTIONS } from './train.ts';

const grid = (...argv: string[]) => {
  const { values, given } = parseFlags(['--out', '/tmp/x', ...argv], SWEEP_OPTIONS);
  return sweepGrid(values, given);
};

test('the grid is the product of the lists, in the order the flags were given; only lists vary', () => {
  const { points, varying } = grid('--method', 'pgd', '--eps', '0.05,0.1,0.15', '--seed', '0,1,2');
  assert.equal(points.length, 9);
  assert.deepEqual(varying, ['eps', 'seed']);
  assert.deepEqual(points[0], ['--method', 'pgd', '--eps', '0.05', '--seed', '0']);
  assert.deepEqual(points[1], ['--method', 'pgd', '--eps', '0.05', '--seed', '1']);
  assert.deepEqual(points[8], ['--method', 'pgd', '--eps', '0.15', '--seed', '2']);
  assert.deepEqual(new Set(points.map((p) => pointName(p, varying))).size, 9);
  assert.equal(pointName(points[5]!, varying), 'eps-0.1_seed-2');
  // camelCase options keep their flag's name; nothing varying → "run".
  const lr = grid('--batch-size', '64,128');
  assert.equal(pointName(lr.points[1]!, lr.varying), 'batch-size-128');
  const one = grid('--method', 'pgd');
  assert.equal(pointName(one.points[0]!, one.varying), 'run');
  // Options are swept under train's own flag names, and each point parses as train's options.
  const ramp = grid('--eps-ramp', '0,2');
  assert.deepEqual(ramp.points[1], ['--eps-ramp', '2']);
  assert.equal(pointName(ramp.points[1]!, ramp.varying), 'eps-ramp-2');
  assert.equal(parseFlags(ramp.points[1]!, RUN_CONFIG_OPTIONS).values.epsRampEpochs, 2);
  // Train's flagless options are not sweep flags either.
  assert.throws(() => grid('--align-examples', '64'), /align-examples/);
  // A minority spec is one value, commas and all.
  assert.equal(grid('--minority', '0:0.1').points.length, 1);
});

test('a grid with an empty or repeated value is refused, naming the flag', () => {
  assert.throws(
    () => grid('--eps', '0.1,,0.2'),
    (e: unknown) => e instanceof ConfigError && e.option === 'eps',
  );
  assert.throws(() => grid('--seed', '1,1'), /distinct values/);
});

test('every point is checked as advlab train checks it before anything runs or is written', async () => {
  await assert.rejects(
    sweep(['--out', '/tmp/advlab-sweep-never', '--method', 'pgd,nonsense']),
    (e: unknown) => e instanceof ConfigError && e.option === '--method',
  );
  await assert.rejects(
    sweep(['--out', '/tmp/advlab-sweep-never', '--eps', '0.1,-1']),
    (e: unknown) => e instanceof ConfigError && e.option === '--eps',
  );
  await assert.rejects(
    sweep(['--out', '/tmp/advlab-sweep-never', '--partition', 'x']),
    /partition: expected it only with --executor slurm/,
  );
  await assert.rejects(sweep(['--out', '/tmp/advlab-sweep-never', '--executor', 'k8s']), /image: expected the worker image/);
});
