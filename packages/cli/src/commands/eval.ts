import { evaluateRobustness, getAttack, type EvaluationReport } from '@advlab/core';
import { writeFileAtomic } from '@advlab/node';
import { COMMON, num, numList, parse, positiveInt, required, str } from '../args.ts';
import { ProgressBar } from '../progress.ts';
import { checkCompatible, datasetFor, normOf, openModel, seedOf, selectBackend } from '../context.ts';
import { formatReport } from '../table.ts';

export const evalHelp = `advlab eval --model DIR [--attacks fgsm,pgd,apgd-ce,apgd-t] [--eps 0.1[,0.2...]] [--norm linf|l2|l1]
            [--n 1000] [--json FILE] [--steps 20] [--restarts 1] [--apgd-steps 100] [--apgd-targets 9] [--no-worst-case]
            [--final-iterate] [--data SPEC] [--batch-size 256] [--seed S] [--backend ...]
  Clean and robust accuracy on the first n test examples (unshuffled), per attack and ε, per class, and
  the per-example worst case (with APGD-CE then APGD-T on the survivors), with sanity checks.
  --final-iterate: the PGD family counts only each restart's last iterate, as torchattacks and most papers
  do (default: an example is broken if any iterate fools the model).`;

/** Flags → per-attack configs: --steps/--restarts for the PGD family, --apgd-steps for APGD. */
function attackConfig(v: Record<string, unknown>): Record<string, object> {
  const steps = num(v.steps, '--steps', 20, positiveInt, 'an integer ≥ 1');
  const restarts = num(v.restarts, '--restarts', 1, positiveInt, 'an integer ≥ 1');
  const apgdSteps = num(v['apgd-steps'], '--apgd-steps', 100, positiveInt, 'an integer ≥ 1');
  const targetClasses = num(v['apgd-targets'], '--apgd-targets', 9, positiveInt, 'an integer ≥ 1');
  const finalIterate = v['final-iterate'] === true;
  const cfg: Record<string, object> = {};
  for (const a of ['pgd', 'bim', 'mi-fgsm']) cfg[a] = { steps, restarts, ...(finalIterate ? { finalIterate } : {}) };
  for (const a of ['apgd-ce', 'apgd-dlr']) cfg[a] = { steps: apgdSteps, restarts };
  cfg['apgd-t'] = { steps: apgdSteps, restarts, targetClasses };
  return cfg;
}

export async function evaluate(argv: string[]): Promise<EvaluationReport> {
  const v = parse(argv, {
    ...COMMON,
    model: { type: 'string' },
    attacks: { type: 'string' },
    eps: { type: 'string' },
    norm: { type: 'string' },
    n: { type: 'string' },
    json: { type: 'string' },
    steps: { type: 'string' },
    restarts: { type: 'string' },
    'apgd-steps': { type: 'string' },
    'apgd-targets': { type: 'string' },
    'no-worst-case': { type: 'boolean' },
    'final-iterate': { type: 'boolean' },
    data: { type: 'string' },
    'batch-size': { type: 'string' },
  });
  const dir = required(v.model, '--model', 'a model folder');
  const seed = seedOf(v.seed);
  const attacks = str(v.attacks, 'fgsm,pgd')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  attacks.forEach(getAttack); // unknown names fail here, before any loading
  const eps = numList(v.eps, '--eps', [0.1]);
  const norm = normOf(v.norm);
  const nFlag = v.n === undefined ? undefined : num(v.n, '--n', 1000, positiveInt, 'an integer ≥ 1');
  const batchSize = num(v['batch-size'], '--batch-size', 256, positiveInt, 'an integer ≥ 1');
  const config = attackConfig(v);
  await selectBackend(v.backend);
  const { classifier, meta } = await openModel(dir);
  const data = datasetFor(v.data, meta, seed);
  checkCompatible(classifier, data);
  // An explicit --n larger than the test set is an error; the default takes what there is, up to 1000.
  const n = nFlag ?? Math.min(1000, data.test.n);
  let bar: ProgressBar | undefined;
  let stage = '';
  const { report } = evaluateRobustness(
    classifier,
    data.test,
    {
      attacks,
      eps,
      norm,
      n,
      batchSize,
      seed,
      worstCase: !v['no-worst-case'],
      attackConfig: config,
      onProgress: (p) => {
        if (p.stage !== stage) [stage, bar] = [p.stage, new ProgressBar(p.stage)];
        bar!.update(p.done, p.total);
      },
    },
    data.name,
  );
  report.model = dir;
  process.stdout.write(`${formatReport(report, data.classNames)}\n`);
  if (v.json) {
    writeFileAtomic(String(v.json), `${JSON.stringify({ ...report, class_names: data.classNames }, null, 2)}\n`);
    process.stdout.write(`wrote ${v.json}\n`);
  }
  return report;
}
