/**
 * The advlab side of `npm run bench`, run by bench/run.ts as a child process (one per backend) so that
 * its peak resident memory is its own and the two sides can be interleaved workload by workload.
 *
 *   node --import tsx bench/advlab-worker.ts --backend B [--seed S --batch 128 --eval-n 1000 --eps 0.1]
 *       prints a ready line, then answers one JSON request per stdin line:
 *       {"cmd":"run","model":"wong-cnn","workload":"pgd7-at","warmup":2,"reps":10}
 *       | {"cmd":"autoattack","model":DIR,"n":1000,"eps":0.1,"bs":250,"seed":0,"squareQueries"?:Q}
 *       | {"cmd":"quit"}
 *   node --import tsx bench/advlab-worker.ts --backend B --peak --peak-batch 128 --warmup 1 --reps 5
 *       times one large conv2d forward on the backend and prints its GFLOP/s
 *
 * Protocol lines on stdout start with '@@bench ' (anything else on stdout, e.g. tf.js notices, is ignored).
 * Threads: the onednn backend reads ADVLAB_THREADS (run.ts sets it for --threads); wasm is single-threaded.
 *
 * One training step is what packages/core/src/training/adversarial.ts does per batch:
 * objective.prepare (the adversarial points, outside any θ-gradient) then
 * optimizer.minimize(objective.loss) in a tidy, reading the loss back. The AutoAttack request is one
 * evaluateRobustness call with the 'autoattack' suite and no other attack, as `advlab eval` would run it.
 */
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  autoAttackSuite,
  backendInfo,
  batchTensors,
  chunks,
  classifierFromLayersModel,
  createModel,
  evaluateRobustness,
  makeObjective,
  makeOptimizer,
  range,
  runAttack,
  threatModel,
  trainableVariables,
  useBackend,
  Rng,
  type AttackSuite,
  type BackendName,
  type Classifier,
  type Forward,
  type ImageSet,
  type ObjectiveConfig,
} from '@advlab/core';
import { loadClassifier, loadFashionMnist } from '@advlab/node';
import { BENCH_MODELS, WORKLOAD_NAMES, peakConvFlops, type BenchModel, type WorkloadName } from './flops.ts';
import { median, suiteRoundFromReport } from './stats.ts';

export const PROTOCOL_PREFIX = '@@bench ';
export const LR = 1e-3;
export const GRADALIGN_LAMBDA = 0.2;

const OBJECTIVES: Record<Exclude<WorkloadName, 'pgd20-eval'>, ObjectiveConfig> = {
  standard: { method: 'standard' },
  'pgd7-at': { method: 'pgd', steps: 7 }, // α = ε/4, random start (objectives.ts defaults)
  'fgsm-at': { method: 'fgsm' }, // zero init, α = ε
  gradalign: { method: 'gradalign', lambda: GRADALIGN_LAMBDA }, // FGSM α = ε, η ~ U(−ε, ε)
};

function emit(obj: object): void {
  process.stdout.write(`${PROTOCOL_PREFIX + JSON.stringify(obj)}\n`);
}

function timeReps(fn: () => void, warmup: number, reps: number): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times;
}

const peakRssKb = () => process.resourceUsage().maxRSS; // KiB
const rssKb = () => Math.round(process.memoryUsage().rss / 1024);

function parseArgs(argv: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`advlab-worker: expected --flag, found ${JSON.stringify(a)}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = true;
    else {
      out[a.slice(2)] = next;
      i++;
    }
  }
  return out;
}

function intArg(args: Record<string, string | true>, name: string, dflt: number): number {
  const v = args[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`advlab-worker --${name}: expected an integer ≥ 0, found ${JSON.stringify(v)}`);
  return n;
}

/** Backend description for the report; threads from @advlab/onednn itself when it is the backend. */
async function describeBackend(): Promise<Record<string, unknown>> {
  const info = backendInfo();
  const out: Record<string, unknown> = { backend: info.name, threads: info.threads ?? 1, simd: info.simd, tfjs: info.tfjs };
  if (info.name === 'onednn') {
    try {
      const spec: string = '@advlab/onednn';
      const mod = (await import(spec)) as { info?: () => { threads: number; isa?: string; version?: string } };
      const i = mod.info?.();
      if (i) Object.assign(out, { threads: i.threads, isa: i.isa, onednn: i.version });
    } catch {
      // the backend is active, so the package loaded; leave what backendInfo() said
    }
  }
  return out;
}

interface AutoAttackRequest {
  /** The model folder (model.json inside). */
  model: string;
  n: number;
  eps: number;
  bs: number;
  seed: number;
  /** Square's budget for a smoke run; absent: the standard 5000. */
  squareQueries?: number;
}

/** AutoAttack's standard suite with Square cut to `queries` (its step config would override attackConfig). */
function smokeSuite(queries: number): AttackSuite {
  return {
    name: 'autoattack-smoke',
    label: `${autoAttackSuite.label}, Square limited to ${queries} queries: NOT the standard version`,
    description: autoAttackSuite.description,
    plan(norm, numClasses) {
      const p = autoAttackSuite.plan(norm, numClasses);
      return { ...p, steps: p.steps.map((s) => (s.attack === 'square' ? { ...s, config: { ...s.config, queries } } : s)) };
    },
  };
}

class AdvlabBench {
  private readonly train: ImageSet;
  private readonly test: ImageSet;
  private readonly classifiers = new Map<string, Classifier>();
  readonly rssAfterLoadKb: number;

  constructor(
    private readonly seed: number,
    private readonly batch: number,
    private readonly evalN: number,
    private readonly eps: number,
  ) {
    const data = loadFashionMnist();
    if (batch > data.train.n || evalN > data.test.n)
      throw new Error(`advlab-worker: --batch ${batch} / --eval-n ${evalN} exceed the data set`);
    this.train = data.train;
    this.test = data.test;
    this.rssAfterLoadKb = rssKb();
  }

  private model(name: BenchModel): tfl.LayersModel {
    return createModel(name, { inputShape: [this.train.height, this.train.width, this.train.channels], numClasses: 10, seed: this.seed });
  }

  run(modelName: string, workload: string, warmup: number, reps: number) {
    if (!(BENCH_MODELS as readonly string[]).includes(modelName))
      throw new Error(`model: expected one of ${BENCH_MODELS.join(', ')}, found ${modelName}`);
    if (!(WORKLOAD_NAMES as readonly string[]).includes(workload))
      throw new Error(`workload: expected one of ${WORKLOAD_NAMES.join(', ')}, found ${workload}`);
    const before = tf.memory().numTensors;
    const model = this.model(modelName as BenchModel);
    let times: number[];
    let leaked: number;
    if (workload === 'pgd20-eval') {
      times = timeReps(() => this.pgd20Eval(model), warmup, reps);
      leaked = tf.memory().numTensors - before - model.weights.length;
    } else {
      const objective = makeObjective(OBJECTIVES[workload as Exclude<WorkloadName, 'pgd20-eval'>], this.eps);
      const optimizer = makeOptimizer('adam', LR);
      const vars = trainableVariables(model);
      const forward: Forward = (x, training) => model.apply(x, { training }) as tf.Tensor2D;
      const rng = new Rng(this.seed);
      const ctx = { eps: this.eps, rng };
      const { x, y } = batchTensors(this.train, range(this.batch));
      const step = () => {
        const prepared = objective.prepare(forward, x, y, ctx);
        const loss = tf.tidy(() => optimizer.minimize(() => objective.loss(forward, x, y, prepared, ctx), true, vars)!.dataSync()[0]!);
        tf.dispose(prepared);
        if (!Number.isFinite(loss)) throw new Error(`${workload} on ${modelName}: loss is ${loss}`);
      };
      times = timeReps(step, warmup, reps);
      tf.dispose([x, y]);
      // Adam's moment slots stay until the optimizer is disposed.
      optimizer.dispose();
      leaked = tf.memory().numTensors - before - model.weights.length;
    }
    model.dispose();
    return {
      model: modelName,
      workload,
      times_ms: times,
      median_ms: median(times),
      leaked_tensors: leaked,
      peak_rss_kb: peakRssKb(),
      rss_kb: rssKb(),
    };
  }

  /**
   * AutoAttack's standard suite, alone, on the first n test images: the per-attack figures of the report's
   * worst case. Only the evaluateRobustness call is timed (the model is loaded once per folder); its
   * sanity checks are off because they are not part of what is compared (the attacks' seconds; AutoAttack's
   * own checks are outside them too) and would add minutes per round.
   */
  async autoattack(req: AutoAttackRequest) {
    let classifier = this.classifiers.get(req.model);
    if (!classifier) {
      classifier = (await loadClassifier(req.model)).classifier as Classifier;
      this.classifiers.set(req.model, classifier);
    }
    const suite = req.squareQueries === undefined ? autoAttackSuite : smokeSuite(req.squareQueries);
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    const { report } = evaluateRobustness(classifier, this.test, {
      n: req.n,
      eps: [req.eps],
      norm: 'linf',
      attacks: [],
      suite,
      batchSize: req.bs,
      seed: req.seed,
      sanityChecks: false,
    });
    const ms = performance.now() - t0;
    return {
      suite: suite.label,
      round: suiteRoundFromReport(report, req.squareQueries === undefined),
      eval_ms: ms,
      leaked_tensors: tf.memory().numTensors - before,
      peak_rss_kb: peakRssKb(),
      rss_kb: rssKb(),
    };
  }

  /**
   * Clean and PGD-20 accuracy of the first evalN test images in batches of 256: the library's attack
   * path (runAttack: random start, α = ε/4, then the trust boundary's re-projection and success check)
   * on every image, so the work does not depend on the model's accuracy.
   */
  private pgd20Eval(model: tfl.LayersModel): number {
    const classifier = classifierFromLayersModel(model, { name: 'bench' });
    const threat = threatModel('linf', this.eps);
    let robust = 0;
    let b = 0;
    for (const idx of chunks(range(this.evalN), 256)) {
      const { x, y } = batchTensors(this.test, idx);
      const labels = y.dataSync();
      const pred = tf.tidy(() => tf.argMax(classifier.logits(x), 1).dataSync());
      const r = runAttack('pgd', classifier, x, y, threat, { config: { steps: 20, alpha: this.eps / 4 }, seed: this.seed * 1000003 + b++ });
      for (let i = 0; i < idx.length; i++) if (pred[i] === labels[i] && !r.success[i]) robust++;
      tf.dispose([x, y, r.xAdv]);
    }
    return robust;
  }
}

/** One conv2d forward on the backend: NHWC [batch, 56, 56, 64] ⊛ 3×3×64×64, stride 1, 'same'. */
function peakConv(batch: number, warmup: number, reps: number) {
  const x = tf.randomUniform([batch, 56, 56, 64], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 64, 64], 0, 0.05, 'float32', 2) as tf.Tensor4D;
  const times = timeReps(
    () => {
      const out = tf.conv2d(x, w, 1, 'same');
      out.dataSync();
      out.dispose();
    },
    warmup,
    reps,
  );
  tf.dispose([x, w]);
  const med = median(times);
  const flops = peakConvFlops(batch);
  return {
    shape: `NHWC [${batch},56,56,64] * 3x3x64x64 s1 same, forward`,
    flops,
    times_ms: times,
    median_ms: med,
    gflops: flops / (med / 1000) / 1e9,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const backend = (typeof args.backend === 'string' ? args.backend : 'auto') as BackendName | 'auto';
  await useBackend(backend);
  const info = await describeBackend();
  if (args.peak) {
    emit({
      ok: true,
      ...info,
      peak: peakConv(intArg(args, 'peak-batch', 128), intArg(args, 'warmup', 1), intArg(args, 'reps', 5)),
      peak_rss_kb: peakRssKb(),
    });
    return;
  }
  const eps = typeof args.eps === 'string' ? Number(args.eps) : 0.1;
  const bench = new AdvlabBench(intArg(args, 'seed', 0), intArg(args, 'batch', 128), intArg(args, 'eval-n', 1000), eps);
  emit({ ready: true, ...info, node: process.version, rss_after_load_kb: bench.rssAfterLoadKb, peak_rss_kb: peakRssKb() });
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const raw of rl) {
    const line = raw.trim();
    if (!line) continue;
    try {
      const req = JSON.parse(line) as { cmd?: string; model?: string; workload?: string; warmup?: number; reps?: number };
      if (req.cmd === 'quit') {
        emit({ ok: true, bye: true, peak_rss_kb: peakRssKb(), rss_kb: rssKb() });
        break;
      }
      if (req.cmd === 'autoattack') {
        emit({ ok: true, ...(await bench.autoattack(req as unknown as AutoAttackRequest)) });
        continue;
      }
      if (req.cmd !== 'run') throw new Error(`expected a request {"cmd": "run"|"autoattack"|"quit"}, found ${line}`);
      emit({ ok: true, ...bench.run(String(req.model), String(req.workload), Number(req.warmup ?? 1), Number(req.reps ?? 1)) });
    } catch (e) {
      emit({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
  }
  rl.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    emit({ ok: false, fatal: true, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    process.exit(1);
  },
);
