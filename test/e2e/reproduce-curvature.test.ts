// `advlab reproduce --only curvature,sophia` (issue 13): the smoke version of the curvature and Sophia groups, run
// by the built binary. At this size (an MLP, 256 examples × 2 epochs) catastrophic overfitting may or may not
// happen, so the test asserts the structure, the types, where each number comes from, and that the lead times
// agree with the onsets they are made of, not any finding.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { experimentsOf, selectProfile, trainConfig } from '../../packages/cli/src/reproduce/suite.ts';

const bin = join(import.meta.dirname, '../../packages/cli/bin/advlab.js');
const out = join(mkdtempSync(join(tmpdir(), 'advlab-reproduce-curvature-')), 'suite');
after(() => rmSync(dirname(out), { recursive: true, force: true }));
const reproduce = () =>
  spawnSync(process.execPath, [bin, 'reproduce', '--smoke', '--only', 'curvature,sophia', '--out', out], {
    encoding: 'utf8',
  });
const RUNS = ['co-fgsm-e0.2-s0', 'cm-elle-e0.2-s0', 'cm-pgd-e0.2-s0', 'opt-adam-fgsm-e0.2-s0', 'opt-sophia-fgsm-e0.2-s0'];
const SIGNALS = ['linearity_error', 'input_top_eigenvalue', 'elle', 'cure'];
const RULES = ['fgsm-pgd-gap', 'alignment-collapse'];
const inRange = (v: number) => Number.isFinite(v) && v >= 0 && v <= 1;
const readJson = (...path: string[]) => JSON.parse(readFileSync(join(out, ...path), 'utf8'));
const heldOut = (run: string) =>
  readFileSync(join(out, run, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((l) => l.event === undefined);

interface Lead {
  signal: string;
  signalStep?: number;
  rule: string;
  ruleStep?: number;
  leadBatches?: number;
}

test('the seeded groups: 3 seeds at 30000 × 5 in --full, 1 seed at 10000 × 2 in --quick, only when selected', () => {
  const groups = ['curvature', 'sophia'] as const;
  const seeded = (name: 'full' | 'quick' | 'smoke') => experimentsOf(selectProfile(name, groups)).filter((e) => e.seed !== undefined);
  assert.equal(seeded('full').length, 45);
  assert.equal(seeded('quick').length, 15);
  for (const name of ['full', 'quick', 'smoke'] as const) {
    assert.deepEqual(
      experimentsOf(selectProfile(name)).filter((e) => e.seed !== undefined),
      [],
      `--${name} alone runs the seed's findings only`,
    );
  }
  assert.deepEqual(
    experimentsOf(selectProfile('smoke', ['curvature', 'sophia'])).map((e) => e.name),
    RUNS,
  );
  const full = selectProfile('full', groups);
  const co = seeded('full').find((e) => e.name === 'co-fgsm-e0.2-s1')!;
  assert.deepEqual(trainConfig(co, full), {
    model: 'wong-cnn',
    epochs: 5,
    limit: 30000,
    heldOut: 1000,
    method: 'fgsm',
    eps: 0.2,
    seed: 1,
    evalEvery: 20,
  });
  // The curvature group is measured 6× as often as the profile's other runs; the Sophia group at the profile's rate.
  assert.equal(trainConfig(seeded('quick').find((e) => e.name === 'cm-pgd-e0.2-s0')!, selectProfile('quick')).evalEvery, 10);
  assert.equal(trainConfig(seeded('full').find((e) => e.name === 'opt-adam-pgd-e0.1-s2')!, full).evalEvery, 117);
  const quick = seeded('quick').find((e) => e.name === 'opt-sophia-pgd-e0.1-s0')!;
  assert.deepEqual(trainConfig(quick, selectProfile('quick')), {
    model: 'wong-cnn',
    epochs: 2,
    limit: 10000,
    heldOut: 500,
    method: 'pgd',
    eps: 0.1,
    steps: 7,
    optimizer: 'sophia',
    seed: 0,
    evalEvery: 40,
  });
  // A selection narrows the profile and records it; so does the default (the seed's findings only).
  assert.equal(full.only?.length, 45);
  assert.equal(selectProfile('full').only?.length, 14);
  assert.ok(experimentsOf(selectProfile('full', ['sophia'])).every((e) => e.name.startsWith('opt-')));
});

test('advlab reproduce --smoke --only curvature,sophia: the three summaries from real runs, and a rerun reuses them', () => {
  const first = reproduce();
  assert.equal(first.status, 0, first.stderr.slice(-2000));
  for (const run of RUNS) assert.ok(existsSync(join(out, run, 'summary.json')) && existsSync(join(out, run, 'eval.json')), run);
  assert.ok(!existsSync(join(out, 'standard-e0.1')), 'only the selected experiments run');
  for (const run of RUNS) {
    const c = readJson(run, 'config.json');
    assert.deepEqual([c.seed, c.epochs, c.limit, c.evalEvery], [0, 2, 256, 1], run);
  }
  assert.equal(readJson('opt-sophia-fgsm-e0.2-s0', 'config.json').optimizer, 'sophia');

  const r = readJson('results.json');
  assert.deepEqual(r.missing, []);
  assert.deepEqual(r.profile.only, RUNS);
  assert.deepEqual([r.tradeoff, r.co, r.frontier.points], [[], [], []]);

  // Lead times: one CO run; each signal judged at its largest value on the runs that did not overfit.
  const c = r.curvatureCo;
  assert.deepEqual([c.size, c.seeds, c.eps, c.rules], [{ epochs: 2, limit: 256 }, [0], 0.2, RULES]);
  const healthy = ['cm-elle-e0.2-s0', 'cm-pgd-e0.2-s0'].filter((run) => !heldOut(run).some((l) => l.co) && !heldOut(run).at(-1).at_chance);
  assert.deepEqual(c.healthyRuns, healthy);
  assert.deepEqual(
    c.ceilings.map((f: { signal: string }) => f.signal),
    SIGNALS,
  );
  for (const f of c.ceilings) {
    const values = healthy.flatMap((run) => heldOut(run).map((l) => l[f.signal])).filter((v) => typeof v === 'number');
    assert.equal(f.ceiling, values.length ? Math.max(...values) : undefined, f.signal);
  }
  const judged = c.ceilings.filter((f: { ceiling?: number }) => f.ceiling !== undefined).map((f: { signal: string }) => f.signal);
  assert.equal(c.runs.length, 1);
  const run = c.runs[0];
  assert.deepEqual([run.run, run.method, run.seed], ['co-fgsm-e0.2-s0', 'FGSM AT (ε=0.2)', 0]);
  const lines = heldOut('co-fgsm-e0.2-s0');
  const steps = lines.map((l) => l.step);
  assert.equal(steps.length, 4, 'two held-out lines per epoch');
  for (const [rule, step] of Object.entries(run.ruleSteps)) assert.ok(RULES.includes(rule) && steps.includes(step), `${rule} at ${step}`);
  assert.equal(run.leads.length, judged.length * RULES.length);
  for (const l of run.leads as Lead[]) {
    assert.ok(judged.includes(l.signal) && RULES.includes(l.rule));
    assert.equal(l.ruleStep, run.ruleSteps[l.rule]);
    const ceiling = c.ceilings.find((f: { signal: string }) => f.signal === l.signal).ceiling;
    assert.equal(l.signalStep, lines.find((x) => x[l.signal] > ceiling)?.step, 'the onset: the first line above the ceiling');
    if (l.signalStep !== undefined && l.ruleStep !== undefined) assert.equal(l.leadBatches, l.ruleStep - l.signalStep);
    else assert.equal(l.leadBatches, undefined);
  }
  assert.equal(c.tally.length, judged.length * RULES.length);
  for (const t of c.tally) assert.equal(t.led + t.tied + t.lagged + t.signalOnly + t.ruleOnly + t.neither, 1, JSON.stringify(t));

  // Curvature methods: one row per recipe, the numbers the evaluations'.
  const m = r.curvatureMethods;
  assert.deepEqual([m.size, m.seeds], [{ epochs: 2, limit: 256 }, [0]]);
  assert.deepEqual(
    m.rows.map((x: { group: string; passes: number }) => [x.group, x.passes]),
    [
      ['cm-elle-e0.2', 5],
      ['cm-pgd-e0.2', 8],
    ],
  );
  for (const row of m.rows) {
    const [seed] = row.perSeed;
    const ev = readJson(seed.run, 'eval.json');
    assert.equal(seed.clean, ev.clean_accuracy);
    assert.equal(seed.worstCase, ev.worst_case_by_eps.find((w: { eps: number }) => w.eps === 0.2).robust_accuracy);
    assert.ok(inRange(seed.clean) && inRange(seed.pgd20) && inRange(seed.worstCase) && seed.worstCase <= seed.pgd20, JSON.stringify(seed));
    assert.deepEqual(
      [row.clean, row.pgd20, row.worstCase],
      [{ mean: seed.clean }, { mean: seed.pgd20 }, { mean: seed.worstCase }],
      'one seed: no sd',
    );
    assert.ok(row.secondsPerEpoch > 0 && row.coSeeds === (seed.co ? 1 : 0));
  }

  // Sophia against Adam: the target is 0.9 × Adam's best held-out PGD-10, reached at the first line that meets it.
  const s = r.sophia;
  assert.deepEqual([s.size, s.seeds, s.targetShare], [{ epochs: 2, limit: 256 }, [0], 0.9]);
  assert.equal(s.tasks.length, 1);
  const [task] = s.tasks;
  assert.deepEqual([task.task, task.eps], ['FGSM AT (ε=0.2)', 0.2]);
  assert.deepEqual(
    task.rows.map((x: { optimizer: string }) => x.optimizer),
    ['adam', 'sophia'],
  );
  const adamBest = Math.max(...heldOut('opt-adam-fgsm-e0.2-s0').map((l) => l.pgd_acc));
  assert.equal(task.target, 0.9 * adamBest);
  for (const row of task.rows) {
    const [seed] = row.perSeed;
    const lines = heldOut(seed.run);
    assert.equal(seed.bestPgd10, Math.max(...lines.map((l) => l.pgd_acc)));
    assert.equal(seed.stepsToTarget, lines.find((l) => l.pgd_acc >= task.target)?.step);
    assert.equal(row.reachedTarget, seed.stepsToTarget === undefined ? 0 : 1);
    assert.ok(inRange(row.clean.mean) && inRange(row.pgd20.mean) && inRange(row.worstCase.mean) && row.secondsPerEpoch > 0);
    if (row.optimizer === 'adam') assert.equal(row.unclipped, undefined);
    else {
      const u = row.unclipped;
      assert.ok(inRange(u.min) && u.min <= u.median && u.median <= u.max && u.max <= 1, JSON.stringify(u));
    }
  }

  const md = readFileSync(join(out, 'results.md'), 'utf8');
  for (const h of ['## Curvature signals ahead of catastrophic overfitting', '## Curvature-regularised training', '## Sophia against Adam'])
    assert.ok(md.includes(h), h);
  assert.ok(!md.includes('## Trade-off'), 'no table for a finding that was not selected');
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const id of ['t-curvature-co', 't-curvature-methods', 't-sophia']) assert.ok(html.includes(`id="${id}"`), id);

  const again = reproduce();
  assert.equal(again.status, 0, again.stderr.slice(-2000));
  assert.equal((again.stderr.match(/finished \(reused\)/g) ?? []).length, RUNS.length);
  assert.doesNotMatch(again.stderr, /: training|: evaluating/);
});

test('advlab reproduce --only refuses an unknown finding, naming the flag and the valid ones', () => {
  const r = spawnSync(process.execPath, [bin, 'reproduce', '--smoke', '--only', 'curvature,speed', '--out', join(out, 'refused')], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /E_CONFIG.*--only/);
  for (const f of ['tradeoff', 'co', 'fairness', 'frontier', 'curvature', 'sophia']) assert.match(r.stderr, new RegExp(f));
  assert.ok(!existsSync(join(out, 'refused')));
});
