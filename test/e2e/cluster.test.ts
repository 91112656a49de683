// Issue 16's executors through the built CLI: a sweep's tasks in local worker processes (a killed worker's task is
// started again and resumes its run) and in a job array of a real one-node Slurm (results equal the local executor's;
// a cancelled array element is submitted again and resumes). The Slurm half needs Debian's slurm-wlm and munge and
// root (it starts munged, slurmctld and slurmd with scripts/slurm-localhost.sh); it skips, saying why, without them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { withoutTimings } from './figures.ts';

const bin = join(import.meta.dirname, '../../packages/cli/bin/advlab.js');
const slurmScript = join(import.meta.dirname, '../../scripts/slurm-localhost.sh');
const base = mkdtempSync(join(tmpdir(), 'advlab-cluster-'));

/** A tiny grid: an MLP on the synthetic tiny images, standard and PGD training. */
const grid = (out: string, epochs: number, methods: string, ...extra: string[]) => [
  'sweep',
  '--out',
  out,
  '--model',
  'mlp',
  '--data',
  'synthetic:tiny',
  '--method',
  methods,
  '--eps',
  '0.1',
  '--epochs',
  String(epochs),
  '--held-out',
  '32',
  '--curvature-examples',
  '0',
  '--eval-n',
  '32',
  '--eval-suite',
  'none',
  '--backend',
  'cpu',
  ...extra,
];

/** The figures of a sweep folder: results.json and each run's metrics and evaluation, wall times aside. */
function figures(out: string): unknown {
  const runs: Record<string, unknown> = {};
  for (const name of readdirSync(out).sort()) {
    if (!existsSync(join(out, name, 'eval.json'))) continue;
    const evaluation = JSON.parse(readFileSync(join(out, name, 'eval.json'), 'utf8'));
    const metrics = readFileSync(join(out, name, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => withoutTimings(JSON.parse(l)));
    runs[name] = { metrics, evaluation: withoutTimings({ ...evaluation, model: undefined }) };
  }
  return { results: withoutTimings(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))), runs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `ready()` holds (checked every 50 ms) or fails after `seconds`. */
async function until(what: string, ready: () => boolean, seconds = 120): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Runs the CLI in the background, collecting its output. */
function start(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [bin, ...args], { env });
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  child.stdout.on('data', () => {});
  const done = new Promise<number | null>((r) => child.on('close', r));
  return { child, done, stderr: () => stderr };
}

/** Whether the run's checkpoint pointer names a finished epoch (written after the checkpoint's files). */
const checkpointed = (run: string) => {
  try {
    return JSON.parse(readFileSync(join(run, 'checkpoint.json'), 'utf8')).epoch >= 1;
  } catch {
    return false;
  }
};

/** A second attempt's output resumed from a checkpoint: it says so, and never trains epoch 1 again. */
function assertResumed(output: string): void {
  const second = output.slice(output.lastIndexOf(': resuming'));
  assert.ok(output.includes(': resuming'), 'the second attempt found a partial run');
  assert.match(second, /advlab: resumed from epoch [1-9] /);
  assert.doesNotMatch(second, /epoch 1\/(4|10) \[/, 'resumed, not restarted');
}

const firstTask = (out: string) =>
  join(out, 'tasks', readdirSync(join(out, 'tasks')).find((f) => f.startsWith('0000-') && f.endsWith('.json'))!);

let local = '';
test('local executor: every grid point trained and evaluated in two worker processes; a rerun reuses them all', () => {
  local = join(base, 'local');
  const r = spawnSync(process.execPath, [bin, ...grid(local, 2, 'standard,pgd', '--parallel', '2')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  // With more than one worker, each writes only its task's log; the command prints a line per start and end.
  for (const name of ['0000-method-standard', '0001-method-pgd']) {
    assert.match(readFileSync(join(local, 'tasks', `${name}.log`), 'utf8'), /wrote .*eval\.json/);
    assert.match(r.stderr, new RegExp(`${name.slice(5)}: worker done in`));
  }
  assert.doesNotMatch(r.stderr, /epoch 1\/2 \[/);
  const results = JSON.parse(readFileSync(join(local, 'results.json'), 'utf8'));
  assert.deepEqual(
    results.rows.map((row: { name: string }) => row.name),
    ['method-standard', 'method-pgd'],
  );
  for (const row of results.rows) assert.ok(row.clean >= 0 && row.clean <= 1 && row.attacks.length === 2);
  const manifest = JSON.parse(readFileSync(join(local, 'manifest.json'), 'utf8'));
  assert.equal(manifest.tasks[1].train.method, 'pgd');
  const again = spawnSync(process.execPath, [bin, ...grid(local, 2, 'standard,pgd')], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr.slice(-2000));
  assert.equal((again.stderr.match(/finished \(reused\)/g) ?? []).length, 2);
  assert.doesNotMatch(again.stderr, /started \(worker/);
});

test('local executor: a killed worker is started again and its task resumes from the checkpoint', async () => {
  const out = join(base, 'local-killed');
  const run = start(grid(out, 4, 'standard'));
  const runDir = join(out, 'run');
  // Kill the worker once its first epoch is checkpointed, while it trains the second.
  await until('the first checkpoint', () => checkpointed(runDir));
  assert.ok(!existsSync(join(runDir, 'summary.json')), 'the run must still be training when its worker is killed');
  const { attempts } = JSON.parse(readFileSync(firstTask(out), 'utf8'));
  process.kill(attempts[0].pid, 'SIGKILL');
  const code = await run.done;
  assert.equal(code, 0, run.stderr().slice(-3000));
  assert.match(run.stderr(), /worker killed by SIGKILL after .*; starting it again \(retry 1 of 2\), it resumes/);
  assertResumed(readFileSync(firstTask(out).replace(/\.json$/, '.log'), 'utf8'));
  assert.equal(JSON.parse(readFileSync(firstTask(out), 'utf8')).attempts.length, 2);
  assert.ok(existsSync(join(runDir, 'summary.json')) && existsSync(join(out, 'results.json')));
});

test('local executor: killed itself, its rerun waits for the worker left running, then finishes the suite', async () => {
  const out = join(base, 'local-executor-killed');
  const run = start(grid(out, 6, 'standard'));
  const runDir = join(out, 'run');
  await until('the first checkpoint', () => checkpointed(runDir));
  const worker = JSON.parse(readFileSync(firstTask(out), 'utf8')).attempts[0].pid;
  run.child.kill('SIGKILL');
  await run.done;
  assert.ok(!existsSync(join(runDir, 'summary.json')), 'the worker is still training when its executor dies');
  const again = spawnSync(process.execPath, [bin, ...grid(out, 6, 'standard')], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr.slice(-3000));
  assert.match(again.stderr, new RegExp(`run: waiting for worker pid ${worker}, left running by an earlier invocation`));
  // The orphan finished the run; the rerun started no second writer and only summarised.
  assert.doesNotMatch(again.stderr, /started \(worker/);
  assert.equal(JSON.parse(readFileSync(firstTask(out), 'utf8')).attempts.length, 1);
  assert.ok(existsSync(join(out, 'results.json')));
});

test('k8s executor: the Jobs’ pods, each run as its container command with its index, finish the suite; the rerun summarises', () => {
  assert.ok(local, 'the local test ran first');
  // Kubernetes runs the container's command in workingDir (the claim's folder) with JOB_COMPLETION_INDEX set; here the
  // temp folder stands for the claim and each pod is one process, index by index, wave by wave.
  const k8s = [...grid('suite', 2, 'standard,pgd'), '--executor', 'k8s', '--image', 'registry.example/advlab:test'];
  const first = spawnSync(process.execPath, [bin, ...k8s], { encoding: 'utf8', cwd: base });
  assert.equal(first.status, 0, first.stderr.slice(-3000));
  assert.match(first.stdout, /2 of 2 tasks to run\. Wrote 1 Indexed Job/);
  assert.ok(!existsSync(join(base, 'suite', 'results.json')), 'no summary before the Jobs ran');
  const job = parse(readFileSync(join(base, 'suite', 'k8s', 'job-wave-0.yaml'), 'utf8'));
  const container = job.spec.template.spec.containers[0];
  assert.deepEqual(container.command.slice(0, 2), ['node', '/opt/advlab/packages/cli/bin/advlab.js']);
  for (let index = 0; index < job.spec.completions; index++) {
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    const pod = spawnSync(process.execPath, [bin, ...container.command.slice(2)], {
      encoding: 'utf8',
      cwd: base,
      env: { ...process.env, ...env, JOB_COMPLETION_INDEX: String(index) },
    });
    assert.equal(pod.status, 0, pod.stderr.slice(-3000));
  }
  const again = spawnSync(process.execPath, [bin, ...k8s], { encoding: 'utf8', cwd: base });
  assert.equal(again.status, 0, again.stderr.slice(-3000));
  assert.equal((again.stderr.match(/finished \(reused\)/g) ?? []).length, 2);
  assert.deepEqual(figures(join(base, 'suite')), figures(local));
});

// --- Slurm -------------------------------------------------------------------------------------------------------

const slurmDir = join(base, 'slurm-daemons');
let slurmEnv: NodeJS.ProcessEnv | undefined;
let whyNoSlurm = '';
let startedHere = false;

before(() => {
  const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  if (process.env.SLURM_CONF && spawnSync('sinfo', ['-h']).status === 0) {
    slurmEnv = process.env; // a Slurm already running (a developer's, or CI's own)
    return;
  }
  if (!have('sbatch') || !have('slurmctld') || !have('slurmd') || !have('munged')) {
    whyNoSlurm = "Debian's slurm-wlm and munge are not installed (apt-get install slurm-wlm munge; .ci/run installs them)";
    return;
  }
  if (process.getuid?.() !== 0) {
    whyNoSlurm = 'starting slurmctld and slurmd on localhost needs root';
    return;
  }
  const r = spawnSync('bash', [slurmScript, 'start', slurmDir], { encoding: 'utf8', env: { ...process.env, SLURM_LOCAL_CPUS: '2' } });
  if (r.status !== 0) throw new Error(`scripts/slurm-localhost.sh start failed:\n${r.stdout}\n${r.stderr}`);
  startedHere = true;
  slurmEnv = { ...process.env, SLURM_CONF: join(slurmDir, 'slurm.conf') };
});

after(() => {
  if (startedHere) spawnSync('bash', [slurmScript, 'stop', slurmDir]);
});

test('slurm executor: the same grid through a job array gives the local executor’s results', (t) => {
  if (!slurmEnv) return t.skip(whyNoSlurm);
  assert.ok(local, 'the local test ran first');
  const out = join(base, 'slurm');
  const r = spawnSync(
    process.execPath,
    [bin, ...grid(out, 2, 'standard,pgd', '--executor', 'slurm', '--poll', '0.5', '--cpus-per-task', '1')],
    {
      encoding: 'utf8',
      env: slurmEnv,
    },
  );
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, /slurm: submitted job array \d+ \(2 tasks\)/);
  assert.match(r.stderr, /method-pgd: COMPLETED/);
  // Each element ran under its own attempt name, and wrote its output where the executor says.
  const attempts = JSON.parse(readFileSync(firstTask(out), 'utf8')).attempts;
  assert.match(attempts[0].job, /^slurm \d+_0$/);
  assert.deepEqual(figures(out), figures(local));
});

test('slurm executor: a cancelled array element is submitted again and resumes its run', async (t) => {
  if (!slurmEnv) return t.skip(whyNoSlurm);
  const out = join(base, 'slurm-cancelled');
  const run = start(grid(out, 4, 'standard', '--executor', 'slurm', '--poll', '0.5'), slurmEnv);
  const runDir = join(out, 'run');
  await until('the first checkpoint', () => checkpointed(runDir));
  assert.ok(!existsSync(join(runDir, 'summary.json')), 'the run must still be training when it is cancelled');
  const job = /^slurm (\d+_\d+)$/.exec(JSON.parse(readFileSync(firstTask(out), 'utf8')).attempts[0].job)![1]!;
  execFileSync('scancel', [job], { env: slurmEnv });
  const code = await run.done;
  assert.equal(code, 0, run.stderr().slice(-3000));
  assert.match(run.stderr(), /run: CANCELLED, exit \S+; submitting it again \(retry 1 of 2\), it resumes/);
  const attempts = JSON.parse(readFileSync(firstTask(out), 'utf8')).attempts;
  assert.equal(attempts.length, 2);
  assert.notEqual(attempts[0].job, attempts[1].job);
  const second = /^slurm (\d+_\d+)$/.exec(attempts[1].job)![1]!;
  assertResumed(readFileSync(join(out, 'slurm', `${second}.out`), 'utf8'));
  assert.ok(existsSync(join(out, 'results.json')));
});
