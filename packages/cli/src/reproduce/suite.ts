/**
 * The experiments of `advlab reproduce`: which runs the seed's findings need, at which size.
 *
 * A run is named by what it is (method, ε, variant), so the same name in another suite size or a
 * later session means the same training recipe; the profile adds size (epochs, examples, held-out,
 * evaluation n; the seeded groups of issue 13 have their own epochs and examples) and the runner refuses to
 * reuse a finished run whose config differs.
 */
import type { EvalRequest } from '../commands/eval.ts';

/** The findings `advlab reproduce --only` selects, in the order help lists them. */
export const FINDINGS = ['tradeoff', 'co', 'fairness', 'frontier', 'curvature', 'sophia', 'generative'] as const;
export type Finding = (typeof FINDINGS)[number];

export type ProfileName = 'quick' | 'full' | 'smoke';

/** A run's size: epochs and the first M training examples. */
export interface RunSize {
  epochs: number;
  limit?: number;
}

export interface Experiment {
  name: string;
  findings: Finding[];
  /** The training recipe: run options (size options come from the profile, or from `size`). */
  train: Record<string, unknown>;
  /** The runs of a group differ only in their seed: the group is the name without `-sN`. */
  group?: string;
  /** The training seed (a run option; the seeded groups run the profile's SEEDS). */
  seed?: number;
  /** Per profile, a size that replaces the profile's. */
  size?: Partial<Record<ProfileName, Partial<RunSize>>>;
  /** ε's the final model is evaluated at (clean, FGSM, PGD-20, and the worst case below). */
  evalEps: number[];
  /**
   * The worst case over FGSM, PGD and: 'strong' the profile's worst-case suite (WORST_CASE_SUITE: AutoAttack's
   * standard version in --full; APGD-CE + APGD-T at the profile's steps with 9 target classes otherwise);
   * 'light' APGD-CE + APGD-T at half the steps and the 3 most likely wrong classes; 'pgd' none (FGSM and PGD
   * only). The strong evaluation is what costs most of a --full suite's evaluation time, so it goes where a
   * table reports the worst case.
   */
  evalStrength: 'strong' | 'light' | 'pgd';
  /** Runs that measure FGSM-based training are watched every `evalEvery` batches, not only per epoch. */
  watchClosely?: boolean;
  /** Per profile, how often a closely watched run is measured, replacing the profile's evalEvery. */
  evalEvery?: Partial<Record<ProfileName, number>>;
  /** 'generative': an autoencoder, evaluated by `advlab eval --generative` (GENERATIVE_EVAL) instead of eval.json. */
  evaluation?: 'generative';
}

export interface Profile {
  name: ProfileName;
  epochs: number;
  /** First M training examples (all when undefined). */
  limit?: number;
  heldOut: number;
  /** Held-out measurements every N batches for the closely watched runs. */
  evalEvery: number;
  evalN: number;
  apgdSteps: number;
  pgdSteps: number;
  model: string;
  /** Run only these experiments (the smoke profile's tiny runs, for tests; or the selection of --only). */
  only?: string[];
}

/** The ε of the trade-off table and of the frontier's robust accuracy. */
export const EVAL_EPS = 0.1;
/** The large ε where zero-init FGSM training overfits catastrophically on Fashion-MNIST. */
export const CO_EPS = 0.2;
/** The minority experiment: this class keeps this share of its training examples. */
export const MINORITY = { class: 0, fraction: 0.1 };

const pgd = (eps: number, steps = 7) => ({ method: 'pgd', eps, steps });

/** The seeds of the seeded groups (curvature, sophia) in each profile. */
export const SEEDS: Record<ProfileName, readonly number[]> = { full: [0, 1, 2], quick: [0], smoke: [0] };

/**
 * The size of the seeded groups. At the full profile's size (60 000 examples × 10 epochs) the 45 runs of the
 * curvature and Sophia groups (15 recipes × 3 seeds, most of them several passes per example and watched
 * closely with the held-out curvature measures) would take about 5 hours on 2 cores; at 30 000 × 5 they took
 * 101 minutes (2026-12-02, docs/RESULTS.md), run on their own with
 * `--only curvature,sophia`. --quick: a third of that data for two
 * epochs, one seed. The smoke size gets a second epoch: 4 held-out lines, so the lead-time analysis has a
 * trajectory to time.
 */
export const SEEDED_SIZE = {
  full: { limit: 30000, epochs: 5 },
  quick: { limit: 10000, epochs: 2 },
  smoke: { epochs: 2 },
} as const satisfies Experiment['size'];

type Recipe = Pick<Experiment, 'group' | 'findings' | 'train' | 'evalEps' | 'evalStrength' | 'evalEvery'> & { group: string };

/**
 * The curvature group's held-out lines come 6× as often as the profile's: at 117 batches FGSM training at
 * ε = 0.2 had already crossed the FGSM–PGD gap rule by its second line (step 234 of 1175, the first --full run
 * on 2026-12-02), too coarse to time a warning, and the healthy runs the factors are measured on must be
 * sampled alike.
 */
const CURVATURE_EVAL_EVERY: Partial<Record<ProfileName, number>> = { full: 20, quick: 10 };

/**
 * Issue 13's groups, all watched closely. The CO lead-time runs (FGSM and FGSM-RS at ε = 0.2) need only the
 * held-out lines, so their final models get the cheap evaluation; the methods and optimisers are compared on
 * the worst case.
 */
const SEEDED_RECIPES: readonly Recipe[] = [
  ...(['fgsm', 'fgsm-rs'] as const).map(
    (method): Recipe => ({
      group: `co-${method}-e${CO_EPS}`,
      findings: ['curvature'],
      train: { method, eps: CO_EPS },
      evalEps: [CO_EPS],
      evalStrength: 'pgd',
      evalEvery: CURVATURE_EVAL_EVERY,
    }),
  ),
  ...(
    [
      ['elle', { method: 'elle' }],
      ['elle-a', { method: 'elle-a' }],
      ['cure', { method: 'cure' }],
      // CURE at the published λ_max for ε ≥ 16/255 (50 000) never left chance on this data (the first --full run,
      // 2026-12-02): the same schedule at the published 8/255 value and a decade below.
      ['cure-l1000', { method: 'cure', lambda: 1000 }],
      ['cure-l100', { method: 'cure', lambda: 100 }],
      ['llr', { method: 'llr' }],
      ['gradalign', { method: 'gradalign', lambda: 0.2, fgsmInit: 'zero' }],
      ['gradalign-rs', { method: 'gradalign', lambda: 0.2, fgsmInit: 'random' }],
      ['pgd', pgd(CO_EPS)],
    ] as const
  ).map(
    ([label, train]): Recipe => ({
      group: `cm-${label}-e${CO_EPS}`,
      findings: ['curvature'],
      train: { ...train, eps: CO_EPS },
      evalEps: [CO_EPS],
      evalStrength: 'light',
      evalEvery: CURVATURE_EVAL_EVERY,
    }),
  ),
  ...(['adam', 'sophia'] as const).flatMap((optimizer) =>
    [
      { task: `pgd-e${EVAL_EPS}`, train: pgd(EVAL_EPS) },
      { task: `fgsm-e${CO_EPS}`, train: { method: 'fgsm', eps: CO_EPS } },
    ].map(
      ({ task, train }): Recipe => ({
        group: `opt-${optimizer}-${task}`,
        findings: ['sophia'],
        train: { ...train, optimizer },
        evalEps: [train.eps],
        evalStrength: 'light',
      }),
    ),
  ),
];

/** Seed-major, so an interrupted --full suite has every recipe at seed 0 before it starts seed 1. */
function seededGroups(): Experiment[] {
  return SEEDS.full.flatMap((seed) =>
    SEEDED_RECIPES.map((r) => ({ ...r, name: `${r.group}-s${seed}`, seed, size: SEEDED_SIZE, watchClosely: true })),
  );
}

/**
 * Issue 15's question, what robustness means for a generative model: a VAE trained plainly, one trained
 * adversarially on latent-attack points (PGD-3 at ε = 0.1) and one with a Lipschitz-constrained encoder (every
 * layer's spectral norm capped at 1), per seed, each evaluated over the same seeded pairs
 * (AUDDC of the latent and output attacks' sweeps against the interpolation baseline; success of the budgeted attacks
 * judged by standard-e0.1's classifier; reconstruction). Size: --full all 60 000 images × 5 epochs (about 2 and 4.5
 * minutes of training per seed on 2 cores, 2026-12-03), --quick a sixth of the data for 2 epochs.
 */
export const GENERATIVE_SIZE = {
  full: { epochs: 5 },
  quick: { limit: 10000, epochs: 2 },
  smoke: { epochs: 1 },
} as const satisfies Experiment['size'];

/** The generative evaluation per profile: pairs, the sweep's C count and Adam steps, the judged attacks' PGD steps. */
export const GENERATIVE_EVAL: Record<ProfileName, { pairs: number; cs: number; sweepSteps: number; steps: number; eps: number }> = {
  full: { pairs: 20, cs: 50, sweepSteps: 200, steps: 100, eps: EVAL_EPS },
  quick: { pairs: 10, cs: 20, sweepSteps: 100, steps: 50, eps: EVAL_EPS },
  smoke: { pairs: 3, cs: 3, sweepSteps: 5, steps: 3, eps: EVAL_EPS },
};

/** The classifier that judges the generative models' reconstructions: the trade-off's standard model. */
export const GENERATIVE_JUDGE = 'standard-e0.1';

const GENERATIVE_RECIPES: readonly Recipe[] = [
  { group: 'gen-vae', train: { model: 'vae', method: 'standard', eps: EVAL_EPS } },
  { group: 'gen-vae-pgd', train: { model: 'vae', method: 'pgd', eps: EVAL_EPS, steps: 3 } },
  { group: 'gen-vae-lip1', train: { model: 'vae', method: 'standard', eps: EVAL_EPS, spectralBound: 1 } },
].map((r) => ({ ...r, findings: ['generative'], evalEps: [EVAL_EPS], evalStrength: 'pgd' }));

function generativeGroups(): Experiment[] {
  return SEEDS.full.flatMap((seed) =>
    GENERATIVE_RECIPES.map((r) => ({ ...r, name: `${r.group}-s${seed}`, seed, size: GENERATIVE_SIZE, evaluation: 'generative' as const })),
  );
}

export const EXPERIMENTS: readonly Experiment[] = [
  {
    name: 'standard-e0.1',
    findings: ['tradeoff', 'fairness', 'frontier', 'generative'],
    train: { method: 'standard', eps: 0.1 },
    evalEps: [EVAL_EPS],
    evalStrength: 'strong',
  },
  { name: 'pgd-e0.1', findings: ['tradeoff', 'fairness', 'frontier'], train: pgd(0.1), evalEps: [EVAL_EPS], evalStrength: 'strong' },
  { name: 'pgd20-e0.1', findings: ['tradeoff', 'frontier'], train: pgd(0.1, 20), evalEps: [EVAL_EPS], evalStrength: 'strong' },
  {
    name: 'fgsm-e0.2',
    findings: ['co'],
    train: { method: 'fgsm', eps: CO_EPS },
    evalEps: [CO_EPS],
    evalStrength: 'light',
    watchClosely: true,
  },
  {
    name: 'fgsm-rs-e0.2',
    findings: ['co'],
    train: { method: 'fgsm-rs', eps: CO_EPS },
    evalEps: [CO_EPS],
    evalStrength: 'light',
    watchClosely: true,
  },
  {
    name: 'gradalign-e0.2',
    findings: ['co'],
    train: { method: 'gradalign', eps: CO_EPS, lambda: 0.2 },
    evalEps: [CO_EPS],
    evalStrength: 'light',
    watchClosely: true,
  },
  { name: 'pgd-e0.2', findings: ['co', 'frontier'], train: pgd(CO_EPS), evalEps: [CO_EPS, EVAL_EPS], evalStrength: 'light' },
  {
    name: 'standard-minority',
    findings: ['fairness'],
    train: { method: 'standard', eps: 0.1, minority: MINORITY },
    evalEps: [EVAL_EPS],
    evalStrength: 'strong',
  },
  {
    name: 'pgd-e0.1-minority',
    findings: ['fairness'],
    train: { ...pgd(0.1), minority: MINORITY },
    evalEps: [EVAL_EPS],
    evalStrength: 'strong',
  },
  { name: 'pgd-e0.05', findings: ['frontier'], train: pgd(0.05), evalEps: [EVAL_EPS], evalStrength: 'pgd' },
  { name: 'pgd-e0.15', findings: ['frontier'], train: pgd(0.15), evalEps: [EVAL_EPS], evalStrength: 'pgd' },
  {
    name: 'trades-b1',
    findings: ['frontier'],
    train: { method: 'trades', eps: 0.1, beta: 1 },
    evalEps: [EVAL_EPS],
    evalStrength: 'pgd',
  },
  {
    name: 'trades-b3',
    findings: ['frontier'],
    train: { method: 'trades', eps: 0.1, beta: 3 },
    evalEps: [EVAL_EPS],
    evalStrength: 'pgd',
  },
  {
    name: 'trades-b6',
    findings: ['frontier'],
    train: { method: 'trades', eps: 0.1, beta: 6 },
    evalEps: [EVAL_EPS],
    evalStrength: 'pgd',
  },
  ...seededGroups(),
  ...generativeGroups(),
];

/**
 * full: issue 4's recipe (wong-cnn, all 60 000 training images, 10 epochs, batch 128, Adam 1e-3;
 * FGSM-based runs watched every 117 batches) — the same configs as scripts/at-experiments.sh.
 * quick: a third of the data for 3 epochs (about one full epoch's work per run) and smaller evaluations.
 * smoke: a few hundred examples, for the end-to-end test of the runner itself.
 */
export const PROFILES: Record<ProfileName, Profile> = {
  full: { name: 'full', epochs: 10, heldOut: 1000, evalEvery: 117, evalN: 1000, apgdSteps: 100, pgdSteps: 20, model: 'wong-cnn' },
  quick: {
    name: 'quick',
    epochs: 3,
    limit: 20000,
    heldOut: 500,
    evalEvery: 40,
    evalN: 500,
    apgdSteps: 50,
    pgdSteps: 20,
    model: 'wong-cnn',
  },
  smoke: {
    name: 'smoke',
    epochs: 1,
    limit: 256,
    heldOut: 64,
    evalEvery: 1,
    evalN: 64,
    apgdSteps: 5,
    pgdSteps: 5,
    model: 'mlp',
    // The last five are the tiny version of the curvature and Sophia groups (run with --only curvature,sophia):
    // one CO run, one curvature method, PGD-AT (the healthy run the factors are measured on), Adam and Sophia.
    only: [
      'standard-e0.1',
      'pgd-e0.1',
      'fgsm-e0.2',
      'standard-minority',
      'co-fgsm-e0.2-s0',
      'cm-elle-e0.2-s0',
      'cm-pgd-e0.2-s0',
      'opt-adam-fgsm-e0.2-s0',
      'opt-sophia-fgsm-e0.2-s0',
      'gen-vae-s0',
      'gen-vae-pgd-s0',
      'gen-vae-lip1-s0',
    ],
  },
};

/** What a profile runs without --only: every finding, except that the smoke profile leaves out the seeded groups. */
// The seed's findings by default: their budgets (--quick under 15 min, --full under 2 h) are measured; issue 13's
// curvature and sophia groups run when selected (--only curvature,sophia), each profile's version on its own budget.
const SEED_FINDINGS: readonly Finding[] = ['tradeoff', 'co', 'fairness', 'frontier'];
export const DEFAULT_FINDINGS: Record<ProfileName, readonly Finding[]> = {
  full: SEED_FINDINGS,
  quick: SEED_FINDINGS,
  smoke: SEED_FINDINGS,
};

/**
 * The worst-case suite of a profile's strong evaluations: --full reports AutoAttack's standard version (the
 * number papers report); the smaller profiles keep the cheaper APGD-CE + APGD-T, and say so.
 */
export const WORST_CASE_SUITE: Record<ProfileName, 'autoattack' | 'apgd'> = { full: 'autoattack', quick: 'apgd', smoke: 'apgd' };

export function experimentsOf(p: Profile): Experiment[] {
  return EXPERIMENTS.filter((e) => (!p.only || p.only.includes(e.name)) && (e.seed === undefined || SEEDS[p.name].includes(e.seed)));
}

/**
 * The profile narrowed to the experiments of `findings` (default DEFAULT_FINDINGS): its `only` then names them,
 * so results.json records what ran. Without a narrowing the profile is returned as it is.
 */
export function selectProfile(name: ProfileName, findings: readonly Finding[] = DEFAULT_FINDINGS[name]): Profile {
  const p = PROFILES[name];
  const all = experimentsOf(p);
  const picked = all.filter((e) => e.findings.some((f) => findings.includes(f)));
  return picked.length === all.length ? p : { ...p, only: picked.map((e) => e.name) };
}

/** The size of an experiment's runs in a profile: the experiment's own, where it has one. */
export function runSize(e: Experiment, p: Profile): RunSize {
  const own = e.size?.[p.name];
  const limit = own?.limit ?? p.limit;
  return { epochs: own?.epochs ?? p.epochs, ...(limit !== undefined ? { limit } : {}) };
}

/** The training options of an experiment in a profile (the run directory is the caller's). */
export function trainConfig(e: Experiment, p: Profile): Record<string, unknown> {
  return {
    model: p.model,
    ...runSize(e, p),
    heldOut: p.heldOut,
    ...e.train,
    ...(e.seed !== undefined ? { seed: e.seed } : {}),
    ...(e.watchClosely ? { evalEvery: e.evalEvery?.[p.name] ?? p.evalEvery } : {}),
  };
}

/** The evaluation of an experiment (the model and the output file are the caller's). */
export function evalSettings(e: Experiment, p: Profile): Omit<EvalRequest, 'model'> {
  const apgd =
    e.evalStrength === 'pgd'
      ? { noWorstCase: true }
      : e.evalStrength === 'light'
        ? { apgdSteps: Math.max(1, Math.round(p.apgdSteps / 2)), apgdTargets: 3 }
        : // 'apgd' is eval's default suite: left out, so the recorded settings of earlier runs still match.
          { apgdSteps: p.apgdSteps, apgdTargets: 9, ...(WORST_CASE_SUITE[p.name] === 'apgd' ? {} : { suite: WORST_CASE_SUITE[p.name] }) };
  return { attacks: ['fgsm', 'pgd'], eps: e.evalEps, n: p.evalN, steps: p.pgdSteps, ...apgd };
}
