import { join } from 'node:path';
import { z } from 'zod';
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  INIT_SCHEMES,
  METHODS,
  MODELS,
  backendInfo,
  classifierFromLayersModel,
  createModel,
  assertMinority,
  MODEL_NAMES,
  configChanges,
  option,
  resolveTrainingConfig,
  trainingOptions,
  parseMinority,
  predictLabels,
  withMinority,
  train,
  AUTOENCODER_DEFAULTS,
  AUTOENCODER_KINDS,
  LIKELIHOODS,
  autoencoderOf,
  createAutoencoder,
  isAutoencoderKind,
  reconstructionQuality,
  resolveAutoencoderSpec,
  trainAutoencoder,
  type AutoencoderKind,
  type GenerativeMetricsLine,
  type Likelihood,
  type TrainingReporter,
  type MetricsLine,
  type ModelName,
  type Dataset,
} from '@advlab/core';
import { RunDirectory, checkOutput, datasetFolders, loadDataset, writeFileAtomic } from '@advlab/node';
import { helpText, parseConfig, parseFlags, withFlagNames } from '../flags.ts';
import { backendOption } from '../options.ts';
import { ProgressBar, formatSeconds } from '../progress.ts';
import { selectBackend } from '../context.ts';

const USAGE = `advlab train --model NAME --epochs N (--run NAME | --out DIR) [--method ${METHODS.map((m) => m.name).join('|')}] [options]
advlab train --resume DIR`;

const ABOUT = `Trains a zoo model (${MODELS.map((m) => m.name).join(', ')}) with a method (standard or adversarial) into a run
directory (runs/NAME or DIR): config.json, metrics.jsonl (held-out clean/FGSM/PGD-10 accuracy, gradient
alignment, CO flags), checkpoints every epoch, best/ and model/ (tf.js format), summary.json.
--resume continues an interrupted run from its last checkpoint; it refuses a changed configuration.`;

/** The options that define a run: config.json holds them, --resume compares them. */
export const RUN_CONFIG_OPTIONS = {
  model: option.oneOf(
    [...MODEL_NAMES, ...AUTOENCODER_KINDS] as readonly string[] as [ModelName | AutoencoderKind, ...(ModelName | AutoencoderKind)[]],
    {
      default: 'wong-cnn',
      placeholder: 'NAME',
      help: 'zoo model (advlab list): a classifier, or vae / ae (generative)',
    },
  ),
  latentDim: option.integer({ min: 1, optional: true, help: `latent size of vae and ae (default ${AUTOENCODER_DEFAULTS.latentDim})` }),
  likelihood: option.oneOf(LIKELIHOODS as readonly string[] as [Likelihood, ...Likelihood[]], {
    optional: true,
    help: `decoder of vae and ae: bernoulli (cross-entropy) or gaussian (σ ${AUTOENCODER_DEFAULTS.sigma}); default ${AUTOENCODER_DEFAULTS.likelihood}`,
  }),
  spectralBound: option.number({
    min: 0,
    optional: true,
    placeholder: 'S',
    help: "vae and ae: cap each encoder layer's spectral norm at S after every step (a Lipschitz-constrained encoder)",
  }),
  init: option.oneOf(INIT_SCHEMES as readonly string[] as ['he', 'torch'], {
    default: 'torch',
    help: 'initial weights: torch (PyTorch-style, biases from U(±1/√fan_in)) or he (zero biases)',
  }),
  data: option.string({
    default: 'fashion-mnist',
    placeholder: 'SPEC',
    expected: 'a dataset: fashion-mnist, mnist:DIR, cifar10:DIR, png:DIR, synthetic:NAME or a folder',
    help: 'training data (its test split gives the held-out set)',
  }),
  minority: option.custom(
    z.preprocess(
      (v) => (typeof v === 'string' ? parseMinority(v) : v),
      z.object({ class: z.number().int().min(0), fraction: z.number().gt(0).max(1) }).optional(),
    ),
    {
      kind: 'string',
      placeholder: 'CLASS:FRACTION',
      expected: 'CLASS:FRACTION with FRACTION in (0, 1], e.g. 0:0.1',
      help: "keep only the first FRACTION of one class's training examples",
    },
  ),
  ...trainingOptions,
};

/** All of `advlab train`'s options: the run's configuration and how to run it. */
export const TRAIN_OPTIONS = {
  ...RUN_CONFIG_OPTIONS,
  run: option.string({ optional: true, placeholder: 'NAME', expected: 'a run name', help: 'run name: the run directory is runs/NAME' }),
  out: option.string({ optional: true, placeholder: 'DIR', expected: 'a folder', help: 'the run directory (instead of --run)' }),
  resume: option.string({ optional: true, placeholder: 'DIR', expected: 'a run directory', help: 'continue the interrupted run in DIR' }),
  backend: backendOption,
};

export const trainHelp = helpText(USAGE, ABOUT, TRAIN_OPTIONS);

/** The resolved configuration a run is defined by (what --resume compares). */
export type RunConfig = z.output<z.ZodObject<typeof RUN_CONFIG_OPTIONS>>;

/** A run's configuration from option values (defaults filled in, validated; errors name the key). */
export function resolveRunConfig(values: Record<string, unknown>): RunConfig {
  const c = parseConfig(RUN_CONFIG_OPTIONS, values); // the model name is one of the zoo's: the schema's enum
  if (isAutoencoderKind(c.model)) {
    // A generative model trains plainly or adversarially on latent-attack points (PGD): no other method applies.
    if (c.method !== 'standard' && c.method !== 'pgd') throw new ConfigError('method', `standard or pgd for ${c.model}`, c.method);
    resolveAutoencoderSpec(c.model, { latentDim: c.latentDim, likelihood: c.likelihood });
  } else {
    for (const k of ['latentDim', 'likelihood', 'spectralBound'] as const)
      if (c[k] !== undefined) throw new ConfigError(k, `no ${k} for the classifier ${c.model} (only vae and ae have one)`, String(c[k]));
    resolveTrainingConfig(c); // the methods' own checks
  }
  // JSON drops undefined keys: compare and store the same shape.
  return JSON.parse(JSON.stringify(c)) as RunConfig;
}

export interface TrainSummary {
  dir: string;
  test_accuracy: number;
}

/** What `advlab train` is asked to do, typed: the run's configuration and where to keep it. */
export interface TrainRequest {
  /** Options of the run (defaults fill the rest); with `resume`, the options given again, which must match. */
  config?: Record<string, unknown>;
  /** The run directory. */
  out?: string;
  /** Continue the interrupted run in this directory. */
  resume?: string;
  backend?: string;
}

/** `advlab train` argv → trainRun. */
export async function trainCommand(argv: string[]): Promise<TrainSummary> {
  const { values: v, given } = parseFlags(argv, TRAIN_OPTIONS);
  const out = v.out ?? (v.run !== undefined ? join('runs', v.run) : undefined);
  if (v.resume === undefined && out === undefined) throw new ConfigError('--run', 'a run name (or --out DIR)', 'nothing');
  return trainRun({ config: configValues(v, given), out, resume: v.resume, backend: v.backend });
}

/**
 * Trains a new run into `out`, or resumes `resume`; writes the run directory and summary.json. The run
 * directory is locked for the whole run (a second writer is refused with E_RUN_LOCKED), and everything that
 * can be refused — options, data, model — is checked before a new run directory is created.
 */
export async function trainRun(request: TrainRequest): Promise<TrainSummary> {
  const asked = request.config ?? {};
  if (request.resume !== undefined) {
    const runDir = new RunDirectory(request.resume);
    runDir.assertRun(); // before the lock, which would create the folder
    const lock = runDir.lock(`advlab train --resume ${request.resume}`);
    try {
      runDir.checkLayout();
      const config = Object.keys(asked).length > 0 ? assertSameConfig(runDir, asked) : savedConfigOf(runDir);
      return await trainIn(runDir, config, request, lock.tookOverFrom);
    } finally {
      lock.release();
    }
  }
  const config = withFlagErrors(() => resolveRunConfig(asked));
  if (request.out === undefined) throw new ConfigError('out', 'a run directory', 'nothing');
  checkOutput({ path: request.out, kind: 'directory', key: 'out', inputs: datasetFolders(config.data) });
  const runDir = new RunDirectory(request.out);
  runDir.assertNew(); // before any work
  const prepared = await prepare(config, request.backend); // refuses bad data or a model that cannot be built
  const lock = runDir.lock(`advlab train --out ${request.out}`);
  try {
    runDir.create({
      ...config,
      environment: { backend: backendInfo(), node: process.version, advlab: readVersion(), date: new Date().toISOString() },
    });
    return await trainIn(runDir, config, request, undefined, prepared);
  } finally {
    lock.release();
  }
}

interface Prepared {
  backend: string;
  data: Dataset;
  inputShape: [number, number, number];
  model: ReturnType<typeof createModel>;
}

/** The autoencoder spec of a generative run's config. */
function specOf(config: RunConfig) {
  return resolveAutoencoderSpec(config.model as AutoencoderKind, { latentDim: config.latentDim, likelihood: config.likelihood });
}

/** Backend, data and the untrained model of `config`: everything that can fail before training starts. */
async function prepare(config: RunConfig, backendName: string | undefined): Promise<Prepared> {
  const backend = await selectBackend(backendName);
  const loaded = loadDataset(config.data, { seed: config.seed });
  if (config.minority) assertMinority(config.minority, loaded.numClasses); // the class must exist in this dataset
  const data = config.minority ? { ...loaded, train: withMinority(loaded.train, config.minority) } : loaded;
  const inputShape: [number, number, number] = [data.train.height, data.train.width, data.train.channels];
  const model = isAutoencoderKind(config.model)
    ? createAutoencoder(config.model, { ...specOf(config), inputShape, seed: config.seed })
    : createModel(config.model, { inputShape, numClasses: data.numClasses, seed: config.seed, init: config.init ?? 'he' }); // configs written before --init existed were He-initialised
  return { backend, data, inputShape, model };
}

async function trainIn(
  runDir: RunDirectory,
  config: RunConfig,
  request: TrainRequest,
  tookOverFrom: { pid: number; host: string; started: string } | undefined,
  ready?: Prepared,
): Promise<TrainSummary> {
  if (tookOverFrom) {
    process.stderr.write(
      `advlab: ${runDir.dir} was locked by pid ${tookOverFrom.pid} on ${tookOverFrom.host} (since ${tookOverFrom.started}), which has ended: continuing\n`,
    );
  }
  const prepared = ready ?? (await prepare(config, request.backend));
  if (isAutoencoderKind(config.model)) return trainGenerativeIn(runDir, config, prepared);
  const { backend, data, inputShape, model } = prepared;
  const n = Math.min(config.limit ?? data.train.n, data.train.n);
  process.stderr.write(
    `training ${config.model} (${config.method}${config.method === 'standard' ? '' : `, ε=${config.eps}`}) on ${data.name}: ${n} examples, ${config.epochs} epochs, batch ${config.batchSize}, ${config.optimizer} lr ${config.lr} (${config.schedule}) → ${runDir.dir}\n`,
  );
  const meta = {
    dataset: config.data,
    classNames: data.classNames,
    inputShape,
    numClasses: data.numClasses,
    trainedWith: { ...config, backend },
  };
  const { metrics, stoppedByCo } = await train(
    model,
    { train: data.train, heldOut: data.test },
    config,
    runDir,
    meta,
    terminalReporter(config.method),
  );
  const classifier = classifierFromLayersModel(model, { name: config.model });
  const all = Array.from({ length: data.test.n }, (_, i) => i);
  const pred = predictLabels(classifier, data.test, all);
  const testAccuracy = pred.reduce((a, p, i) => a + (p === data.test.labels[i] ? 1 : 0), 0) / data.test.n;
  const epochLines = lastPerEpoch(metrics);
  const summary = {
    ...config,
    dataset: data.name,
    test_examples: data.test.n,
    test_accuracy: testAccuracy,
    stopped_by_co: stoppedByCo,
    co_epochs: [...new Set(metrics.filter((m) => m.co).map((m) => m.epoch))],
    seconds_per_epoch: epochLines.map((m, i) => m.seconds - (i > 0 ? epochLines[i - 1]!.seconds : 0)),
    final: epochLines.at(-1) ?? null,
  };
  writeFileAtomic(join(runDir.dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`${formatSummary(summary)}\nmodel: ${join(runDir.dir, 'model')}\n`);
  return { dir: runDir.dir, test_accuracy: testAccuracy };
}

/** `advlab train --model vae|ae`: trainAutoencoder into the run directory, then summary.json. */
async function trainGenerativeIn(
  runDir: RunDirectory,
  config: RunConfig,
  { backend, data, inputShape, model }: Prepared,
): Promise<TrainSummary> {
  const spec = specOf(config);
  const ae = autoencoderOf(model, spec, runDir.dir);
  const n = Math.min(config.limit ?? data.train.n, data.train.n);
  const adversarial = config.method === 'pgd';
  process.stderr.write(
    `training ${config.model} (${spec.likelihood}, latent ${spec.latentDim}${adversarial ? `, adversarial on latent-attack points at ε=${config.eps}` : ''}${config.spectralBound ? `, encoder layers' spectral norms ≤ ${config.spectralBound}` : ''}) on ${data.name}: ${n} examples, ${config.epochs} epochs, batch ${config.batchSize}, adam lr ${config.lr} → ${runDir.dir}\n`,
  );
  const meta = {
    dataset: config.data,
    classNames: data.classNames,
    inputShape,
    numClasses: data.numClasses,
    generative: spec,
    trainedWith: { ...config, backend },
  };
  let bar: ProgressBar | undefined;
  const { metrics } = await trainAutoencoder(
    ae,
    { train: data.train, heldOut: data.test },
    {
      method: adversarial ? 'adversarial' : 'standard',
      epochs: config.epochs,
      batchSize: config.batchSize,
      lr: config.lr,
      seed: config.seed,
      beta: config.beta ?? 1,
      norm: 'linf',
      eps: config.eps,
      steps: config.steps ?? 5,
      evalEvery: config.evalEvery,
      heldOut: config.heldOut,
      ...(config.limit !== undefined ? { limit: config.limit } : {}),
      ...(config.spectralBound !== undefined ? { spectralBound: config.spectralBound } : {}),
    },
    runDir,
    meta,
    {
      onStep: (p) => {
        if (p.batch === 1) bar = new ProgressBar(`epoch ${p.epoch}/${config.epochs}`);
        bar?.update(p.batch, p.batches, `loss ${p.loss.toFixed(2)}`);
      },
      onHeldOut: (m) => void process.stderr.write(`${formatGenerativeMetrics(m)}\n`),
      onEvent: (message) => void process.stderr.write(`advlab: ${message}\n`),
    },
  );
  const quality = reconstructionQuality(ae, data.test, data.test.n, config.seed);
  const final = metrics.at(-1) ?? null;
  const summary = {
    ...config,
    generative: spec,
    dataset: data.name,
    test_examples: quality.images,
    reconstruction: { neg_elbo: quality.negElbo, kl: quality.kl, mse: quality.mse },
    final,
  };
  writeFileAtomic(join(runDir.dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(
    `${config.model}: test negative ELBO ${quality.negElbo.toFixed(2)} nats (KL ${quality.kl.toFixed(2)}), reconstruction MSE ${quality.mse.toFixed(4)} on ${quality.images} test images\nmodel: ${join(runDir.dir, 'model')}\n`,
  );
  return { dir: runDir.dir, test_accuracy: Number.NaN };
}

/** One held-out line of a generative run, as the terminal shows it. */
export function formatGenerativeMetrics(m: GenerativeMetricsLine): string {
  return `epoch ${m.epoch} step ${m.step}: loss ${m.loss.toFixed(2)} held-out −ELBO ${m.neg_elbo.toFixed(2)} KL ${m.kl.toFixed(2)} MSE ${m.mse.toFixed(4)} latent shift at ε=${m.eps} ${m.latent_shift.toFixed(3)} ${formatSeconds(m.seconds)}`;
}

/** The run's config.json, validated by the run schema (a damaged one is E_RUN_CORRUPT naming the file and key). */
function savedConfigOf(runDir: RunDirectory): RunConfig {
  const saved = runDir.readConfig(({ environment: _env, ...rest }) => {
    resolveRunConfig(rest); // throws a ConfigError naming the key, reported as the file's
    return rest as RunConfig;
  });
  return saved;
}

/** The configuration options among the values of flags that were given. */
function configValues(values: Record<string, unknown>, given: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(given.filter((k) => k in RUN_CONFIG_OPTIONS).map((k) => [k, values[k]]));
}

function withFlagErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw withFlagNames(e, TRAIN_OPTIONS);
  }
}

/**
 * The run's saved config, after checking that `changes` (options given again; the others keep their saved
 * values) resolve to the same config. A difference is a ConfigError naming each change.
 */
export function assertSameConfig(runDir: RunDirectory, changes: Record<string, unknown>, flag = '--resume'): RunConfig {
  const saved = savedConfigOf(runDir);
  const asked = withFlagErrors(() => resolveRunConfig({ ...saved, ...changes }));
  const changed = configChanges(saved, asked);
  if (changed.length) throw new ConfigError(flag, `the configuration in ${runDir.configPath}`, `changed ${changed.join(', ')}`);
  return saved;
}

/** Training as a person at a terminal follows it: a progress bar per epoch, held-out lines, events. */
export function terminalReporter(method: string): TrainingReporter {
  let bar: ProgressBar | undefined;
  let epochs = 0;
  return {
    onStart: (info) => {
      epochs = info.epochs;
    },
    onStep: (p) => {
      if (p.batch === 1) bar = new ProgressBar(`epoch ${p.epoch}/${epochs}`);
      const align = p.align !== undefined ? ` align ${p.align.toFixed(3)}` : '';
      bar?.update(
        p.batch,
        p.batches,
        `loss ${p.loss.toFixed(4)} ${method === 'standard' ? 'train' : 'adv'} acc ${(100 * p.advAcc).toFixed(1)}%${align}`,
      );
    },
    onHeldOut: (m) => {
      process.stderr.write(`${formatMetrics(m)}\n`);
    },
    onEvent: (message) => {
      process.stderr.write(`advlab: ${message}\n`);
    },
  };
}

function lastPerEpoch(m: MetricsLine[]): MetricsLine[] {
  const by = new Map<number, MetricsLine>();
  for (const l of m) if (l.event === undefined) by.set(l.epoch, l);
  return [...by.values()];
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

export function formatMetrics(m: MetricsLine): string {
  return `epoch ${m.epoch} step ${m.step}: loss ${m.loss.toFixed(4)} clean ${pct(m.clean_acc)} FGSM ${pct(m.fgsm_acc)} PGD-10 ${pct(m.pgd_acc)} align ${m.grad_align.toFixed(3)} cos(FGSM,PGD) ${m.fgsm_pgd_cos.toFixed(3)}${m.linearity_error !== undefined ? ` γ ${m.linearity_error.toPrecision(3)}` : ''} ε=${m.eps} ${formatSeconds(m.seconds)}${m.co ? `  ** CO: ${m.co_rules!.join(', ')}` : ''}${m.at_chance ? '  ** at chance' : ''}`;
}

function formatSummary(s: {
  method: string;
  test_accuracy: number;
  test_examples: number;
  co_epochs: number[];
  seconds_per_epoch: number[];
  final: MetricsLine | null;
}): string {
  const per = s.seconds_per_epoch.length ? s.seconds_per_epoch.reduce((a, b) => a + b, 0) / s.seconds_per_epoch.length : 0;
  const f = s.final;
  return [
    `${s.method}: test accuracy ${pct(s.test_accuracy)} on ${s.test_examples} test images`,
    f
      ? `held-out: clean ${pct(f.clean_acc)}, FGSM ${pct(f.fgsm_acc)}, PGD-10 ${pct(f.pgd_acc)} at ε=${f.eps}; alignment ${f.grad_align.toFixed(3)}`
      : '',
    `time per epoch ${formatSeconds(per)}${s.co_epochs.length ? `; catastrophic overfitting flagged in epoch(s) ${s.co_epochs.join(', ')}` : '; no catastrophic overfitting flagged'}`,
  ]
    .filter(Boolean)
    .join('\n');
}

function readVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../../core/package.json', import.meta.url), 'utf8')).version as string;
  } catch {
    return 'unknown';
  }
}
