/**
 * `npm run bench`: advlab against PyTorch, side by side in one run on the same machine.
 *
 * The same models (wong-cnn, cnn), the same batch of real Fashion-MNIST (the first 128 training images;
 * the first 1000 test images for the evaluations), the same algorithms and hyper-parameters, the same
 * thread count, default environment for both. Per workload: min / median / max wall time of each side over
 * R rounds, the median of the per-round ratios advlab / PyTorch, the achieved GFLOP/s (analytic FLOPs,
 * bench/flops.ts) against a measured oneDNN conv peak, and the peak resident memory of both processes.
 * The `autoattack` workload runs AutoAttack's standard suite on a PGD-trained wong-cnn: advlab's
 * evaluateRobustness against fra31/auto-attack's own code (bench/pytorch/autoattack_eval.py, given a checkout).
 *
 * The two sides run in separate child processes (bench/advlab-worker.ts per backend, and
 * bench/pytorch/bench.py --serve under /usr/bin/python3 per thread count; autoattack_eval.py once per
 * round), strictly one at a time: for every (backend, model, workload), R rounds of advlab then PyTorch,
 * so load that comes and goes hits both sides of a round's ratio. PyTorch's wong-cnn step times vary up to
 * 4× between runs on a quiet machine; the median of the per-round ratios is robust to such a peer. The
 * conv peak is measured afterwards in fresh processes so it does not inflate peak RSS.
 *
 *   npm run bench -- [--quick] [--backends onednn,wasm] [--models wong-cnn,cnn] [--workloads ...] [--rounds R]
 *                    [--threads N] [--reps K] [--eval-reps K] [--warmup W] [--eval-n N] [--no-peak]
 *                    [--peak-batch B] [--out FILE] [--python /usr/bin/python3] [--seed S]
 *                    [--autoattack PATH] [--aa-model DIR] [--aa-n N] [--aa-bs B] [--aa-square-queries Q]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdvlabError } from '../packages/core/src/errors.ts';
import { writeFileAtomic } from '@advlab/node';
import { WORKLOADS, forwardFlops, peakConvFlops, workloadFlops, type WorkloadName } from './flops.ts';
import {
  ROOT,
  STANDARD_SQUARE_QUERIES,
  USAGE,
  autoattackSkipReason,
  modelFolder,
  parseOptions,
  type BackendChoice,
  type BenchOptions,
} from './options.ts';
import {
  AUTOATTACK_STANDARD,
  disagreements,
  parseAutoAttackOutput,
  roundRatios,
  sideStats,
  suiteMs,
  type SideStats,
  type SuiteRound,
} from './stats.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const PROTOCOL_PREFIX = '@@bench ';
/** ε of the AutoAttack workload, in [0, 1] pixel units: the PGD-trained model's training ε. */
const AA_EPS = 0.1;

// ------------------------------------------------------------------------------------------ children

type Msg = Record<string, unknown> & { ok?: boolean; error?: string };

/** A child process speaking the line protocol: one '@@bench {json}' line per answer. */
class Child {
  private readonly proc: ChildProcess;
  private buf = '';
  private stderrTail = '';
  private readonly inbox: Msg[] = [];
  private waiting: { resolve: (m: Msg) => void; reject: (e: Error) => void } | null = null;
  private exitInfo: string | null = null;

  constructor(
    readonly label: string,
    cmd: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => {
      this.buf += chunk;
      for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (!line.startsWith(PROTOCOL_PREFIX)) continue;
        let msg: Msg;
        try {
          msg = JSON.parse(line.slice(PROTOCOL_PREFIX.length)) as Msg;
        } catch {
          msg = { ok: false, error: `unparseable protocol line: ${line.slice(0, 200)}` };
        }
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = null;
          w.resolve(msg);
        } else this.inbox.push(msg);
      }
    });
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
    });
    this.proc.stdin!.on('error', () => {}); // EPIPE after a crash surfaces through 'exit'
    this.proc.on('error', (e) => this.fail(`could not start ${cmd}: ${e.message}`));
    this.proc.on('exit', (code, signal) => this.fail(`exited (${signal ?? `code ${code}`})`));
  }

  private fail(why: string): void {
    this.exitInfo ??= `${this.label} ${why}${this.stderrTail.trim() ? `; stderr:\n${this.stderrTail.trim()}` : ''}`;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.reject(new Error(this.exitInfo));
    }
  }

  /** The next protocol message; an {ok: false} message becomes an exception. */
  async next(): Promise<Msg> {
    const msg =
      this.inbox.shift() ??
      (await new Promise<Msg>((resolve, reject) => {
        if (this.exitInfo) reject(new Error(this.exitInfo));
        else this.waiting = { resolve, reject };
      }));
    if (msg.ok === false) throw new Error(`${this.label}: ${msg.error ?? 'failed'}`);
    return msg;
  }

  request(req: object): Promise<Msg> {
    if (this.exitInfo) return Promise.reject(new Error(this.exitInfo));
    this.proc.stdin!.write(`${JSON.stringify(req)}\n`);
    return this.next();
  }

  async quit(): Promise<Msg | null> {
    try {
      const bye = this.exitInfo ? null : await this.request({ cmd: 'quit' });
      this.proc.stdin!.end();
      return bye;
    } catch {
      return null;
    } finally {
      if (this.proc.exitCode === null) await new Promise((r) => this.proc.once('exit', r));
    }
  }
}

function advlabChild(label: string, args: string[], threads: number | undefined): Child {
  const env = threads === undefined ? process.env : { ...process.env, ADVLAB_THREADS: String(threads) };
  return new Child(label, process.execPath, ['--conditions=source', '--import', 'tsx', join(HERE, 'advlab-worker.ts'), ...args], env);
}

function pythonChild(o: BenchOptions, label: string, args: string[]): Child {
  return new Child(label, o.python, [join(HERE, 'pytorch', 'bench.py'), ...args]);
}

/** Runs a command to completion; stdout whole, stderr's tail (for error messages). */
function runProcess(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdoutToStderr?: boolean } = {},
): Promise<{ code: number | null; signal: string | null; stdout: string; stderrTail: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, {
      cwd: ROOT,
      env: opts.env ?? process.env,
      stdio: opts.stdoutToStderr ? ['ignore', 2, 2] : ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderrTail = '';
    proc.stdout?.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    proc.stderr?.setEncoding('utf8').on('data', (c: string) => {
      stderrTail = (stderrTail + c).slice(-4000);
    });
    proc.on('error', (e) => reject(new Error(`could not start ${cmd}: ${e.message}`)));
    proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderrTail }));
  });
}

/**
 * The model folder of the PGD-trained wong-cnn AutoAttack evaluates. The bench's own cache is trained with
 * advlab's CLI when absent (resumed when an earlier training was interrupted), so a fresh checkout needs no
 * manual step; a folder given with --aa-model is used as it is.
 */
async function ensureAutoAttackModel(o: BenchOptions): Promise<string> {
  const found = modelFolder(o.aaModel);
  if (found) return found;
  if (o.aaModelGiven) throw new Error(`--aa-model ${o.aaModel}: no model.json in it or in its model/`);
  const cli = join(ROOT, 'packages', 'cli', 'dist', 'main.js');
  if (!existsSync(cli))
    throw new Error(
      `no model at ${shortPath(o.aaModel)} and advlab's CLI is not built (packages/cli/dist/main.js): run \`npm run build\`, or pass --aa-model DIR`,
    );
  const resume = existsSync(join(o.aaModel, 'config.json'));
  const args = resume
    ? ['train', '--resume', o.aaModel]
    : ['train', '--model', 'wong-cnn', '--method', 'pgd', '--eps', String(AA_EPS), '--epochs', '5', '--seed', '0', '--out', o.aaModel];
  log(
    `autoattack: no PGD-trained wong-cnn at ${shortPath(o.aaModel)}; ${resume ? 'resuming its training' : 'training it'} first with advlab train (about 2.5 min on 2 cores): advlab ${args.join(' ')}`,
  );
  mkdirSync(dirname(o.aaModel), { recursive: true });
  const env = o.threads === undefined ? process.env : { ...process.env, ADVLAB_THREADS: String(o.threads) };
  const r = await runProcess(process.execPath, [join(ROOT, 'packages', 'cli', 'bin', 'advlab.js'), ...args], { env, stdoutToStderr: true });
  const made = modelFolder(o.aaModel);
  if (r.code !== 0 || !made) throw new Error(`advlab train into ${shortPath(o.aaModel)} failed (${r.signal ?? `exit code ${r.code}`})`);
  return made;
}

interface AutoAttackPlan {
  checkout: string;
  /** The model folder. */
  model: string;
}

/** One run of fra31/auto-attack's standard version (bench/pytorch/autoattack_eval.py) in a fresh process. */
async function pytorchAutoAttack(o: BenchOptions, aa: AutoAttackPlan, threads: number): Promise<SuiteRound> {
  const args = [
    join(HERE, 'pytorch', 'autoattack_eval.py'),
    '--model',
    aa.model,
    '--autoattack',
    aa.checkout,
    '--n',
    String(o.aaN),
    '--eps',
    String(AA_EPS),
    '--bs',
    String(o.aaBs),
    '--threads',
    String(threads),
    '--seed',
    String(o.seed),
    ...(o.aaSquareQueries !== undefined ? ['--square-queries', String(o.aaSquareQueries)] : []),
  ];
  const r = await runProcess(o.python, args);
  try {
    const round = parseAutoAttackOutput(r.stdout);
    if (r.code !== 0) throw new Error(`exit code ${r.code}`);
    return round;
  } catch (e) {
    const tail = r.stderrTail.trim().split('\n').slice(-5).join('\n    ');
    throw new Error(
      `pytorch autoattack_eval.py: ${messageOf(e)}${r.signal ? ` (${r.signal})` : ''}${tail ? `; stderr:\n    ${tail}` : ''}`,
    );
  }
}

// ------------------------------------------------------------------------------------------ machine

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

function physicalCores(): number | null {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const perSocket = /^cpu cores\s*:\s*(\d+)$/m.exec(text);
    const sockets = new Set([...text.matchAll(/^physical id\s*:\s*(\d+)$/gm)].map((m) => m[1])).size || 1;
    return perSocket ? Number(perSocket[1]) * sockets : null;
  } catch {
    return null;
  }
}

function cpuFlags(): string[] {
  try {
    const m = /^flags\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    const all = new Set(m ? m[1]!.split(/\s+/) : []);
    return ['avx', 'avx2', 'fma', 'avx512f', 'avx512_vnni', 'amx_tile'].filter((f) => all.has(f));
  } catch {
    return [];
  }
}

// ------------------------------------------------------------------------------------------ run

interface Measured {
  median_ms: number;
  times_ms: number[];
  peak_rss_kb: number;
}

/** Per-round details of an AutoAttack row, both sides, in round order (null where a round failed). */
export interface AutoAttackDetail {
  /** 'suite' for the whole suite, else the attack as it ran inside the suite. */
  attack: string;
  standard_budget: boolean;
  square_queries: number;
  advlab_run_on: (number | null)[];
  pytorch_run_on: (number | null)[];
  advlab_broke: (number | null)[];
  pytorch_broke: (number | null)[];
  /** Robust accuracy after this attack (the whole suite: the final one), fractions of n. */
  advlab_robust_accuracy: (number | null)[];
  pytorch_robust_accuracy: (number | null)[];
  advlab_clean_accuracy?: (number | null)[];
  pytorch_clean_accuracy?: (number | null)[];
  /** The whole call per round (not compared: advlab's includes the clean pass, AutoAttack's its checks). */
  advlab_total_ms?: (number | null)[];
  pytorch_total_ms?: (number | null)[];
  warnings?: string[];
}

export interface WorkloadRow {
  name: string;
  model: string;
  backend: string;
  threads: number;
  /** Rounds in which both sides completed. */
  rounds: number;
  /** The median round of each side (= advlab.median_ms, pytorch.median_ms). */
  advlab_ms: number | null;
  pytorch_ms: number | null;
  /** Median of the per-round ratios advlab / PyTorch: > 1 means advlab is slower. */
  ratio: number | null;
  ratio_min: number | null;
  ratio_max: number | null;
  ratios: (number | null)[];
  advlab: SideStats | null;
  pytorch: SideStats | null;
  gflop: number | null;
  advlab_gflops: number | null;
  pytorch_gflops: number | null;
  advlab_pct_of_peak: number | null;
  pytorch_pct_of_peak: number | null;
  /** Per round, the timed repetitions (training steps and the PGD-20 evaluation). */
  advlab_reps_ms?: number[][];
  pytorch_reps_ms?: number[][];
  autoattack?: AutoAttackDetail;
  error?: string;
}

interface Side {
  requested: BackendChoice;
  backend: string;
  threads: number;
  child: Child;
  ready: Msg;
  rows: WorkloadRow[];
  bye: Msg | null;
  /** Peak RSS reported with the last answer (in case the worker dies before 'quit'). */
  lastPeakRssKb?: number;
  peak?: Msg;
}

interface PySide {
  threads: number;
  child: Child;
  ready: Msg;
  bye: Msg | null;
  lastPeakRssKb?: number;
  peak?: Msg;
}

const mb = (kb: unknown) => (typeof kb === 'number' ? Math.round(kb / 1024) : null);
const round = (v: number | null, digits = 2) => (v === null ? null : Number(v.toFixed(digits)));
const log = (s: string) => process.stderr.write(`${s}\n`);
const present = <T>(xs: readonly (T | null)[]) => xs.filter((x): x is T => x !== null);

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function shortPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

/** A row from the round times of both sides (null where a side failed in that round). */
function timedRow(
  name: string,
  model: string,
  s: Side,
  aRounds: (number | null)[],
  pRounds: (number | null)[],
  gflop: number | null,
  errors: string[],
): WorkloadRow {
  const advlab = sideStats(present(aRounds));
  const pytorch = sideStats(present(pRounds));
  const r = roundRatios(aRounds, pRounds);
  const gflops = (st: SideStats | null) => (gflop !== null && st ? round(gflop / (st.median_ms / 1000)) : null);
  return {
    name,
    model,
    backend: s.backend,
    threads: s.threads,
    rounds: present(r.ratios).length,
    advlab_ms: advlab?.median_ms ?? null,
    pytorch_ms: pytorch?.median_ms ?? null,
    ...r,
    advlab,
    pytorch,
    gflop: gflop === null ? null : round(gflop, 4),
    advlab_gflops: gflops(advlab),
    pytorch_gflops: gflops(pytorch),
    advlab_pct_of_peak: null,
    pytorch_pct_of_peak: null,
    ...(errors.length ? { error: errors.join('; ') } : {}),
  };
}

const fmtMs = (v: number | null) => (v === null ? 'FAILED' : v >= 10000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(1)} ms`);
const fmtRatio = (a: number | null, p: number | null) => (a !== null && p !== null && p > 0 ? `  ${(a / p).toFixed(2)}×` : '');

/** The whole-suite row and one row per attack of AutoAttack's standard version, from the rounds of both sides. */
function autoAttackRows(
  o: BenchOptions,
  s: Side,
  aRounds: (SuiteRound | null)[],
  pRounds: (SuiteRound | null)[],
  errors: string[],
  warnings: string[],
): WorkloadRow[] {
  const budget = {
    standard_budget: o.aaSquareQueries === undefined,
    square_queries: o.aaSquareQueries ?? STANDARD_SQUARE_QUERIES,
  };
  const ms = (rounds: (SuiteRound | null)[], attack: string) => rounds.map((r) => (r ? suiteMs(r, attack) : null));
  const step = (rounds: (SuiteRound | null)[], attack: string) => rounds.map((r) => r?.attacks.find((a) => a.attack === attack) ?? null);
  const suite = timedRow('autoattack', 'wong-cnn', s, ms(aRounds, 'autoattack'), ms(pRounds, 'autoattack'), null, errors);
  suite.autoattack = {
    attack: 'suite',
    ...budget,
    advlab_run_on: aRounds.map((r) => r?.attacks[0]?.run_on ?? null),
    pytorch_run_on: pRounds.map((r) => r?.attacks[0]?.run_on ?? null),
    advlab_broke: aRounds.map((r) => (r ? r.attacks.reduce((t, a) => t + (a.broke ?? 0), 0) : null)),
    pytorch_broke: pRounds.map((r) => (r ? r.attacks.reduce((t, a) => t + (a.broke ?? 0), 0) : null)),
    advlab_robust_accuracy: aRounds.map((r) => r?.robust_accuracy ?? null),
    pytorch_robust_accuracy: pRounds.map((r) => r?.robust_accuracy ?? null),
    advlab_clean_accuracy: aRounds.map((r) => r?.clean_accuracy ?? null),
    pytorch_clean_accuracy: pRounds.map((r) => r?.clean_accuracy ?? null),
    advlab_total_ms: aRounds.map((r) => (r?.total_seconds != null ? round(r.total_seconds * 1000) : null)),
    pytorch_total_ms: pRounds.map((r) => (r?.total_seconds != null ? round(r.total_seconds * 1000) : null)),
    warnings: [...warnings, ...new Set(present(pRounds).flatMap((r) => r.warnings.map((w) => `AutoAttack log: ${w}`)))],
  };
  const rows = [suite];
  for (const attack of AUTOATTACK_STANDARD) {
    const row = timedRow(`autoattack/${attack}`, 'wong-cnn', s, ms(aRounds, attack), ms(pRounds, attack), null, errors);
    const a = step(aRounds, attack);
    const p = step(pRounds, attack);
    row.autoattack = {
      attack,
      ...budget,
      advlab_run_on: a.map((x) => x?.run_on ?? null),
      pytorch_run_on: p.map((x) => x?.run_on ?? null),
      advlab_broke: a.map((x) => x?.broke ?? null),
      pytorch_broke: p.map((x) => x?.broke ?? null),
      advlab_robust_accuracy: a.map((x) => x?.robust_accuracy ?? null),
      pytorch_robust_accuracy: p.map((x) => x?.robust_accuracy ?? null),
    };
    rows.push(row);
  }
  return rows;
}

/** One side's measurement of a round: its reps are appended to `reps`, a failure to `errors` (then null). */
async function timeOn(child: Child, req: object, reps: number[][], errors: string[]): Promise<Measured | null> {
  try {
    const m = (await child.request(req)) as unknown as Measured;
    reps.push(m.times_ms.map((t) => round(t)!));
    return m;
  } catch (e) {
    errors.push(messageOf(e));
    return null;
  }
}

async function main(): Promise<number> {
  let o: BenchOptions | 'help';
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (e instanceof AdvlabError) {
      process.stderr.write(`bench: [${e.code}] ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (o === 'help') {
    console.log(USAGE);
    return 0;
  }
  const started = new Date();
  const loadStart = os.loadavg();
  const cores = os.availableParallelism();
  if (loadStart[0]! > 0.5 * cores)
    log(
      `note: load average ${loadStart[0]!.toFixed(2)} on ${cores} logical CPUs at start — other processes share the CPU, timings will be noisy`,
    );
  const unit = { batch: o.batch, evalN: o.evalN };
  const stepWorkloads = o.workloads.filter((w): w is WorkloadName => w !== 'autoattack');
  let failures = 0;

  // 0. AutoAttack: a checkout (else skip, saying how to get one) and the PGD-trained model (trained if absent).
  let aa: AutoAttackPlan | null = null;
  let aaStatus: { status: 'not requested' | 'skipped' | 'failed' | 'measured'; message?: string } = { status: 'not requested' };
  if (o.workloads.includes('autoattack')) {
    const skip = autoattackSkipReason(o.autoattack);
    if (skip) {
      log(skip);
      aaStatus = { status: 'skipped', message: skip };
    } else {
      try {
        aa = { checkout: o.autoattack!, model: await ensureAutoAttackModel(o) };
        aaStatus = { status: 'measured' };
      } catch (e) {
        failures++;
        aaStatus = { status: 'failed', message: messageOf(e) };
        log(`autoattack: ${messageOf(e)}`);
      }
    }
  }

  // 1. advlab workers, one per backend (each prints its resolved backend and thread count).
  const sides: Side[] = [];
  for (const requested of o.backends) {
    const child = advlabChild(
      `advlab[${requested}]`,
      ['--backend', requested, '--seed', String(o.seed), '--batch', String(o.batch), '--eval-n', String(o.evalN), '--eps', String(o.eps)],
      o.threads,
    );
    let ready: Msg;
    try {
      ready = await child.next();
    } catch (e) {
      await Promise.all([child.quit(), ...sides.map((x) => x.child.quit())]);
      log(`bench: advlab backend ${requested} unavailable: ${messageOf(e)}`);
      return 1;
    }
    const backend = String(ready.backend);
    if (sides.some((s) => s.backend === backend)) {
      log(`--backends: ${requested} resolves to ${backend}, already measured; skipping it`);
      await child.quit();
      continue;
    }
    const threads = Number(ready.threads ?? 1);
    if (o.threads !== undefined && threads !== o.threads)
      log(
        `note: --threads ${o.threads}, but advlab's ${backend} backend computes with ${threads} thread(s); PyTorch is given ${threads} for this comparison`,
      );
    log(
      `advlab: backend ${backend} (${threads} thread${threads === 1 ? '' : 's'}${ready.isa ? `, ${String(ready.isa)}` : ''}), tf.js ${String(ready.tfjs)}, data loaded, RSS ${mb(ready.rss_after_load_kb)} MB`,
    );
    sides.push({ requested, backend, threads, child, ready, rows: [], bye: null });
  }

  // 2. PyTorch workers, one per distinct thread count.
  const pys = new Map<number, PySide>();
  for (const s of sides) {
    if (pys.has(s.threads)) continue;
    const child = pythonChild(o, `pytorch[${s.threads} threads]`, [
      '--serve',
      '--threads',
      String(s.threads),
      '--seed',
      String(o.seed),
      '--batch',
      String(o.batch),
      '--eval-n',
      String(o.evalN),
      '--eps',
      String(o.eps),
    ]);
    try {
      const ready = await child.next();
      log(
        `pytorch: ${String(ready.torch)} (oneDNN ${String(ready.onednn)}, ${String(ready.cpu_capability)}), ${String(ready.threads)} thread(s) (its default here: ${String(ready.default_threads)}), data loaded, RSS ${mb(ready.rss_after_load_kb)} MB`,
      );
      pys.set(s.threads, { threads: s.threads, child, ready, bye: null });
    } catch (e) {
      log(`bench: PyTorch side failed to start: ${messageOf(e)}`);
      await Promise.all([child.quit(), ...sides.map((x) => x.child.quit())]);
      return 1;
    }
  }

  // 3. Rounds: per (model, workload) and backend, R times advlab then PyTorch, one process at a time.
  for (const model of o.models) {
    for (const workload of stepWorkloads) {
      const evaluation = workload === 'pgd20-eval';
      // An evaluation is seconds long: the median of its reps absorbs a cold first one, and a warm-up
      // would multiply the round's length for nothing.
      const req = { cmd: 'run', model, workload, warmup: evaluation ? 0 : o.warmup, reps: evaluation ? o.evalReps : o.reps };
      const gflop = workloadFlops(model, workload, unit) / 1e9;
      for (const s of sides) {
        const py = pys.get(s.threads)!;
        const aRounds: (number | null)[] = [];
        const pRounds: (number | null)[] = [];
        const aReps: number[][] = [];
        const pReps: number[][] = [];
        const errors: string[] = [];
        for (let r = 1; r <= o.rounds && errors.length === 0; r++) {
          const am = await timeOn(s.child, req, aReps, errors);
          if (am) s.lastPeakRssKb = am.peak_rss_kb;
          const pm = await timeOn(py.child, req, pReps, errors);
          if (pm) py.lastPeakRssKb = pm.peak_rss_kb;
          const aMs = am?.median_ms ?? null;
          const pMs = pm?.median_ms ?? null;
          aRounds.push(aMs);
          pRounds.push(pMs);
          log(
            `  ${workload.padEnd(10)} ${model.padEnd(8)} round ${r}/${o.rounds}  advlab[${s.backend}] ${fmtMs(aMs)}  pytorch ${fmtMs(pMs)}${fmtRatio(aMs, pMs)}${errors.length ? `\n    ${errors.join('\n    ')}` : ''}`,
          );
        }
        if (errors.length) failures++;
        const row = timedRow(workload, model, s, aRounds, pRounds, gflop, errors);
        row.advlab_reps_ms = aReps;
        row.pytorch_reps_ms = pReps;
        s.rows.push(row);
      }
    }
  }

  // 4. AutoAttack: per backend, R rounds of advlab's whole standard suite then AutoAttack's own, in turn.
  const aaCommits = new Set<string>();
  if (aa) {
    for (const s of sides) {
      const aRounds: (SuiteRound | null)[] = [];
      const pRounds: (SuiteRound | null)[] = [];
      const errors: string[] = [];
      const notes: string[] = [];
      log(
        `  autoattack: ${o.aaN} test images, ε = ${AA_EPS}, batch ${o.aaBs}, ${s.threads} thread(s), model ${shortPath(aa.model)}${o.aaSquareQueries !== undefined ? `, Square ${o.aaSquareQueries} queries (NOT the standard version)` : ''}`,
      );
      for (let r = 1; r <= o.rounds && errors.length === 0; r++) {
        let a: SuiteRound | null = null;
        let p: SuiteRound | null = null;
        try {
          const m = await s.child.request({
            cmd: 'autoattack',
            model: aa.model,
            n: o.aaN,
            eps: AA_EPS,
            bs: o.aaBs,
            seed: o.seed,
            ...(o.aaSquareQueries !== undefined ? { squareQueries: o.aaSquareQueries } : {}),
          });
          s.lastPeakRssKb = m.peak_rss_kb as number;
          a = m.round as SuiteRound;
        } catch (e) {
          errors.push(messageOf(e));
        }
        try {
          p = await pytorchAutoAttack(o, aa, s.threads);
          if (p.threads !== undefined && p.threads !== s.threads)
            notes.push(`AutoAttack ran with ${p.threads} threads, advlab with ${s.threads}`);
          if (p.autoattack_commit) aaCommits.add(p.autoattack_commit);
        } catch (e) {
          errors.push(messageOf(e));
        }
        aRounds.push(a);
        pRounds.push(p);
        const pct = (x: SuiteRound | null) => (x ? ` (robust ${(100 * x.robust_accuracy).toFixed(1)}%)` : '');
        const aMs = a ? a.attack_seconds * 1000 : null;
        const pMs = p ? p.attack_seconds * 1000 : null;
        log(
          `  autoattack round ${r}/${o.rounds}  advlab[${s.backend}] ${fmtMs(aMs)}${pct(a)}  AutoAttack ${fmtMs(pMs)}${pct(p)}${fmtRatio(aMs, pMs)}${errors.length ? `\n    ${errors.join('\n    ')}` : ''}`,
        );
      }
      if (errors.length) failures++;
      const warnings = [...new Set(notes), ...disagreements(aRounds, pRounds)];
      for (const w of warnings) log(`warning: autoattack [${s.backend}] ${w}`);
      s.rows.push(...autoAttackRows(o, s, aRounds, pRounds, errors, warnings));
    }
  }
  for (const s of sides) s.bye = await s.child.quit();
  for (const py of pys.values()) py.bye = await py.child.quit();
  // 5. The conv peak, in fresh processes (a [128,64,56,56] conv would dominate the workloads' peak RSS).
  if (o.peak) {
    for (const py of pys.values()) {
      const c = pythonChild(o, `pytorch peak[${py.threads}]`, [
        '--peak',
        '--threads',
        String(py.threads),
        '--batch',
        String(o.peakBatch),
        '--warmup',
        '1',
        '--reps',
        String(o.peakReps),
      ]);
      try {
        py.peak = (await c.next()).peak as Msg;
      } catch (e) {
        log(`bench: PyTorch peak measurement failed: ${messageOf(e)}`);
      }
      await c.quit();
    }
    for (const s of sides) {
      const c = advlabChild(
        `advlab peak[${s.backend}]`,
        ['--backend', s.backend, '--peak', '--peak-batch', String(o.peakBatch), '--warmup', '1', '--reps', String(o.peakReps)],
        o.threads,
      );
      try {
        s.peak = (await c.next()).peak as Msg;
      } catch (e) {
        log(`bench: advlab peak measurement on ${s.backend} failed: ${messageOf(e)}`);
      }
      await c.quit();
    }
  }
  // The machine's measured oneDNN peak: PyTorch's conv (oneDNN inside PyTorch), or advlab's own conv
  // when its backend is onednn too, whichever is faster.
  const peakOf = (s: Side): number | null => {
    const p = pys.get(s.threads)!.peak?.gflops;
    const a = s.backend === 'onednn' ? s.peak?.gflops : undefined;
    const vals = [p, a].filter((v): v is number => typeof v === 'number');
    return vals.length ? Math.max(...vals) : null;
  };
  for (const s of sides) {
    const g = peakOf(s);
    for (const r of s.rows) {
      r.advlab_pct_of_peak = g && r.advlab_gflops !== null ? round((100 * r.advlab_gflops) / g, 1) : null;
      r.pytorch_pct_of_peak = g && r.pytorch_gflops !== null ? round((100 * r.pytorch_gflops) / g, 1) : null;
    }
  }

  // 6. Report.
  const firstPy = pys.values().next().value as PySide | undefined;
  const machine = {
    cpu: cpuModel(),
    cores,
    physical_cores: physicalCores(),
    cpu_flags: cpuFlags(),
    memory_gb: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    tfjs: sides[0]?.ready.tfjs ?? null,
    torch: firstPy?.ready.torch ?? null,
    torch_onednn: firstPy?.ready.onednn ?? null,
    torch_cpu_capability: firstPy?.ready.cpu_capability ?? null,
    python: firstPy?.ready.python ?? null,
    advlab_onednn: sides.find((s) => s.backend === 'onednn')?.ready.onednn ?? null,
    load_average_start: loadStart.map((v) => Number(v.toFixed(2))),
    load_average_end: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
  const runs = sides.map((s) => {
    const py = pys.get(s.threads)!;
    return {
      backend: s.backend,
      requested_backend: s.requested,
      threads: s.threads,
      workloads: s.rows,
      memory: {
        advlab_peak_rss_mb: mb(s.bye?.peak_rss_kb ?? s.lastPeakRssKb ?? s.ready.peak_rss_kb),
        pytorch_peak_rss_mb: mb(py.bye?.peak_rss_kb ?? py.lastPeakRssKb ?? py.ready.peak_rss_kb),
        advlab_rss_after_data_load_mb: mb(s.ready.rss_after_load_kb),
        pytorch_rss_after_data_load_mb: mb(py.ready.rss_after_load_kb),
      },
      peak: {
        what: `the faster oneDNN conv of: PyTorch (its bundled oneDNN ${String(py.ready.onednn)}, NCHW)${s.backend === 'onednn' ? ' and advlab onednn (NHWC)' : ''}; each the median time of one conv2d forward, input ${o.peakBatch}×56×56×64, 64 filters 3×3, stride 1, same padding (${(peakConvFlops(o.peakBatch) / 1e9).toFixed(2)} GFLOP), ${s.threads} thread(s)`,
        pytorch_gflops: typeof py.peak?.gflops === 'number' ? round(py.peak.gflops as number) : null,
        advlab_gflops: typeof s.peak?.gflops === 'number' ? round(s.peak.gflops as number) : null,
        onednn_peak_gflops: round(peakOf(s)),
      },
    };
  });
  const primary = runs[0]!;
  const result = {
    machine,
    date: started.toISOString(),
    threads: primary.threads,
    backend: primary.backend,
    quick: o.quick,
    settings: {
      batch: o.batch,
      eval_n: o.evalN,
      eps: o.eps,
      seed: o.seed,
      rounds: o.rounds,
      warmup: o.warmup,
      eval_warmup: 0,
      reps: o.reps,
      eval_reps: o.evalReps,
      optimizer: 'adam lr 1e-3',
      pgd_at: 'PGD-7, α = ε/4, random start',
      fgsm_at: 'zero init, α = ε',
      gradalign: 'λ = 0.2, FGSM α = ε, η ~ U(−ε, ε)',
      eval: 'PGD-20, α = ε/4, random start, batch 256',
      flops_per_image_forward: Object.fromEntries(o.models.map((m) => [m, forwardFlops(m)])),
      passes_per_image: Object.fromEntries(WORKLOADS.filter((w) => o.workloads.includes(w.name)).map((w) => [w.name, w.passes])),
      autoattack: o.workloads.includes('autoattack')
        ? {
            ...aaStatus,
            checkout: o.autoattack ?? null,
            autoattack_commit: aaCommits.size ? [...aaCommits].join(', ') : null,
            model: aa?.model ?? o.aaModel,
            n: o.aaN,
            eps: AA_EPS,
            batch: o.aaBs,
            seed: o.seed,
            version: 'standard: APGD-CE, APGD-T, FAB-T, Square, each on the survivors of the ones before',
            square_queries: o.aaSquareQueries ?? STANDARD_SQUARE_QUERIES,
            standard_budget: o.aaSquareQueries === undefined,
            timed: "the attacks' seconds (advlab: the report's worst_case.sequence; AutoAttack: between its log lines)",
          }
        : null,
    },
    workloads: primary.workloads,
    memory: primary.memory,
    peak: primary.peak,
    runs,
  };
  writeFileAtomic(o.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(formatReport(result.machine, runs, o, { plan: aa, ...(aaStatus.message ? { message: aaStatus.message } : {}) }));
  const shown = relative(process.cwd(), o.out);
  console.log(`\nwrote ${shown && !shown.startsWith('..') ? shown : o.out}`);
  return failures ? 1 : 0;
}

type Run = {
  backend: string;
  threads: number;
  workloads: WorkloadRow[];
  memory: Record<string, number | null>;
  peak: { what: string; pytorch_gflops: number | null; advlab_gflops: number | null; onednn_peak_gflops: number | null };
};

/** Lays out rows as aligned columns: the first `left` columns left-aligned, the rest right-aligned. */
function table(header: string[], rows: string[][], left: number): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const fmt = (row: string[]) => row.map((cell, c) => (c < left ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
}

function formatReport(
  machine: { cpu: string; cores: number; torch: unknown; load_average_start: number[] },
  runs: Run[],
  o: BenchOptions,
  aa: { plan: AutoAttackPlan | null; message?: string },
): string {
  const lines: string[] = [];
  const f = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? '-' : v.toFixed(d));
  const spread = (st: SideStats | null, scale = 1, d = 1) =>
    st ? `${f(st.min_ms / scale, d)} / ${f(st.median_ms / scale, d)} / ${f(st.max_ms / scale, d)}` : '-';
  const ratio = (w: WorkloadRow) => (w.ratio === null ? '-' : `${w.ratio.toFixed(2)}×`);
  const range = (w: WorkloadRow) => (w.ratio_min === null ? '-' : `${w.ratio_min.toFixed(2)}–${w.ratio_max!.toFixed(2)}`);
  lines.push(
    `advlab vs PyTorch ${String(machine.torch)} on ${machine.cpu} (${machine.cores} logical CPUs, load ${machine.load_average_start[0]} at start)${o.quick ? ' — QUICK smoke run, not a measurement' : ''}`,
  );
  const steps = o.workloads.filter((w) => w !== 'autoattack' && w !== 'pgd20-eval');
  const parts = [
    ...(steps.length
      ? [`training steps on batch ${o.batch} (first training images): median of ${o.reps} reps after ${o.warmup} warm-up`]
      : []),
    ...(o.workloads.includes('pgd20-eval') ? [`PGD-20 eval of the first ${o.evalN} test images: median of ${o.evalReps} reps`] : []),
  ];
  lines.push(`${o.rounds} rounds per workload, advlab then PyTorch in turn; per round ${parts.join('; ') || 'one run'}`);
  for (const r of runs) {
    lines.push('');
    lines.push(`advlab backend ${r.backend}, ${r.threads} thread(s) — PyTorch ${r.threads} thread(s)`);
    const timed = r.workloads.filter((w) => !w.autoattack);
    if (timed.length) {
      lines.push(
        ...table(
          [
            'workload',
            'model',
            'advlab ms min/med/max',
            'PyTorch ms min/med/max',
            'ratio',
            'ratio range',
            'advlab GFLOP/s',
            'PyTorch GFLOP/s',
            '% of peak (a/p)',
          ],
          timed.map((w) => [
            w.name,
            w.model,
            spread(w.advlab),
            spread(w.pytorch),
            ratio(w),
            range(w),
            f(w.advlab_gflops, 2),
            f(w.pytorch_gflops, 2),
            `${f(w.advlab_pct_of_peak)} / ${f(w.pytorch_pct_of_peak)}`,
          ]),
          2,
        ),
      );
      lines.push(
        `ratio = median over rounds of advlab ms / PyTorch ms (> 1: advlab slower); range = the smallest and largest round's ratio. Training rows: one step on the batch; pgd20-eval: the whole evaluation. GFLOP/s from the median round.`,
      );
    }
    const aaRows = r.workloads.filter((w) => w.autoattack);
    if (aaRows.length) {
      const budget =
        o.aaSquareQueries === undefined ? 'standard version' : `Square ${o.aaSquareQueries} queries: NOT the standard version, a smoke run`;
      lines.push('');
      lines.push(
        `AutoAttack (${budget}) on the first ${o.aaN} test images, ε = ${AA_EPS}, batch ${o.aaBs}, PGD-trained wong-cnn ${aa.plan ? shortPath(aa.plan.model) : ''}: advlab evaluateRobustness vs fra31/auto-attack (PyTorch)`,
      );
      const distinct = (xs: (number | null)[], show: (v: number) => string) => [...new Set(present(xs).map(show))].join(',') || '-';
      const count = (v: number) => String(v);
      const pct = (v: number) => (100 * v).toFixed(1);
      lines.push(
        ...table(
          ['workload', 'advlab s min/med/max', 'AutoAttack s min/med/max', 'ratio', 'ratio range', 'run on (a/p)', 'robust % after (a/p)'],
          aaRows.map((w) => {
            const d = w.autoattack!;
            return [
              w.name,
              spread(w.advlab, 1000, 2),
              spread(w.pytorch, 1000, 2),
              ratio(w),
              range(w),
              `${distinct(d.advlab_run_on, count)} / ${distinct(d.pytorch_run_on, count)}`,
              `${distinct(d.advlab_robust_accuracy, pct)} / ${distinct(d.pytorch_robust_accuracy, pct)}`,
            ];
          }),
          1,
        ),
      );
      lines.push(
        "autoattack = the four attacks' seconds summed (not the clean pass or AutoAttack's checks); each attack row times it inside the suite, on the examples the ones before it left (run on).",
      );
      for (const w of aaRows.filter((x) => x.autoattack!.attack === 'suite'))
        for (const m of w.autoattack!.warnings ?? []) lines.push(`  warning: ${m}`);
    }
    for (const w of r.workloads) if (w.error) lines.push(`  ! ${w.name} ${w.model}: ${w.error}`);
    if (!o.peak) lines.push('peak: not measured (--no-peak)');
    else
      lines.push(
        `peak (one conv2d forward, [${o.peakBatch},56,56,64] ⊛ 64@3×3, ${r.threads} thread(s)): PyTorch/oneDNN ${f(r.peak.pytorch_gflops, 2)} GFLOP/s, advlab ${r.backend} ${f(r.peak.advlab_gflops, 2)} GFLOP/s; "% of peak" is against the oneDNN peak ${f(r.peak.onednn_peak_gflops, 2)} GFLOP/s`,
      );
    lines.push(
      `peak RSS: advlab ${f(r.memory.advlab_peak_rss_mb ?? null, 0)} MB, PyTorch ${f(r.memory.pytorch_peak_rss_mb ?? null, 0)} MB (after loading Fashion-MNIST as float32: ${f(r.memory.advlab_rss_after_data_load_mb ?? null, 0)} MB / ${f(r.memory.pytorch_rss_after_data_load_mb ?? null, 0)} MB)`,
    );
  }
  if (aa.message) lines.push('', aa.message);
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
