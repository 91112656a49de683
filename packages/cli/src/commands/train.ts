import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  INIT_SCHEMES,
  LR_SCHEDULES,
  METHODS,
  MODELS,
  assertModelName,
  backendInfo,
  classifierFromLayersModel,
  createModel,
  assertMinority,
  parseMinority,
  predictLabels,
  withMinority,
  type Minority,
  trainAdversarial,
  type AdversarialTrainingConfig,
  type CoPolicy,
  type LrSchedule,
  type InitScheme,
  type MethodName,
  type MetricsLine,
  type ModelName,
} from '@advlab/core';
import { RunDirectory, loadDataset, writeFileAtomic } from '@advlab/node';
import { COMMON, nonNegative, num, parse, positiveInt, str } from '../args.ts';
import { ProgressBar, formatSeconds } from '../progress.ts';
import { selectBackend, seedOf } from '../context.ts';

export const trainHelp = `advlab train --model NAME --epochs N (--run NAME | --out DIR) [--method ${METHODS.map((m) => m.name).join('|')}]
             [--eps 0.1] [--steps 7] [--alpha A] [--lambda 0.2] [--beta 6] [--init torch|he] [--data SPEC] [--limit M]
             [--minority CLASS:FRACTION]
             [--batch-size 128] [--optimizer adam|sgd] [--lr 0.001] [--momentum 0.9] [--weight-decay 0]
             [--schedule ${LR_SCHEDULES.join('|')}] [--eps-ramp EPOCHS] [--held-out 1000] [--eval-every N]
             [--on-co warn|stop|rollback] [--seed S] [--backend ...]
advlab train --resume DIR
  Trains a zoo model (${MODELS.map((m) => m.name).join(', ')}) with a method (standard or adversarial) into a run
  directory (runs/NAME or DIR): config.json, metrics.jsonl (held-out clean/FGSM/PGD-10 accuracy, gradient
  alignment, CO flags), checkpoints every epoch, best/ and model/ (tf.js format), summary.json.
  --minority keeps only the first FRACTION of one class's training examples (e.g. 0:0.1).
  --resume continues an interrupted run from its last checkpoint; it refuses a changed configuration.`;

/** The resolved configuration a run is defined by (what --resume compares). */
export interface RunConfig extends AdversarialTrainingConfig {
  model: ModelName;
  init: InitScheme;
  data: string;
  minority?: Minority;
}

const SPEC = {
  ...COMMON,
  model: { type: 'string' },
  method: { type: 'string' },
  eps: { type: 'string' },
  steps: { type: 'string' },
  alpha: { type: 'string' },
  lambda: { type: 'string' },
  beta: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  schedule: { type: 'string' },
  'eps-ramp': { type: 'string' },
  limit: { type: 'string' },
  'held-out': { type: 'string' },
  'eval-every': { type: 'string' },
  'on-co': { type: 'string' },
  run: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'string' },
  data: { type: 'string' },
  init: { type: 'string' },
  minority: { type: 'string' },
} as const;

function oneOf<T extends string>(v: unknown, flag: string, allowed: readonly T[], def: T): T {
  const s = str(v, def);
  if (!allowed.includes(s as T)) throw new ConfigError(flag, `one of ${allowed.join(', ')}`, s);
  return s as T;
}

function resolveConfig(v: Record<string, unknown>): RunConfig {
  const model = str(v.model, 'wong-cnn');
  assertModelName(model);
  const method = oneOf<MethodName>(
    v.method,
    '--method',
    METHODS.map((m) => m.name),
    'standard',
  );
  const optional = (flag: string, key: string, check = (x: number) => x > 0, expected = 'a number > 0') =>
    v[key] === undefined ? undefined : num(v[key], flag, 0, check, expected);
  const c: RunConfig = {
    model,
    init: oneOf<InitScheme>(v.init, '--init', INIT_SCHEMES, 'torch'),
    data: str(v.data, 'fashion-mnist'),
    minority: v.minority === undefined ? undefined : parseMinority(String(v.minority)),
    method,
    eps: num(v.eps, '--eps', method === 'standard' ? 0.1 : 0.1, nonNegative, 'a number ≥ 0'),
    steps: optional('--steps', 'steps', positiveInt, 'an integer ≥ 1'),
    alpha: optional('--alpha', 'alpha'),
    lambda: optional('--lambda', 'lambda', nonNegative, 'a number ≥ 0'),
    beta: optional('--beta', 'beta', nonNegative, 'a number ≥ 0'),
    epochs: num(v.epochs, '--epochs', 5, positiveInt, 'an integer ≥ 1'),
    batchSize: num(v['batch-size'], '--batch-size', 128, positiveInt, 'an integer ≥ 1'),
    optimizer: oneOf(v.optimizer, '--optimizer', ['adam', 'sgd'] as const, 'adam'),
    lr: num(v.lr, '--lr', 1e-3, (x) => x > 0, 'a number > 0'),
    momentum: num(v.momentum, '--momentum', 0.9, nonNegative, 'a number ≥ 0'),
    weightDecay: num(v['weight-decay'], '--weight-decay', 0, nonNegative, 'a number ≥ 0'),
    schedule: oneOf<LrSchedule>(v.schedule, '--schedule', LR_SCHEDULES, 'constant'),
    epsRampEpochs: num(v['eps-ramp'], '--eps-ramp', 0, nonNegative, 'a number ≥ 0'),
    seed: seedOf(v.seed),
    limit: optional('--limit', 'limit', positiveInt, 'an integer ≥ 1'),
    heldOut: num(v['held-out'], '--held-out', 1000, positiveInt, 'an integer ≥ 1'),
    evalEvery: num(v['eval-every'], '--eval-every', 0, (x) => Number.isInteger(x) && x >= 0, 'an integer ≥ 0'),
    alignExamples: 256,
    pgdEvalSteps: 10,
    onCo: oneOf<CoPolicy>(v['on-co'], '--on-co', ['warn', 'stop', 'rollback'], 'warn'),
    co: {},
  };
  // JSON drops undefined keys: compare and store the same shape.
  return JSON.parse(JSON.stringify(c)) as RunConfig;
}

export interface TrainSummary {
  dir: string;
  test_accuracy: number;
}

export async function train(argv: string[]): Promise<TrainSummary> {
  const v = parse(argv, SPEC);
  let runDir: RunDirectory;
  let config: RunConfig;
  if (v.resume !== undefined) {
    runDir = new RunDirectory(String(v.resume));
    const given = Object.keys(v).filter((k) => !['resume', 'backend', 'help'].includes(k));
    config = given.length > 0 ? assertSameConfig(runDir, v) : savedConfigOf(runDir);
  } else {
    config = resolveConfig(v);
    const dir = v.out !== undefined ? String(v.out) : v.run !== undefined ? join('runs', String(v.run)) : undefined;
    if (!dir) throw new ConfigError('--run', 'a run name (or --out DIR)', 'nothing');
    runDir = new RunDirectory(dir);
  }
  const backend = await selectBackend(v.backend);
  const loaded = loadDataset(config.data, { seed: config.seed });
  if (config.minority) assertMinority(config.minority, loaded.numClasses); // the class must exist in this dataset
  const data = config.minority ? { ...loaded, train: withMinority(loaded.train, config.minority) } : loaded;
  const inputShape: [number, number, number] = [data.train.height, data.train.width, data.train.channels];
  if (v.resume === undefined) {
    runDir.create({
      ...config,
      environment: { backend: backendInfo(), node: process.version, advlab: readVersion(), date: new Date().toISOString() },
    });
  }
  const model = createModel(config.model, { inputShape, numClasses: data.numClasses, seed: config.seed, init: config.init ?? 'he' }); // configs written before --init existed were He-initialised
  const n = Math.min(config.limit ?? data.train.n, data.train.n);
  process.stderr.write(
    `training ${config.model} (${config.method}${config.method === 'standard' ? '' : `, ε=${config.eps}`}) on ${data.name}: ${n} examples, ${config.epochs} epochs, batch ${config.batchSize}, ${config.optimizer} lr ${config.lr} (${config.schedule}) → ${runDir.dir}\n`,
  );
  let bar: ProgressBar | undefined;
  const meta = {
    dataset: config.data,
    classNames: data.classNames,
    inputShape,
    numClasses: data.numClasses,
    trainedWith: { ...config, backend },
  };
  const { metrics, stoppedByCo } = await trainAdversarial(model, data.train, data.test, config, runDir, meta, {
    onBatch: (p) => {
      if (p.batch === 1) bar = new ProgressBar(`epoch ${p.epoch}/${p.epochs}`);
      bar!.update(
        p.batch,
        p.batches,
        `loss ${p.loss.toFixed(4)} ${config.method === 'standard' ? 'train' : 'adv'} acc ${(100 * p.advAcc).toFixed(1)}%${p.align !== undefined ? ` align ${p.align.toFixed(3)}` : ''}`,
      );
    },
    onMetrics: (m) => process.stderr.write(`${formatMetrics(m)}\n`),
    onEvent: (msg) => process.stderr.write(`advlab: ${msg}\n`),
  });
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

function savedConfigOf(runDir: RunDirectory): RunConfig {
  const { environment: _env, ...saved } = runDir.readConfig<RunConfig & { environment?: unknown }>();
  return saved as RunConfig;
}

/**
 * The run's saved config, after checking that `flags` (parsed `advlab train` flags; those not given
 * keep the saved values) resolve to the same config. A difference is a ConfigError naming each change.
 */
export function assertSameConfig(runDir: RunDirectory, flags: Record<string, unknown>, flag = '--resume'): RunConfig {
  const saved = savedConfigOf(runDir);
  const asked = resolveConfig({ ...flagsOf(saved), ...flags });
  const before: Record<string, unknown> = { ...saved };
  const after: Record<string, unknown> = { ...asked };
  const changed = Object.keys({ ...asked, ...saved }).filter((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]));
  if (changed.length)
    throw new ConfigError(
      flag,
      `the configuration in ${runDir.configPath}`,
      `changed ${changed.map((k) => `${k}: ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`).join(', ')}`,
    );
  return saved;
}

/** `advlab train` argv → parsed flags (for assertSameConfig). */
export const parseTrainFlags = (argv: string[]) => parse(argv, SPEC);

/** The config as CLI flags, so a resume with partial flags is compared against the full saved config. */
function flagsOf(c: RunConfig): Record<string, unknown> {
  const f: Record<string, unknown> = {
    model: c.model,
    init: c.init,
    data: c.data,
    method: c.method,
    eps: String(c.eps),
    epochs: String(c.epochs),
    'batch-size': String(c.batchSize),
    optimizer: c.optimizer,
    lr: String(c.lr),
    momentum: String(c.momentum),
    'weight-decay': String(c.weightDecay),
    schedule: c.schedule,
    'eps-ramp': String(c.epsRampEpochs),
    seed: String(c.seed),
    'held-out': String(c.heldOut),
    'eval-every': String(c.evalEvery),
    'on-co': c.onCo,
  };
  if (c.minority) f.minority = `${c.minority.class}:${c.minority.fraction}`;
  for (const [flag, key] of [
    ['steps', 'steps'],
    ['alpha', 'alpha'],
    ['lambda', 'lambda'],
    ['beta', 'beta'],
    ['limit', 'limit'],
  ] as const) {
    if (c[key] !== undefined) f[flag] = String(c[key]);
  }
  return f;
}

function lastPerEpoch(m: MetricsLine[]): MetricsLine[] {
  const by = new Map<number, MetricsLine>();
  for (const l of m) if (l.event === undefined) by.set(l.epoch, l);
  return [...by.values()];
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

export function formatMetrics(m: MetricsLine): string {
  return `epoch ${m.epoch} step ${m.step}: loss ${m.loss.toFixed(4)} clean ${pct(m.clean_acc)} FGSM ${pct(m.fgsm_acc)} PGD-10 ${pct(m.pgd_acc)} align ${m.grad_align.toFixed(3)} cos(FGSM,PGD) ${m.fgsm_pgd_cos.toFixed(3)} ε=${m.eps} ${formatSeconds(m.seconds)}${m.co ? `  ** CO: ${m.co_rules!.join(', ')}` : ''}${m.at_chance ? '  ** at chance' : ''}`;
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
