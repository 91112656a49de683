// Fault injection, part 3: every command with its output pointed at each of its inputs (the input itself, a
// file inside it, a folder above a file it reads), with and without --force: refused with a typed error
// before any work, and every input byte-identical afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeIdxDataset } from '../../packages/node/src/data/testing.ts';
import { DEFAULT_FASHION_MNIST_DIR } from '@advlab/node';
import { advlab, count, newTally, saveTally, snapshot } from './harness.ts';

const work = mkdtempSync(join(tmpdir(), 'advlab-faults-outputs-'));
const data = join(work, 'data');
const run = join(work, 'run');
const model = join(run, 'model');
const evalJson = join(work, 'eval.json');

test('every command refuses an output that is, or is inside, one of its inputs, and leaves the inputs intact', async () => {
  writeIdxDataset(data, { nTrain: 30, nTest: 12, height: 6, width: 6, numClasses: 3 });
  const base = ['--backend', 'cpu'];
  let r = await advlab(['train', '--model', 'mlp', '--data', `idx:${data}`, '--epochs', '1', '--held-out', '8', ...base, '--out', run]);
  assert.equal(r.outcome.kind, 'ok', r.stderr);
  r = await advlab(['eval', '--model', model, '--n', '8', '--attacks', 'fgsm', '--no-worst-case', ...base, '--json', evalJson]);
  assert.equal(r.outcome.kind, 'ok', r.stderr);

  const idx = `idx:${data}`;
  const cases: { command: string[]; flag: string; targets: string[] }[] = [
    {
      command: ['eval', '--model', model, '--data', idx, '--n', '8', '--attacks', 'fgsm', ...base],
      flag: '--json',
      targets: [model, join(model, 'model.json'), join(model, 'weights.bin'), data, join(data, 'train-images-idx3-ubyte')],
    },
    {
      command: ['attack', '--model', model, '--data', idx, '--n', '4', ...base],
      flag: '--out',
      targets: [model, join(model, 'sub'), data, join(data, 'gallery')],
    },
    {
      command: ['report', run, evalJson],
      flag: '--out',
      targets: [run, join(run, 'metrics.jsonl'), join(run, 'config.json'), join(run, 'summary.json'), join(model, 'model.json'), evalJson],
    },
    { command: ['train', '--model', 'mlp', '--data', idx, '--epochs', '1', ...base], flag: '--out', targets: [data, join(data, 'run')] },
    { command: ['demo', '--data', idx, '--epochs', '1', '--n', '8', ...base], flag: '--out', targets: [data, join(data, 'demo')] },
    {
      command: ['reproduce', '--smoke', ...base],
      flag: '--out',
      targets: [DEFAULT_FASHION_MNIST_DIR, join(DEFAULT_FASHION_MNIST_DIR, 'suite')],
    },
  ];
  const tally = newTally('outputs pointed at inputs');
  const problems: string[] = [];
  const watched = [data, run, evalJson, DEFAULT_FASHION_MNIST_DIR];
  const before = watched.map((p) => snapshot(p));
  for (const c of cases) {
    for (const target of c.targets) {
      for (const force of [false, true]) {
        const argv = [
          ...c.command,
          c.flag,
          target,
          ...(force && c.command[0] !== 'train' && c.command[0] !== 'demo' && c.command[0] !== 'reproduce' ? ['--force'] : []),
        ];
        const { outcome, stderr } = await advlab(argv);
        count(tally, outcome);
        if (outcome.kind !== 'typed') problems.push(`${argv.join(' ')}: ${outcome.kind} ${stderr.slice(-300)}`);
        else if (!['E_CONFIG'].includes(outcome.code) || !outcome.message.startsWith(c.flag))
          problems.push(`${argv.join(' ')}: ${outcome.code} ${outcome.message}`);
      }
    }
  }
  const after = watched.map((p) => snapshot(p));
  watched.forEach((p, i) => {
    if (JSON.stringify(after[i]) !== JSON.stringify(before[i])) {
      tally.dataLoss++;
      problems.push(`${p} changed`);
    }
  });
  saveTally(tally);
  process.stderr.write(`${JSON.stringify(tally)}\n`);
  assert.deepEqual(problems, []);
  assert.equal(tally.cases, 2 * cases.reduce((a, c) => a + c.targets.length, 0), 'every case ran');
});
