import { ConfigError, option } from '@advlab/core';
import { checkOutput, datasetFolders } from '@advlab/node';
import { helpText, parseFlags } from '../flags.ts';
import { backendOption } from '../options.ts';
import { formatSeconds } from '../progress.ts';
import { reproduce as runSuite } from '../reproduce/run.ts';
import { EXPERIMENTS, PROFILES, type ProfileName } from '../reproduce/suite.ts';

const USAGE = 'advlab reproduce [--quick | --full] [--out DIR] [--backend ...]';

const ABOUT = `Reproduces the seed's findings on Fashion-MNIST: the trade-off table (standard vs PGD-7 vs PGD-20 AT),
catastrophic overfitting (FGSM, FGSM-RS, GradAlign, PGD at a large ε), per-class and minority-class
robustness, the clean–robust frontier (ε and TRADES β sweeps) and the Danskin check. One run directory
per experiment (${EXPERIMENTS.length} of them) in DIR (default out/reproduce-quick or out/reproduce-full); finished
runs are reused, interrupted ones resumed. Writes DIR/results.md, results.json and report.html.`;

export const REPRODUCE_OPTIONS = {
  quick: option.boolean({
    help: `${PROFILES.quick.limit} examples × ${PROFILES.quick.epochs} epochs per run, under 15 min on 2 cores (the default)`,
  }),
  full: option.boolean({ help: `60000 examples × ${PROFILES.full.epochs} epochs per run, under 2 h` }),
  smoke: option.boolean({ help: 'a few tiny runs, for tests' }),
  out: option.string({
    optional: true,
    placeholder: 'DIR',
    expected: 'a folder',
    help: 'where the runs and results go (default out/reproduce-PROFILE)',
  }),
  backend: backendOption,
};

export const reproduceHelp = helpText(USAGE, ABOUT, REPRODUCE_OPTIONS);

export async function reproduce(argv: string[]) {
  const { values: v } = parseFlags(argv, REPRODUCE_OPTIONS);
  const chosen = (['quick', 'full', 'smoke'] as const).filter((p) => v[p]);
  if (chosen.length > 1) throw new ConfigError(`--${chosen[1]}`, 'one of --quick, --full', chosen.map((p) => `--${p}`).join(' and '));
  const name: ProfileName = chosen[0] ?? 'quick';
  const out = v.out ?? `out/reproduce-${name}`;
  checkOutput({ path: out, kind: 'directory', key: 'out', inputs: datasetFolders(undefined) }); // the suite reads the default Fashion-MNIST
  const t0 = performance.now();
  const { results, files } = await runSuite({
    profile: PROFILES[name],
    out,
    backend: v.backend,
    log: (m) => process.stderr.write(`reproduce: ${m}\n`),
  });
  process.stdout.write(
    `\nreproduce --${name}: ${formatSeconds((performance.now() - t0) / 1000)}${results.missing.length ? `; missing: ${results.missing.join(', ')}` : ''}\n${files.map((f) => `wrote ${f}`).join('\n')}\n`,
  );
  return results;
}
