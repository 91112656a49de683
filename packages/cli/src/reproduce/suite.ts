/**
 * The experiments of `advlab reproduce`: which runs the seed's findings need, at which size.
 *
 * A run is named by what it is (method, ε, variant), so the same name in another suite size or a
 * later session means the same training recipe; the profile adds size (epochs, examples, held-out,
 * evaluation n) and the runner refuses to reuse a finished run whose config differs.
 */
import type { EvalRequest } from '../commands/eval.ts';

export type Finding = 'tradeoff' | 'co' | 'fairness' | 'frontier';

export interface Experiment {
  name: string;
  findings: Finding[];
  /** The training recipe: run options (size options come from the profile). */
  train: Record<string, unknown>;
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
}

export type ProfileName = 'quick' | 'full' | 'smoke';

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
  /** Run only these experiments (the smoke profile, for tests). */
  only?: string[];
}

/** The ε of the trade-off table and of the frontier's robust accuracy. */
export const EVAL_EPS = 0.1;
/** The large ε where zero-init FGSM training overfits catastrophically on Fashion-MNIST. */
export const CO_EPS = 0.2;
/** The minority experiment: this class keeps this share of its training examples. */
export const MINORITY = { class: 0, fraction: 0.1 };

const pgd = (eps: number, steps = 7) => ({ method: 'pgd', eps, steps });

export const EXPERIMENTS: readonly Experiment[] = [
  {
    name: 'standard-e0.1',
    findings: ['tradeoff', 'fairness', 'frontier'],
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
    only: ['standard-e0.1', 'pgd-e0.1', 'fgsm-e0.2', 'standard-minority'],
  },
};

/**
 * The worst-case suite of a profile's strong evaluations: --full reports AutoAttack's standard version (the
 * number papers report); the smaller profiles keep the cheaper APGD-CE + APGD-T, and say so.
 */
export const WORST_CASE_SUITE: Record<ProfileName, 'autoattack' | 'apgd'> = { full: 'autoattack', quick: 'apgd', smoke: 'apgd' };

export function experimentsOf(p: Profile): Experiment[] {
  return EXPERIMENTS.filter((e) => !p.only || p.only.includes(e.name));
}

/** The training options of an experiment in a profile (the run directory is the caller's). */
export function trainConfig(e: Experiment, p: Profile): Record<string, unknown> {
  return {
    model: p.model,
    epochs: p.epochs,
    ...(p.limit !== undefined ? { limit: p.limit } : {}),
    heldOut: p.heldOut,
    ...e.train,
    ...(e.watchClosely ? { evalEvery: p.evalEvery } : {}),
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
