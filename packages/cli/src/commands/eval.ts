import { z } from 'zod';
import {
  SUITES,
  classifierBounds,
  evaluateRobustness,
  evaluateRobustnessAsync,
  getAttack,
  isSyncClassifier,
  ConfigError,
  SHARD_EXPECTED,
  option,
  parseShardSpec,
  toInputRange,
  type EvaluationReport,
} from '@advlab/core';
import { checkOutput, datasetFolders, loadOnnxModel, writeFileAtomic } from '@advlab/node';
import { helpText, parseConfig, parseFlags } from '../flags.ts';
import { backendOption, dataOption, modelInputOptions, normOption, seedOption } from '../options.ts';
import { ProgressBar } from '../progress.ts';
import { checkCompatible, datasetFor, openModel, selectBackend } from '../context.ts';
import { formatReport } from '../table.ts';
import { evaluateGenerativeModel, type GenerativeEvalReport } from './generative.ts';

const USAGE =
  'advlab eval --model DIR [--attacks fgsm,pgd,apgd-ce,apgd-t] [--eps 0.1[,0.2...]] [--norm linf|l2|l1] [--json FILE] [options]';

const ABOUT = `Clean and robust accuracy on the first n test examples (unshuffled), per attack and ε, per class, and
the per-example worst case (a suite of attacks, each on the survivors of the ones before: --suite apgd runs
APGD-CE then APGD-T; --suite autoattack is AutoAttack's standard version, APGD-CE, APGD-T, FAB-T and Square
with its settings), with sanity checks.
--final-iterate: the PGD family counts only each restart's last iterate, as torchattacks and most papers
do (default: an example is broken if any iterate fools the model).
--shard I/N evaluates shard I of N: a contiguous run of whole batches of the n examples (attack batches never
straddle one, and each is seeded by its place in the set, so a shard makes exactly the draws the whole run
makes for its examples). advlab merge combines the JSON reports of all N shards into the report of the
unsharded run with --batching blocks, figure for figure; every shard must be run with the same settings.
Unsharded runs batch each attack's survivors of the whole set by default (--batching survivors), as before
sharding existed, so documented figures rerun unchanged; with n up to one batch the two agree.`;

export const EVAL_OPTIONS = {
  model: option.string({
    placeholder: 'DIR',
    expected: 'a model folder or .onnx file',
    help: 'a tf.js LayersModel or GraphModel folder, a run directory, or an ONNX file (black-box: Square only)',
  }),
  ...modelInputOptions,
  attacks: option.strings({
    default: ['fgsm', 'pgd'],
    help: "attacks, each at every ε (advlab list shows them); 'none' for the worst-case suite alone",
  }),
  eps: option.numbers({ min: 0, default: [0.1], help: 'radii ε, in the model input space' }),
  norm: normOption,
  n: option.integer({ min: 1, optional: true, help: 'the first N test examples (default: up to 1000)' }),
  json: option.string({ optional: true, placeholder: 'FILE', expected: 'a file path', help: 'also write the report as JSON' }),
  force: option.boolean({ help: 'replace existing output files' }),
  steps: option.integer({ min: 1, default: 20, help: 'steps of the PGD family (pgd, bim, mi-fgsm)' }),
  restarts: option.integer({ min: 1, default: 1, help: 'random restarts of the PGD family and APGD' }),
  apgdSteps: option.integer({ min: 1, default: 100, help: 'APGD iterations' }),
  apgdTargets: option.integer({ min: 1, default: 9, help: 'target classes of APGD-T (the most likely wrong ones)' }),
  suite: option.oneOf([...SUITES.keys()] as [string, ...string[]], {
    default: 'apgd',
    help: `the worst-case suite: ${[...SUITES.values()].map((s) => `${s.name} = ${s.label}`).join('; ')}`,
  }),
  noWorstCase: option.boolean({ help: 'skip the worst-case suite' }),
  finalIterate: option.boolean({ help: "the PGD family counts only each restart's last iterate" }),
  data: dataOption,
  batchSize: option.integer({ min: 1, default: 256, help: 'examples per attack batch' }),
  shard: option.custom(
    z
      .string()
      .refine((s) => {
        try {
          parseShardSpec(s);
          return true;
        } catch {
          return false;
        }
      })
      .optional(),
    {
      kind: 'string',
      expected: SHARD_EXPECTED,
      placeholder: 'I/N',
      help: 'evaluate shard I of N (0-based): whole batches of the n examples, for advlab merge',
    },
  ),
  batching: option.oneOf(['survivors', 'blocks'], {
    optional: true,
    help: "how attacks batch examples: survivors (each attack's survivors of the whole set in turn, the default unsharded) or blocks (per fixed block of batch-size examples: what a shard does, so a merge of shards equals it)",
  }),
  seed: seedOption,
  backend: backendOption,
  generative: option.boolean({
    help: 'evaluate a vae or ae (advlab train --model vae|ae): AUDDC, classifier-judged success, reconstruction',
  }),
  pairs: option.integer({ min: 1, default: 20, help: 'with --generative: (source, target) test pairs of different classes, seeded' }),
  classifier: option.string({
    optional: true,
    placeholder: 'DIR',
    expected: 'a classifier folder or run directory',
    help: 'with --generative: the classifier that judges reconstructions (the classifier-judged attack and success rates)',
  }),
  cs: option.integer({ min: 1, default: 50, help: 'with --generative: values of C in the sweep, log-spaced over 2^-20…2^20' }),
  sweepSteps: option.integer({ min: 1, default: 200, help: 'with --generative: Adam steps per sweep' }),
};

/** The options that only `--generative` reads. */
const GENERATIVE_ONLY = ['pairs', 'classifier', 'cs', 'sweepSteps'] as const;

export const evalHelp = helpText(USAGE, ABOUT, EVAL_OPTIONS);

type EvalFlags = ReturnType<typeof parseFlags<typeof EVAL_OPTIONS>>['values'];

/** Flags → per-attack configs: --steps/--restarts for the PGD family, --apgd-steps for APGD. */
function attackConfig(v: EvalFlags): Record<string, object> {
  const { steps, restarts, apgdSteps, apgdTargets: targetClasses, finalIterate } = v;
  const cfg: Record<string, object> = {};
  for (const a of ['pgd', 'bim', 'mi-fgsm']) cfg[a] = { steps, restarts, ...(finalIterate ? { finalIterate } : {}) };
  for (const a of ['apgd-ce', 'apgd-dlr']) cfg[a] = { steps: apgdSteps, restarts };
  cfg['apgd-t'] = { steps: apgdSteps, restarts, targetClasses };
  return cfg;
}

/**
 * What `advlab eval` is asked to do, typed (defaults fill what is left out). An existing `json` file is
 * refused unless `force` (--force): a caller that owns the file (demo, reproduce re-evaluating with new
 * settings) says so.
 */
export type EvalRequest = z.input<z.ZodObject<typeof EVAL_OPTIONS>>;

/** `advlab eval` argv → evaluateModel. */
export async function evaluate(argv: string[]): Promise<EvaluationReport | GenerativeEvalReport> {
  const { values, given } = parseFlags(argv, EVAL_OPTIONS);
  if (values.generative) return evaluateGenerativeFlags(values, given);
  return evaluateModel(values, given);
}

/** `advlab eval --generative`: the budget is the first --eps under --norm, --steps its PGD steps (default 100). */
async function evaluateGenerativeFlags(v: EvalFlags, given: readonly string[]): Promise<GenerativeEvalReport> {
  for (const k of [
    'attacks',
    'suite',
    'n',
    'finalIterate',
    'noWorstCase',
    'apgdSteps',
    'apgdTargets',
    'restarts',
    'shard',
    'batching',
  ] as const)
    if (given.includes(k)) throw new ConfigError(k, 'no classifier-attack option with --generative', 'it given');
  if (v.eps.length !== 1) throw new ConfigError('eps', 'one ε with --generative (the budget of the judged attacks)', v.eps.join(','));
  if (v.json !== undefined)
    checkOutput({ path: v.json, kind: 'file', key: 'json', inputs: [v.model, ...datasetFolders(v.data)], force: v.force });
  await selectBackend(v.backend);
  const report = await evaluateGenerativeModel({
    model: v.model,
    data: v.data,
    pairs: v.pairs,
    classifier: v.classifier,
    eps: v.eps[0]!,
    norm: v.norm,
    steps: given.includes('steps') ? v.steps : 100,
    cs: v.cs,
    sweepSteps: v.sweepSteps,
    seed: v.seed,
  });
  if (v.json) {
    writeFileAtomic(v.json, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`wrote ${v.json}\n`);
  }
  return report;
}

/**
 * Evaluates `request.model`: a tf.js model folder or run directory (white-box), or an ONNX file (black-box:
 * only its logits are used, so the default is no single attack and the Square suite; gradient attacks are
 * refused with an AttackError). `given` lists the options the user set (flags); a typed call sets what it passes.
 */
export async function evaluateModel(request: EvalRequest, given?: readonly string[]): Promise<EvaluationReport> {
  const v = parseConfig(EVAL_OPTIONS, request);
  const isGiven = (key: keyof EvalRequest) => (given ? given.includes(key) : request[key] !== undefined);
  for (const k of GENERATIVE_ONLY) if (isGiven(k)) throw new ConfigError(k, 'it only with --generative', 'it without');
  const dir = v.model;
  const blackBox = dir.toLowerCase().endsWith('.onnx');
  const { seed, eps, norm, batchSize } = v;
  const none = v.attacks.length === 1 && v.attacks[0] === 'none';
  const attacks = none || (blackBox && !isGiven('attacks')) ? [] : v.attacks;
  const suite = blackBox && !isGiven('suite') ? 'square' : v.suite;
  attacks.forEach(getAttack); // unknown names fail here, before any loading
  const nFlag = v.n;
  const shard = v.shard === undefined ? undefined : parseShardSpec(v.shard);
  const config = attackConfig(v);
  if (v.json !== undefined) {
    const force = request.force === true;
    checkOutput({ path: v.json, kind: 'file', key: 'json', inputs: [dir, ...datasetFolders(v.data)], force });
  }
  await selectBackend(v.backend);
  const input = { bounds: v.bounds as [number, number] | undefined, mean: v.mean, std: v.std };
  const opened = blackBox
    ? { classifier: await loadOnnxModel(dir, { ...input, name: dir }), meta: undefined }
    : await openModel(dir, input);
  const { classifier, meta } = opened;
  try {
    const data = datasetFor(v.data, meta, seed);
    checkCompatible(classifier, data);
    // An explicit --n larger than the test set is an error; the default takes what there is, up to 1000.
    const n = nFlag ?? Math.min(1000, data.test.n);
    let bar: ProgressBar | undefined;
    let stage = '';
    const options = {
      attacks,
      eps,
      norm,
      n,
      batchSize,
      seed,
      ...(shard ? { shard } : {}),
      ...(v.batching ? { batching: v.batching } : {}),
      worstCase: !v.noWorstCase,
      suite,
      attackConfig: config,
      onProgress: (p: { stage: string; done: number; total: number }) => {
        if (p.stage !== stage) [stage, bar] = [p.stage, new ProgressBar(p.stage)];
        bar!.update(p.done, p.total);
      },
    };
    const images = toInputRange(data.test, classifierBounds(classifier));
    // A black box answers only asynchronously; a tf.js model is evaluated as before (the same numbers).
    const { report } = isSyncClassifier(classifier)
      ? evaluateRobustness(classifier, images, options, data.name)
      : await evaluateRobustnessAsync(classifier, images, options, data.name);
    report.model = dir;
    process.stdout.write(`${formatReport(report, data.classNames)}\n`);
    if (v.json) {
      writeFileAtomic(v.json, `${JSON.stringify({ ...report, class_names: data.classNames }, null, 2)}\n`);
      process.stdout.write(`wrote ${v.json}\n`);
    }
    return report;
  } finally {
    if (blackBox) await (classifier as { dispose(): Promise<void> }).dispose();
  }
}
