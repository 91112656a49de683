import { ConfigError } from '@advlab/core';
import { COMMON, parse, str } from '../args.ts';
import { formatSeconds } from '../progress.ts';
import { reproduce as runSuite } from '../reproduce/run.ts';
import { EXPERIMENTS, PROFILES, type ProfileName } from '../reproduce/suite.ts';

export const reproduceHelp = `advlab reproduce [--quick | --full] [--out DIR] [--backend ...]
  Reproduces the seed's findings on Fashion-MNIST: the trade-off table (standard vs PGD-7 vs PGD-20 AT),
  catastrophic overfitting (FGSM, FGSM-RS, GradAlign, PGD at a large ε), per-class and minority-class
  robustness, the clean–robust frontier (ε and TRADES β sweeps) and the Danskin check. One run directory
  per experiment (${EXPERIMENTS.length} of them) in DIR (default out/reproduce-quick or out/reproduce-full); finished
  runs are reused, interrupted ones resumed. Writes DIR/results.md, results.json and report.html.
  --quick (default): ${PROFILES.quick.limit} examples × ${PROFILES.quick.epochs} epochs per run (under 15 min on 2 cores); --full: 60000 × ${PROFILES.full.epochs} (under 2 h).`;

export async function reproduce(argv: string[]) {
  const v = parse(argv, {
    ...COMMON,
    quick: { type: 'boolean' },
    full: { type: 'boolean' },
    smoke: { type: 'boolean' },
    out: { type: 'string' },
  });
  const chosen = (['quick', 'full', 'smoke'] as const).filter((p) => v[p]);
  if (chosen.length > 1) throw new ConfigError(`--${chosen[1]}`, 'one of --quick, --full', chosen.map((p) => `--${p}`).join(' and '));
  const name: ProfileName = chosen[0] ?? 'quick';
  const out = str(v.out, `out/reproduce-${name}`);
  const t0 = performance.now();
  const { results, files } = await runSuite({
    profile: PROFILES[name],
    out,
    backend: v.backend === undefined ? undefined : String(v.backend),
    log: (m) => process.stderr.write(`reproduce: ${m}\n`),
  });
  process.stdout.write(
    `\nreproduce --${name}: ${formatSeconds((performance.now() - t0) / 1000)}${results.missing.length ? `; missing: ${results.missing.join(', ')}` : ''}\n${files.map((f) => `wrote ${f}`).join('\n')}\n`,
  );
  return results;
}
