import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkOutput, datasetFolders, writeFileAtomic } from '@advlab/node';
import { RunCorruptError, option } from '@advlab/core';
import { helpText, parseFlags } from '../flags.ts';
import { backendOption, dataOption, seedOption } from '../options.ts';
import { datasetFor, fooledGrid, openModel } from '../context.ts';
import { trainRun } from './train.ts';
import { evaluateModel } from './eval.ts';

const USAGE = 'advlab demo [--epochs 2] [--out out/demo] [--n 1000] [options]';

const ABOUT = `The main job: train wong-cnn on Fashion-MNIST (skipped when OUT/run already holds a finished run; an
interrupted one resumes), evaluate clean / FGSM / PGD-20 / worst case at ε = 0.1 on the first n test images,
write OUT/eval.json and OUT/fooled.png (clean | perturbation | adversarial for fooled examples).
A rerun replaces OUT/eval.json and OUT/fooled.png, the demo's own outputs (no --force needed).`;

export const DEMO_OPTIONS = {
  epochs: option.integer({ min: 1, default: 2, help: 'training epochs' }),
  out: option.string({ default: 'out/demo', placeholder: 'DIR', expected: 'a folder', help: 'where the run, eval.json and fooled.png go' }),
  n: option.integer({ min: 1, default: 1000, help: 'evaluate the first N test images' }),
  data: dataOption,
  seed: seedOption,
  backend: backendOption,
};

export const demoHelp = helpText(USAGE, ABOUT, DEMO_OPTIONS);

export async function demo(argv: string[]): Promise<void> {
  const { values: v, given } = parseFlags(argv, DEMO_OPTIONS);
  const { out, epochs, n, backend } = v;
  const shared = { ...(given.includes('seed') ? { seed: v.seed } : {}), ...(v.data !== undefined ? { data: v.data } : {}) };
  checkOutput({ path: out, kind: 'directory', key: 'out', inputs: datasetFolders(v.data) });
  const runDir = join(out, 'run');
  // A finished run leaves summary.json; an interrupted one resumes from its last checkpoint.
  const summaryPath = join(runDir, 'summary.json');
  if (existsSync(summaryPath) && finishedEpochs(summaryPath) === epochs) {
    process.stderr.write(`using the model already trained in ${runDir} (delete it to retrain)\n`);
  } else if (existsSync(join(runDir, 'config.json'))) {
    await trainRun({ resume: runDir, backend });
  } else {
    await trainRun({ config: { model: 'wong-cnn', epochs, ...shared }, out: runDir, backend });
  }
  const modelDir = runDir;
  const report = await evaluateModel({
    model: modelDir,
    attacks: ['fgsm', 'pgd'],
    eps: [0.1],
    steps: 20,
    n,
    json: join(out, 'eval.json'),
    force: true, // the demo's own output: a rerun replaces it
    ...shared,
    backend,
  });
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

/** The epochs of a finished run's summary.json; a damaged one is E_RUN_CORRUPT naming it. */
function finishedEpochs(summaryPath: string): unknown {
  try {
    return (JSON.parse(readFileSync(summaryPath, 'utf8')) as { epochs?: unknown } | null)?.epochs;
  } catch (e) {
    throw new RunCorruptError(summaryPath, 'the JSON summary of a finished run (delete the run folder to retrain)', (e as Error).message);
  }
}
