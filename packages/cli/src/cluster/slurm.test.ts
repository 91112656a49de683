import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeManifest } from './manifest.ts';
import { batchScript, parseSacct, parseScontrol, parseSqueue, sbatchArgs, shellQuote } from './slurm.ts';

const m = writeManifest(join(mkdtempSync(join(tmpdir(), 'advlab-slurm-')), 'manifest.json'), {
  format: 'advlab-manifest',
  version: 1,
  suite: { kind: 'sweep', varying: [], title: 't' },
  tasks: [0, 1, 2].map((index) => ({ index, name: `r${index}`, dir: `r${index}`, train: {}, after: [] })),
});

test('squeue, scontrol and sacct output are read per array index', () => {
  assert.deepEqual(
    [...parseSqueue('0 RUNNING\n2 PENDING\n\n')],
    [
      [0, 'RUNNING'],
      [2, 'PENDING'],
    ],
  );
  // A pending array not yet split shows "N/A" as its index: no element known yet.
  assert.equal(parseSqueue('N/A PENDING\n').size, 0);
  const scontrol = [
    'JobId=7 ArrayJobId=5 ArrayTaskId=2 ArrayTaskThrottle=1 JobName=x JobState=COMPLETED Reason=None ExitCode=0:0 RunTime=00:00:03',
    'JobId=6 ArrayJobId=5 ArrayTaskId=1 JobName=x JobState=CANCELLED Reason=None ExitCode=0:15 RunTime=00:00:02',
    'JobId=5 ArrayJobId=5 ArrayTaskId=0 JobName=x JobState=FAILED Reason=NonZeroExitCode ExitCode=2:0',
  ].join('\n');
  assert.deepEqual(Object.fromEntries(parseScontrol(scontrol)), {
    2: { state: 'COMPLETED', exit: '0:0' },
    1: { state: 'CANCELLED', exit: '0:15' },
    0: { state: 'FAILED', exit: '2:0' },
  });
  const sacct = '5_0|COMPLETED|0:0\n5_0.batch|COMPLETED|0:0\n5_1|CANCELLED by 0|0:15\n15_1|FAILED|1:0\n';
  assert.deepEqual(Object.fromEntries(parseSacct(sacct, '5')), {
    0: { state: 'COMPLETED', exit: '0:0' },
    1: { state: 'CANCELLED', exit: '0:15' },
  });
});

test('the array covers exactly the tasks given, with the flags asked for', () => {
  const args = sbatchArgs(
    m,
    m.manifest.tasks.slice(1),
    { partition: 'gpu', time: '1:00:00', cpusPerTask: 2, mem: '8G', parallel: 1, extra: ['--qos=low'] },
    '/logs',
  );
  assert.ok(args.includes('--array=1,2%1'));
  for (const a of [
    '--partition=gpu',
    '--time=1:00:00',
    '--cpus-per-task=2',
    '--mem=8G',
    '--qos=low',
    '--output=/logs/%A_%a.out',
    '--parsable',
  ])
    assert.ok(args.includes(a), a);
  assert.ok(!sbatchArgs(m, m.manifest.tasks, {}, '/l').some((a) => /partition|time|mem|cpus/.test(a)));
});

test('the batch script runs the worker for $SLURM_ARRAY_TASK_ID, every word quoted for the shell', () => {
  const script = batchScript(m, { command: ['/usr/bin/node', "/path with 'quote'/advlab.js"], backend: 'cpu' });
  assert.match(script, /^#!\/bin\/bash\n/);
  assert.match(script, /--index "\$SLURM_ARRAY_TASK_ID" --backend cpu\n/);
  assert.ok(script.includes('export ADVLAB_JOB="slurm $SLURM_ARRAY_JOB_ID"_"$SLURM_ARRAY_TASK_ID"\n'));
  // which bash expands to the attempt's name
  const expanded = spawnSync('bash', ['-c', `SLURM_ARRAY_JOB_ID=41 SLURM_ARRAY_TASK_ID=3; ${script.split('\n')[3]}; echo "$ADVLAB_JOB"`], {
    encoding: 'utf8',
  });
  assert.equal(expanded.stdout, 'slurm 41_3\n');
  // bash itself reads the words back as they were.
  const words = spawnSync(
    'bash',
    ['-c', `set -- ${["/path with 'quote'/a", 'plain', '$HOME'].map(shellQuote).join(' ')}; printf '%s\\n' "$@"`],
    {
      encoding: 'utf8',
    },
  ).stdout;
  assert.equal(words, "/path with 'quote'/a\nplain\n$HOME\n");
});
