import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@advlab/node';
import { COMMON, num, parse, positiveInt, str } from '../args.ts';
import { datasetFor, fooledGrid, openModel } from '../context.ts';
import { train } from './train.ts';
import { evaluate } from './eval.ts';

export const demoHelp = `advlab demo [--epochs 2] [--out out/demo] [--n 1000] [--backend ...]
  The main job: train wong-cnn on Fashion-MNIST (skipped when OUT/run already holds a finished run; an interrupted one resumes),
  evaluate clean / FGSM / PGD-20 / worst case at ε = 0.1 on the first n test images, write
  OUT/eval.json and OUT/fooled.png (clean | perturbation | adversarial for fooled examples).`;

export async function demo(argv: string[]): Promise<void> {
  const v = parse(argv, {
    ...COMMON,
    epochs: { type: 'string' },
    out: { type: 'string' },
    n: { type: 'string' },
    data: { type: 'string' },
  });
  const out = str(v.out, 'out/demo');
  const epochs = num(v.epochs, '--epochs', 2, positiveInt, 'an integer ≥ 1');
  const n = num(v.n, '--n', 1000, positiveInt, 'an integer ≥ 1');
  const common = [
    ...(v.backend ? ['--backend', String(v.backend)] : []),
    ...(v.seed ? ['--seed', String(v.seed)] : []),
    ...(v.data ? ['--data', String(v.data)] : []),
  ];
  const runDir = join(out, 'run');
  // A finished run leaves summary.json; an interrupted one resumes from its last checkpoint.
  const summaryPath = join(runDir, 'summary.json');
  if (existsSync(summaryPath) && JSON.parse(readFileSync(summaryPath, 'utf8')).epochs === epochs) {
    process.stderr.write(`using the model already trained in ${runDir} (delete it to retrain)\n`);
  } else if (existsSync(join(runDir, 'config.json'))) {
    await train(['--resume', runDir, ...(v.backend ? ['--backend', String(v.backend)] : [])]);
  } else {
    await train(['--model', 'wong-cnn', '--epochs', String(epochs), '--out', runDir, ...common]);
  }
  const modelDir = runDir;
  const report = await evaluate([
    '--model',
    modelDir,
    '--attacks',
    'fgsm,pgd',
    '--eps',
    '0.1',
    '--steps',
    '20',
    '--n',
    String(n),
    '--json',
    join(out, 'eval.json'),
    ...common,
  ]);
  const { classifier, meta } = await openModel(modelDir);
  const data = datasetFor(v.data, meta, 0);
  const grid = fooledGrid(classifier, data.test, data.classNames, 'pgd', 'linf', 0.1, { rows: 8, scan: 256, config: { steps: 20 } });
  if (grid.shown > 0) {
    writeFileAtomic(join(out, 'fooled.png'), grid.png);
    process.stdout.write(`wrote ${join(out, 'fooled.png')}: ${grid.shown} of ${grid.fooled} fooled examples among the first 256\n`);
  }
  process.stdout.write(
    `clean ${(100 * report.clean_accuracy).toFixed(1)}% → worst case ${(100 * report.worst_case.robust_accuracy).toFixed(1)}% at ε = 0.1 (${out}/eval.json)\n`,
  );
}
