import { ConfigError, option } from '@advlab/core';
import { checkOutput, datasetFolders } from '@advlab/node';
import { helpText, parseFlags } from '../flags.ts';
import { backendOption } from '../options.ts';
import { formatSeconds } from '../progress.ts';
import { checkExecutorFlags, EXECUTOR_OPTIONS } from '../cluster/options.ts';
import { reproduce as runSuite } from '../reproduce/run.ts';
import {
  experimentsOf,
  FINDINGS,
  PROFILES,
  SEEDED_SIZE,
  SEEDS,
  selectProfile,
  type Finding,
  type ProfileName,
} from '../reproduce/suite.ts';

const USAGE = `advlab reproduce [--quick | --full] [--only ${FINDINGS.join(',')}] [--out DIR] [--executor local|slurm|k8s] [--parallel N] [--backend ...]`;

const seededSize = (name: 'full' | 'quick') =>
  `${SEEDED_SIZE[name].limit} × ${SEEDED_SIZE[name].epochs}, ${SEEDS[name].length} seed${SEEDS[name].length === 1 ? '' : 's'}`;

const ABOUT = `Reproduces the seed's findings on Fashion-MNIST: the trade-off table (standard vs PGD-7 vs PGD-20 AT),
catastrophic overfitting (FGSM, FGSM-RS, GradAlign, PGD at a large ε), per-class and minority-class
robustness, the clean–robust frontier (ε and TRADES β sweeps) and the Danskin check; then issue 13's groups:
whether held-out curvature measures warn of catastrophic overfitting (FGSM and FGSM-RS at ε = 0.2) before the
CO monitor's rules, and curvature-regularised training (ELLE, ELLE-A, CURE, LLR) against GradAlign and PGD-7
AT at ε = 0.2 (finding curvature); Sophia against Adam on PGD-7 AT at ε = 0.1 and FGSM AT at ε = 0.2 (finding
sophia). Those two groups run at their own size (examples × epochs): ${seededSize('full')} in --full,
${seededSize('quick')} in --quick, and only when selected: --only curvature,sophia (by default the seed's four
findings run). Issue 15's group (finding generative): a VAE and one trained adversarially on latent-attack points,
${SEEDS.full.length} seeds in --full, evaluated by AUDDC and judged by standard-e0.1's classifier; only when selected too. One run directory per experiment (${experimentsOf(PROFILES.full).length} in --full with every finding, ${experimentsOf(PROFILES.quick).length} in --quick) in DIR
(default out/reproduce-PROFILE, or out/reproduce-PROFILE-FINDINGS with --only); finished runs are reused,
interrupted ones resumed. Writes DIR/results.md, results.json and report.html for the selected findings.
The experiments are tasks of DIR/manifest.json (train, evaluate, gallery), run by --executor: local worker processes
(default, --parallel at once), a Slurm job array (sbatch; waits, resubmits what failed), or Kubernetes Indexed Jobs
written to DIR/k8s/ for kubectl apply (run the command again once they complete for the summary); docs/cluster.md.`;

export const REPRODUCE_OPTIONS = {
  quick: option.boolean({
    help: `${PROFILES.quick.limit} examples × ${PROFILES.quick.epochs} epochs per run, under 15 min on 2 cores (the default)`,
  }),
  full: option.boolean({
    help: `60000 examples × ${PROFILES.full.epochs} epochs per run, under 2 h (the curvature and sophia groups: their own run, 101 min measured on 2 cores)`,
  }),
  smoke: option.boolean({ help: 'a few tiny runs, for tests (a tiny version of the curvature and sophia groups when they are selected)' }),
  only: option.strings({
    values: FINDINGS,
    optional: true,
    placeholder: 'FINDINGS',
    help: "run and summarise only these findings (default: the seed's four, tradeoff,co,fairness,frontier)",
  }),
  out: option.string({
    optional: true,
    placeholder: 'DIR',
    expected: 'a folder',
    help: 'where the runs and results go (default out/reproduce-PROFILE)',
  }),
  backend: backendOption,
  ...EXECUTOR_OPTIONS,
};

export const reproduceHelp = helpText(USAGE, ABOUT, REPRODUCE_OPTIONS);

export async function reproduce(argv: string[]) {
  const { values: v, given } = parseFlags(argv, REPRODUCE_OPTIONS);
  checkExecutorFlags(v, given);
  const chosen = (['quick', 'full', 'smoke'] as const).filter((p) => v[p]);
  if (chosen.length > 1) throw new ConfigError(`--${chosen[1]}`, 'one of --quick, --full', chosen.map((p) => `--${p}`).join(' and '));
  const name: ProfileName = chosen[0] ?? 'quick';
  // A selection gets its own folder by default, so its results do not replace the whole suite's.
  const out = v.out ?? `out/reproduce-${name}${v.only ? `-${(v.only as string[]).join('-')}` : ''}`;
  checkOutput({ path: out, kind: 'directory', key: 'out', inputs: datasetFolders(undefined) }); // the suite reads the default Fashion-MNIST
  const t0 = performance.now();
  const outcome = await runSuite({
    profile: selectProfile(name, v.only as Finding[] | undefined),
    out,
    backend: v.backend,
    flags: v,
    log: (m) => process.stderr.write(`reproduce: ${m}\n`),
  });
  if ('handedOff' in outcome) {
    process.stdout.write(`reproduce --${name}: ${outcome.handedOff}\n`);
    return undefined;
  }
  const { results, files } = outcome;
  process.stdout.write(
    `\nreproduce --${name}: ${formatSeconds((performance.now() - t0) / 1000)}${results.missing.length ? `; missing: ${results.missing.join(', ')}` : ''}\n${files.map((f) => `wrote ${f}`).join('\n')}\n`,
  );
  return results;
}
