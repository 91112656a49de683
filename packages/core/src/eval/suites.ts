/**
 * Worst-case suites: attacks run in order, each only on the examples every earlier one left robust, an
 * example counting as robust only if it survives them all (AutoAttack's protocol, Croce & Hein 2020). A
 * suite is named for what it runs: `apgd` is APGD-CE + APGD-T and is never reported as AutoAttack.
 */
import { ConfigError } from '../errors.ts';
import type { Norm } from '../threat/norms.ts';
import { suggest } from '../util/suggest.ts';

/** One attack of a suite with the settings the suite fixes (over the attack's defaults). */
export interface SuiteStep {
  attack: string;
  config: Record<string, unknown>;
}

/** A suite as the evaluation knows it. */
export interface AttackSuite {
  readonly name: string;
  /** What the report calls it, e.g. 'APGD-CE + APGD-T'. */
  readonly label: string;
  readonly description: string;
  /**
   * The steps for `norm` and a model of `numClasses` classes, plus the attacks the suite leaves out there
   * and why (reported). Throws ConfigError when the suite cannot run on such a model.
   */
  plan(norm: Norm, numClasses: number): { steps: SuiteStep[]; skipped: { attack: string; reason: string }[] };
}

/** APGD-T's targeted DLR loss reads the 3rd and 4th largest logits. */
const DLR_TARGETED_MIN_CLASSES = 4;

/** advlab's long-standing worst case: APGD-CE, then APGD-T on the survivors (left out below 4 classes). */
export const apgdSuite: AttackSuite = {
  name: 'apgd',
  label: 'APGD-CE + APGD-T',
  description: 'APGD-CE, then APGD-T (9 target classes) on the survivors — two of AutoAttack\u2019s four attacks',
  plan(_norm, numClasses) {
    if (numClasses < DLR_TARGETED_MIN_CLASSES) {
      return {
        steps: [{ attack: 'apgd-ce', config: {} }],
        skipped: [{ attack: 'apgd-t', reason: `its targeted DLR loss needs at least 4 classes; the model has ${numClasses}` }],
      };
    }
    return {
      steps: [
        { attack: 'apgd-ce', config: {} },
        { attack: 'apgd-t', config: {} },
      ],
      skipped: [],
    };
  },
};

/**
 * AutoAttack's standard version (fra31/auto-attack, `version='standard'`): APGD-CE, APGD-T, FAB-T and Square
 * with its settings per norm. Under L1 AutoAttack runs APGD with 5 restarts and APGD-T with 5 target
 * classes (and its "large reps" schedule, which advlab does not have); Square has no L1 version and is left out.
 */
export const autoAttackSuite: AttackSuite = {
  name: 'autoattack',
  label: 'AutoAttack (standard: APGD-CE, APGD-T, FAB-T, Square)',
  description: "AutoAttack's standard version: APGD-CE, APGD-T, FAB-T (9 targets each), Square (5000 queries)",
  plan(norm, numClasses) {
    if (numClasses < DLR_TARGETED_MIN_CLASSES) {
      throw new ConfigError(
        'suite',
        `a model of at least ${DLR_TARGETED_MIN_CLASSES} classes for AutoAttack (APGD-T's targeted DLR loss reads the 3rd and 4th largest logits)`,
        `${numClasses} classes (use --suite apgd)`,
      );
    }
    const targets = (k: number) => Math.min(k, numClasses - 1);
    const l1 = norm === 'l1';
    const steps: SuiteStep[] = [
      { attack: 'apgd-ce', config: { steps: 100, restarts: l1 ? 5 : 1 } },
      { attack: 'apgd-t', config: { steps: 100, restarts: 1, targetClasses: targets(l1 ? 5 : 9) } },
      { attack: 'fab-t', config: { steps: 100, restarts: 1, targetClasses: targets(9) } },
    ];
    if (l1) return { steps, skipped: [{ attack: 'square', reason: 'Square has no L1 version' }] };
    return { steps: [...steps, { attack: 'square', config: { queries: 5000, pInit: 0.8 } }], skipped: [] };
  },
};

/** AutoAttack's `eot_iter` in its version for randomized defences. */
export const RAND_EOT_SAMPLES = 20;

/**
 * AutoAttack's version for randomized defences (`version='rand'`): APGD-CE and APGD-DLR, one restart each,
 * every gradient the mean over 20 forward-backward passes (EOT). For a model whose outputs change between
 * passes, which the `deterministic` check detects.
 */
export const randSuite: AttackSuite = {
  name: 'rand',
  label: 'AutoAttack (rand: APGD-CE, APGD-DLR, EOT over 20 passes)',
  description: "AutoAttack's version for randomized defences: APGD-CE and APGD-DLR with EOT over 20 forward-backward passes",
  plan(_norm, numClasses) {
    if (numClasses < 3) {
      throw new ConfigError(
        'suite',
        "a model of at least 3 classes for AutoAttack's rand version (the DLR loss reads the 3rd largest logit)",
        `${numClasses} classes`,
      );
    }
    const config = { steps: 100, restarts: 1, eot: RAND_EOT_SAMPLES };
    return {
      steps: [
        { attack: 'apgd-ce', config },
        { attack: 'apgd-dlr', config },
      ],
      skipped: [],
    };
  },
};

/**
 * Square alone, with AutoAttack's settings: the suite for a model known only by its logits (an ONNX model, any
 * AsyncClassifier), and a quick black-box second opinion on any other.
 */
export const squareSuite: AttackSuite = {
  name: 'square',
  label: 'Square (black-box, 5000 queries)',
  description: 'Square alone (score-based black-box, 5000 queries): for models without gradients',
  plan(norm) {
    if (norm === 'l1') throw new ConfigError('suite', 'a norm Square supports (linf or l2)', 'l1');
    return { steps: [{ attack: 'square', config: { queries: 5000, pInit: 0.8 } }], skipped: [] };
  },
};

/** Every suite, by name. */
export const SUITES: ReadonlyMap<string, AttackSuite> = new Map(
  [apgdSuite, autoAttackSuite, randSuite, squareSuite].map((s) => [s.name, s]),
);

/** The suite called `name`; ConfigError naming `suite` with the known names otherwise. */
export function getSuite(name: string): AttackSuite {
  const s = SUITES.get(name.toLowerCase());
  if (!s) {
    const known = [...SUITES.keys()];
    const hint = suggest(name, known);
    throw new ConfigError('suite', `one of ${known.join(', ')}`, `${name}${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  return s;
}
