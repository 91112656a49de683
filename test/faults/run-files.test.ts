// Fault injection, part 1: every file of a run directory — truncated at random offsets, bytes corrupted at
// random, replaced by a folder or by a link to a file elsewhere, deleted — then `train --resume`, `eval`
// and `report` on the run. Each must end in a typed error or a correct result; none may crash, and none
// may lose data: a command that fails changes nothing in the run, and a resume keeps every metrics line
// (in metrics.jsonl or, for lines it supersedes, metrics.superseded.jsonl).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@advlab/core';
import { advlab, count, faultSeed, newTally, saveTally, snapshot, type Outcome } from './harness.ts';

const work = mkdtempSync(join(tmpdir(), 'advlab-faults-files-'));
const seed = faultSeed();
const rng = new Rng(seed);
const randomInt = (n: number) => rng.int(n);

const TRAIN = ['--model', 'mlp', '--data', 'synthetic:tiny', '--method', 'fgsm', '--eps', '0.1', '--epochs', '2'];
const TRAIN_SPEED = ['--limit', '64', '--held-out', '32', '--eval-every', '0', '--backend', 'cpu'];
const EVAL = ['--n', '16', '--attacks', 'fgsm', '--no-worst-case', '--backend', 'cpu'];

const pristine = join(work, 'pristine');
const outside = join(work, 'outside.txt');
writeFileSync(outside, 'a file outside the run\n');

type Damage = { name: string; apply: (path: string) => void };

/** The damages of one file: random truncations and corruptions (drawn from the seed), other types, deletion. */
function damagesOf(size: number): Damage[] {
  const cut = [randomInt(Math.max(1, size)), randomInt(Math.max(1, size))];
  const flips = [0, 1].map(() =>
    Array.from({ length: 1 + randomInt(8) }, () => [randomInt(Math.max(1, size)), 1 + randomInt(255)] as const),
  );
  return [
    ...cut.map((at) => ({
      name: `truncated at ${at} of ${size}`,
      apply: (p: string) => writeFileSync(p, readFileSync(p).subarray(0, at)),
    })),
    ...flips.map((f) => ({
      name: `${f.length} byte(s) corrupted at ${f.map(([at]) => at).join(',')}`,
      apply: (p: string) => {
        const b = readFileSync(p);
        for (const [at, x] of f) if (at < b.length) b[at] = b[at]! ^ x;
        writeFileSync(p, b);
      },
    })),
    {
      name: 'replaced by a folder',
      apply: (p: string) => {
        rmSync(p);
        mkdirSync(p);
        writeFileSync(join(p, 'inside'), 'x');
      },
    },
    {
      name: 'replaced by a link to a file outside the run',
      apply: (p: string) => {
        rmSync(p);
        symlinkSync(outside, p);
      },
    },
    { name: 'deleted', apply: (p: string) => rmSync(p) },
  ];
}

const metricLines = (dir: string, file: string) => {
  try {
    return readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

test('every damaged file of a run directory gives a typed error or a correct result, and loses nothing', async () => {
  let r = await advlab(['train', ...TRAIN, ...TRAIN_SPEED, '--out', pristine]);
  assert.equal(r.outcome.kind, 'ok', r.stderr);
  r = await advlab(['eval', '--model', join(pristine, 'model'), ...EVAL, '--json', join(pristine, 'eval.json')]);
  assert.equal(r.outcome.kind, 'ok', r.stderr);
  const files = Object.entries(snapshot(pristine))
    .filter(([, v]) => v !== 'folder')
    .map(([rel]) => rel);
  assert.ok(files.length >= 13, `the run has its files: ${files.join(', ')}`);
  const finalWeights = readFileSync(join(pristine, 'model', 'weights.bin'));

  const tally = newTally('run directory files × resume, eval, report');
  const problems: string[] = [];
  let n = 0;
  for (const file of files) {
    for (const damage of damagesOf(statSync(join(pristine, file)).size)) {
      for (const command of ['resume', 'eval', 'report'] as const) {
        const dir = join(work, `case-${n++}`);
        cpSync(pristine, dir, { recursive: true });
        damage.apply(join(dir, file));
        const before = snapshot(dir);
        const linesBefore = metricLines(dir, 'metrics.jsonl');
        const out = join(work, `out-${n}`);
        const argv =
          command === 'resume'
            ? ['train', '--resume', dir, '--backend', 'cpu']
            : command === 'eval'
              ? ['eval', '--model', dir, ...EVAL, '--json', `${out}.json`]
              : ['report', dir, '--out', `${out}.html`];
        const { outcome, stderr } = await advlab(argv);
        count(tally, outcome);
        const label = `${file} ${damage.name} → ${command}`;
        const fail = (why: string) => problems.push(`${label}: ${why}`);
        if (outcome.kind === 'crash') fail(`crash: ${outcome.detail}`);
        if (process.env.ADVLAB_FAULT_VERBOSE) process.stderr.write(`${label}: ${describe(outcome)}\n`);
        const after = snapshot(dir);
        if (outcome.kind !== 'ok' || command !== 'resume') {
          // A command that only reads, or one that refused, leaves every byte of the run as it was.
          const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
          if (changed.length) {
            tally.dataLoss++;
            fail(`changed ${changed.join(', ')} (${describe(outcome)})`);
          }
        } else {
          // A resume that succeeded: the final model is the uninterrupted run's, and no line was dropped.
          if (!readFileSync(join(dir, 'model', 'weights.bin')).equals(finalWeights)) fail('resumed to other final weights');
          const kept = new Set([...metricLines(dir, 'metrics.jsonl'), ...metricLines(dir, 'metrics.superseded.jsonl')]);
          const lost = linesBefore.filter((l) => !kept.has(l));
          if (lost.length) {
            tally.dataLoss++;
            fail(`lost ${lost.length} metrics line(s)`);
          }
        }
        if (outcome.kind === 'typed' && !stderr.includes('advlab: [')) fail('typed error without its line');
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  saveTally(tally);
  process.stderr.write(`${JSON.stringify(tally)}\n`);
  assert.deepEqual(problems, [], `seed ${seed}`);
  assert.equal(tally.crashes, 0);
  assert.equal(tally.dataLoss, 0);
});

function describe(o: Outcome): string {
  return o.kind === 'typed' ? `${o.code} ${o.message}` : o.kind;
}
