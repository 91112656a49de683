/**
 * The configuration of a training run, declared once: its type, defaults, validation (errors name the key)
 * and help all come from `trainingOptions`. What is written to config.json and compared on resume is the
 * parsed object.
 */
import { z } from 'zod';
import { option, parseOptions } from '../config/options.ts';
import { DEFAULT_CO_THRESHOLDS } from '../diagnostics/co-monitor.ts';
import { makeObjective, METHODS, type MethodName } from './objectives.ts';
import { LR_SCHEDULES } from './schedules.ts';

const METHOD_NAMES = METHODS.map((m) => m.name) as [MethodName, ...MethodName[]];
/** The values of the `onCo` option, in the order help lists them. */
export const CO_POLICIES = ['warn', 'stop', 'rollback'] as const;
/**
 * What a run does on catastrophic overfitting: 'warn' reports it, 'stop' ends the run (the final model is still
 * stored), 'rollback' restores the newest checkpoint and continues with a smaller step or GradAlign (see `coPolicy`).
 */
export type CoPolicy = (typeof CO_POLICIES)[number];

const threshold = (help: string) => option.number({ help, optional: true });

/** The options of a training run, in the order config.json lists them. */
export const trainingOptions = {
  method: option.oneOf(METHOD_NAMES, { default: 'standard', help: 'training method (standard or adversarial)' }),
  eps: option.number({ min: 0, default: 0.1, help: 'L∞ radius of the training attack and of the held-out metrics' }),
  steps: option.integer({ min: 1, optional: true, help: 'attack steps of pgd and llr (default 7) and trades (default 10)' }),
  alpha: option.number({
    above: 0,
    optional: true,
    help: 'attack step size (default per method: ε/4 for PGD, ε for FGSM, 1.25ε for FGSM-RS)',
  }),
  lambda: option.number({
    min: 0,
    optional: true,
    help: 'regulariser weight λ: gradalign 0.2, elle 1000/5000/10000 by ε, elle-a 4000 and cure 1000/50000 (largest, adaptive), llr 4',
  }),
  mu: option.number({ min: 0, optional: true, help: "LLR's weight μ of |δᵀ∇ₓℓ(x)| (default 3)" }),
  fgsmInit: option.oneOf(['zero', 'random'], {
    optional: true,
    help: 'start of the FGSM point of gradalign, elle, elle-a, cure: zero (α = ε; default) or random (α = 1.25ε)',
  }),
  beta: option.number({
    min: 0,
    optional: true,
    help: "TRADES's robustness weight β (default 6); a VAE's KL weight (default 1: the ELBO)",
  }),
  epochs: option.integer({ min: 1, default: 5, help: 'passes over the training set' }),
  batchSize: option.integer({ min: 1, default: 128, help: 'examples per step' }),
  optimizer: option.oneOf(['adam', 'sgd', 'sophia'], { default: 'adam', help: 'optimiser (sophia: Liu et al. 2023, SophiaG update)' }),
  rho: option.number({ above: 0, optional: true, help: "Sophia's clipping scale ρ (default 0.04)" }),
  hessianEvery: option.integer({ min: 1, optional: true, help: 'Sophia refreshes its Hessian estimate every k steps (default 10)' }),
  hessianEstimator: option.oneOf(['gnb', 'hutchinson'], {
    optional: true,
    help: "Sophia's Hessian diagonal: gnb (Gauss-Newton-Bartlett, default) or hutchinson",
  }),
  lr: option.number({ above: 0, default: 1e-3, help: 'peak learning rate' }),
  momentum: option.number({ min: 0, default: 0.9, help: 'SGD momentum' }),
  weightDecay: option.number({ min: 0, default: 0, help: 'L2 weight decay (decoupled, θ·(1 − lr·wd), under sophia)' }),
  schedule: option.oneOf(LR_SCHEDULES as readonly string[] as ['constant', 'piecewise', 'cyclic'], {
    default: 'constant',
    help: 'learning-rate schedule',
  }),
  epsRampEpochs: option.number({
    min: 0,
    default: 0,
    flag: 'eps-ramp',
    placeholder: 'EPOCHS',
    help: 'ramp ε up linearly over this many epochs',
  }),
  seed: option.integer({ min: 0, max: 2 ** 32 - 1, default: 0, help: 'seed of every random draw (initialisation, shuffling, attacks)' }),
  limit: option.integer({ min: 1, optional: true, help: 'train on the first M training examples only' }),
  heldOut: option.integer({ min: 1, default: 1000, help: 'held-out metrics on the first N test examples' }),
  evalEvery: option.integer({ min: 0, default: 0, help: 'also measure every N batches (0: once per epoch)' }),
  alignExamples: option.integer({ min: 1, default: 256, flag: null, help: 'examples for gradient alignment and the FGSM–PGD cosine' }),
  pgdEvalSteps: option.integer({ min: 1, default: 10, flag: null, help: 'steps of the held-out PGD' }),
  curvatureExamples: option.integer({
    min: 0,
    default: 256,
    help: 'held-out examples for the input-curvature measures (top eigenvalue, linearity error, ELLE, CURE); 0: none',
  }),
  onCo: option.oneOf(CO_POLICIES, { default: 'warn', help: 'on catastrophic overfitting: warn, stop, or roll back and change method' }),
  co: option.custom(
    z
      .object({
        pgdDrop: threshold('PGD accuracy falls this far below its best'),
        alignRatio: threshold('alignment falls below this fraction of its best'),
        alignMin: threshold('... once it has reached this'),
        fgsmOverClean: threshold('FGSM accuracy exceeds clean accuracy by this'),
        fgsmPgdGap: threshold('FGSM accuracy exceeds PGD accuracy by this'),
        linearityError: threshold('the held-out linearity error exceeds this (off unless set)'),
      })
      .strict()
      .default({}),
    {
      kind: 'string',
      flag: null,
      expected: `thresholds of the CO monitor (${[...Object.keys(DEFAULT_CO_THRESHOLDS), 'linearityError'].join(', ')}), finite numbers`,
      help: 'CO monitor thresholds (defaults in diagnostics/co-monitor.ts)',
      defaultValue: {},
    },
  ),
};

/** `trainingOptions` as one zod object schema; `resolveTrainingConfig` parses with it, so a bad value's ConfigError names its key. */
export const trainingConfigSchema = z.object(trainingOptions);

/** Everything that determines a run. Written to config.json; a resume must present the same. */
export type AdversarialTrainingConfig = z.output<typeof trainingConfigSchema>;
/** What a caller may give: every option with a default may be left out. */
export type TrainingConfigInput = z.input<typeof trainingConfigSchema>;

/**
 * The full configuration from what a caller gave (defaults filled in), validated: a bad value is a
 * ConfigError naming the key; options that do not apply to the method (a TRADES β for PGD) are checked by
 * the method itself.
 */
export function resolveTrainingConfig(input: TrainingConfigInput): AdversarialTrainingConfig {
  const c = parseOptions(trainingConfigSchema, input);
  makeObjective(c, c.eps); // validates method-specific options
  return c;
}

/** Throws a ConfigError naming the first bad option of `c`. */
export function validateTrainingConfig(c: AdversarialTrainingConfig): void {
  resolveTrainingConfig(c);
}
