/**
 * `npm run bench`: advlab against PyTorch, side by side in one run on the same machine.
 *
 * The same models (wong-cnn, cnn), the same batch of real Fashion-MNIST (the first 128 training images;
 * the first 1000 test images for the evaluation), the same algorithms and hyper-parameters, the same
 * thread count, default environment for both. Per workload: the median wall time of each side, the
 * ratio advlab / PyTorch, the achieved GFLOP/s (analytic FLOPs, bench/flops.ts) against a measured
 * oneDNN conv peak, and the peak resident memory of both processes.
 *
 * The two sides run in separate child processes (bench/advlab-worker.ts per backend, and
 * bench/pytorch/bench.py --serve under /usr/bin/python3 per thread count), strictly one at a time:
 * for every (model, workload) the advlab side is measured, then PyTorch, so slow drifts in machine load
 * hit both. The conv peak is measured afterwards in fresh processes so it does not inflate peak RSS.
 *
 *   npm run bench -- [--quick] [--backends onednn,wasm] [--models wong-cnn,cnn] [--workloads ...]
 *                    [--threads N] [--reps K] [--eval-reps K] [--warmup W] [--eval-n N] [--no-peak]
 *                    [--peak-batch B] [--out FILE] [--python /usr/bin/python3] [--seed S]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdvlabError, ConfigError } from '../packages/core/src/errors.ts';
import { writeFileAtomic } from '@advlab/node';
import {
  BENCH_MODELS,
  WORKLOAD_NAMES,
  WORKLOADS,
  forwardFlops,
  peakConvFlops,
  workloadFlops,
  type BenchModel,
  type WorkloadName,
} from './flops.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const PROTOCOL_PREFIX = '@@bench ';
const BACKEND_CHOICES = ['auto', 'onednn', 'wasm', 'cpu'] as const;
type BackendChoice = (typeof BACKEND_CHOICES)[number];

// ------------------------------------------------------------------------------------------ options

export interface BenchOptions {
  backends: BackendChoice[];
  models: BenchModel[];
  workloads: WorkloadName[];
  threads?: number;
  quick: boolean;
  warmup: number;
  reps: number;
  evalReps: number;
  batch: number;
  evalN: number;
  eps: number;
  seed: number;
  peak: boolean;
  peakBatch: number;
  peakReps: number;
  out: string;
  python: string;
}

const USAGE = `usage: npm run bench -- [options]

  --quick               smoke run: 1 warm-up, 2 timed reps (1 for the evaluation), small peak conv;
                        writes bench/results/latest-quick.json unless --out is given
  --backends LIST       advlab backends to measure, comma-separated: auto, onednn, wasm, cpu (default auto);
                        --backend is a synonym
  --models LIST         ${BENCH_MODELS.join(',')} (default both)
  --workloads LIST      ${WORKLOAD_NAMES.join(',')} (default all)
  --threads N           threads for both sides (default: what the advlab backend uses — onednn: all
                        hardware threads, wasm/cpu: 1); sets ADVLAB_THREADS for advlab
  --warmup W            untimed repetitions before timing (default 2; quick 1)
  --reps K              timed repetitions of each training step (default 10; quick 2)
  --eval-reps K         timed repetitions of the PGD-20 evaluation (default 3; quick 1)
  --eval-n N            test images in the PGD-20 evaluation (default 1000)
  --no-peak             skip the conv peak measurement
  --peak-batch B        batch of the peak conv [B,56,56,64]⊛3×3×64×64 (default 128; quick 16)
  --seed S              model / attack seed (default 0)
  --out FILE            result JSON (default bench/results/latest.json)
  --python PATH         Python with torch (default /usr/bin/python3: Debian's python3-torch)`;

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(flag, 'an integer ≥ 1', JSON.stringify(v));
  return n;
}

function listOf<T extends string>(flag: string, v: string, choices: readonly T[]): T[] {
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new ConfigError(flag, `a comma-separated list of ${choices.join(', ')}`, JSON.stringify(v));
  for (const s of items)
    if (!(choices as readonly string[]).includes(s))
      throw new ConfigError(flag, `a comma-separated list of ${choices.join(', ')}`, JSON.stringify(s));
  return [...new Set(items)] as T[];
}

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const flags = new Map<string, string | true>();
  const boolean = new Set(['--quick', '--no-peak', '--help', '-h']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const [name, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (!name.startsWith('-')) throw new ConfigError('arguments', 'flags such as --quick or --models wong-cnn', JSON.stringify(a));
    if (boolean.has(name)) {
      flags.set(name, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(name, 'a value after the flag', 'nothing');
    flags.set(name === '--backend' ? '--backends' : name, value);
  }
  if (flags.has('--help') || flags.has('-h')) return 'help';
  const known = new Set([
    '--quick',
    '--no-peak',
    '--backends',
    '--models',
    '--workloads',
    '--threads',
    '--warmup',
    '--reps',
    '--eval-reps',
    '--eval-n',
    '--peak-batch',
    '--seed',
    '--out',
    '--python',
    '--batch',
    '--eps',
  ]);
  for (const k of flags.keys()) if (!known.has(k)) throw new ConfigError(k, `one of ${[...known].join(', ')}`, 'an unknown flag');
  const str = (k: string) => {
    const v = flags.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const int = (k: string, dflt: number) => (str(k) === undefined ? dflt : positiveInt(k, str(k)!));
  const quick = flags.has('--quick');
  const eps = str('--eps') === undefined ? 0.1 : Number(str('--eps'));
  if (!(eps > 0 && eps < 1)) throw new ConfigError('--eps', 'a number in (0, 1)', JSON.stringify(str('--eps')));
  const seed = str('--seed') === undefined ? 0 : Number(str('--seed'));
  if (!Number.isInteger(seed) || seed < 0) throw new ConfigError('--seed', 'an integer ≥ 0', JSON.stringify(str('--seed')));
  const o: BenchOptions = {
    backends: listOf('--backends', str('--backends') ?? 'auto', BACKEND_CHOICES),
    models: listOf('--models', str('--models') ?? BENCH_MODELS.join(','), BENCH_MODELS),
    workloads: listOf('--workloads', str('--workloads') ?? WORKLOAD_NAMES.join(','), WORKLOAD_NAMES),
    ...(str('--threads') !== undefined ? { threads: positiveInt('--threads', str('--threads')!) } : {}),
    quick,
    warmup: str('--warmup') === '0' ? 0 : int('--warmup', quick ? 1 : 2),
    reps: int('--reps', quick ? 2 : 10),
    evalReps: int('--eval-reps', quick ? 1 : 3),
    batch: int('--batch', 128),
    evalN: int('--eval-n', 1000),
    eps,
    seed,
    peak: !flags.has('--no-peak'),
    peakBatch: int('--peak-batch', quick ? 16 : 128),
    peakReps: quick ? 2 : 5,
    out: resolve(str('--out') ?? join(ROOT, 'bench', 'results', quick ? 'latest-quick.json' : 'latest.json')),
    python: str('--python') ?? '/usr/bin/python3',
  };
  if (o.evalN > 10000) throw new ConfigError('--eval-n', 'at most the 10000 test images', String(o.evalN));
  if (!existsSync(o.python))
    throw new ConfigError(
      '--python',
      'a Python with torch (Debian: apt-get install python3-torch → /usr/bin/python3)',
      `${o.python} does not exist`,
    );
  return o;
}

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

export interface WorkloadRow {
  name: WorkloadName;
  model: BenchModel;
  backend: string;
  threads: number;
  advlab_ms: number | null;
  pytorch_ms: number | null;
  /** advlab / PyTorch: > 1 means advlab is slower. */
  ratio: number | null;
  gflop: number;
  advlab_gflops: number | null;
  pytorch_gflops: number | null;
  advlab_pct_of_peak: number | null;
  pytorch_pct_of_peak: number | null;
  advlab_times_ms: number[];
  pytorch_times_ms: number[];
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
  cache: Map<string, Measured | Error>;
  bye: Msg | null;
  lastPeakRssKb?: number;
  peak?: Msg;
}

const mb = (kb: unknown) => (typeof kb === 'number' ? Math.round(kb / 1024) : null);
const round = (v: number | null, digits = 2) => (v === null ? null : Number(v.toFixed(digits)));
const log = (s: string) => process.stderr.write(`${s}\n`);

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
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
      pys.set(s.threads, { threads: s.threads, child, ready, cache: new Map(), bye: null });
    } catch (e) {
      log(`bench: PyTorch side failed to start: ${messageOf(e)}`);
      await Promise.all([child.quit(), ...sides.map((x) => x.child.quit())]);
      return 1;
    }
  }

  // 3. Interleaved measurements: per (model, workload), each advlab backend then PyTorch, one at a time.
  let failures = 0;
  for (const model of o.models) {
    for (const workload of o.workloads) {
      const reps = workload === 'pgd20-eval' ? o.evalReps : o.reps;
      const req = { cmd: 'run', model, workload, warmup: o.warmup, reps };
      for (const s of sides) {
        let a: Measured | Error;
        try {
          a = (await s.child.request(req)) as unknown as Measured;
          s.lastPeakRssKb = a.peak_rss_kb;
        } catch (e) {
          a = e instanceof Error ? e : new Error(String(e));
        }
        const py = pys.get(s.threads)!;
        const key = `${model}/${workload}`;
        let p = py.cache.get(key);
        if (p === undefined) {
          try {
            p = (await py.child.request(req)) as unknown as Measured;
            py.lastPeakRssKb = p.peak_rss_kb;
          } catch (e) {
            p = e instanceof Error ? e : new Error(String(e));
          }
          py.cache.set(key, p);
        }
        const gflop = workloadFlops(model, workload, unit) / 1e9;
        const aMs = a instanceof Error ? null : a.median_ms;
        const pMs = p instanceof Error ? null : p.median_ms;
        const errors = [a, p].filter((x): x is Error => x instanceof Error).map((x) => x.message);
        if (errors.length) failures++;
        s.rows.push({
          name: workload,
          model,
          backend: s.backend,
          threads: s.threads,
          advlab_ms: round(aMs),
          pytorch_ms: round(pMs),
          ratio: aMs !== null && pMs !== null ? round(aMs / pMs, 3) : null,
          gflop: round(gflop, 4)!,
          advlab_gflops: aMs !== null ? round(gflop / (aMs / 1000)) : null,
          pytorch_gflops: pMs !== null ? round(gflop / (pMs / 1000)) : null,
          advlab_pct_of_peak: null,
          pytorch_pct_of_peak: null,
          advlab_times_ms: a instanceof Error ? [] : a.times_ms.map((t) => round(t)!),
          pytorch_times_ms: p instanceof Error ? [] : p.times_ms.map((t) => round(t)!),
          ...(errors.length ? { error: errors.join('; ') } : {}),
        });
        log(
          `  ${workload.padEnd(10)} ${model.padEnd(8)} advlab[${s.backend}] ${aMs === null ? 'FAILED' : `${aMs.toFixed(1)} ms`}  pytorch ${pMs === null ? 'FAILED' : `${pMs.toFixed(1)} ms`}${errors.length ? `\n    ${errors.join('\n    ')}` : ''}`,
        );
      }
    }
  }
  for (const s of sides) s.bye = await s.child.quit();
  for (const py of pys.values()) py.bye = await py.child.quit();

  // 4. The conv peak, in fresh processes (a [128,64,56,56] conv would dominate the workloads' peak RSS).
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

  // 5. Report.
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
      warmup: o.warmup,
      reps: o.reps,
      eval_reps: o.evalReps,
      optimizer: 'adam lr 1e-3',
      pgd_at: 'PGD-7, α = ε/4, random start',
      fgsm_at: 'zero init, α = ε',
      gradalign: 'λ = 0.2, FGSM α = ε, η ~ U(−ε, ε)',
      eval: 'PGD-20, α = ε/4, random start, batch 256',
      flops_per_image_forward: Object.fromEntries(o.models.map((m) => [m, forwardFlops(m)])),
      passes_per_image: Object.fromEntries(WORKLOADS.filter((w) => o.workloads.includes(w.name)).map((w) => [w.name, w.passes])),
    },
    workloads: primary.workloads,
    memory: primary.memory,
    peak: primary.peak,
    runs,
  };
  writeFileAtomic(o.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(formatReport(result.machine, runs, o));
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

function formatReport(
  machine: { cpu: string; cores: number; torch: unknown; load_average_start: number[] },
  runs: Run[],
  o: BenchOptions,
): string {
  const lines: string[] = [];
  const f = (v: number | null, d = 1) => (v === null ? '-' : v.toFixed(d));
  lines.push(
    `advlab vs PyTorch ${String(machine.torch)} on ${machine.cpu} (${machine.cores} logical CPUs, load ${machine.load_average_start[0]} at start)${o.quick ? ' — QUICK smoke run, not a measurement' : ''}`,
  );
  const evalPart = o.workloads.includes('pgd20-eval') ? `, PGD-20 eval on the first ${o.evalN} test images` : '';
  const evalReps = o.workloads.includes('pgd20-eval') ? ` (eval ${o.evalReps})` : '';
  lines.push(`batch ${o.batch} (first training images)${evalPart}; median of ${o.reps} reps${evalReps} after ${o.warmup} warm-up`);
  for (const r of runs) {
    lines.push('');
    lines.push(`advlab backend ${r.backend}, ${r.threads} thread(s) — PyTorch ${r.threads} thread(s)`);
    const header = ['workload', 'model', 'advlab ms', 'PyTorch ms', 'ratio', 'advlab GFLOP/s', 'PyTorch GFLOP/s', '% of peak (a/p)'];
    const rows = r.workloads.map((w) => [
      w.name,
      w.model,
      f(w.advlab_ms),
      f(w.pytorch_ms),
      w.ratio === null ? '-' : `${w.ratio.toFixed(2)}×`,
      f(w.advlab_gflops, 2),
      f(w.pytorch_gflops, 2),
      `${f(w.advlab_pct_of_peak)} / ${f(w.pytorch_pct_of_peak)}`,
    ]);
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
    const fmt = (row: string[]) => row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
    lines.push(fmt(header));
    lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const row of rows) lines.push(fmt(row));
    for (const w of r.workloads) if (w.error) lines.push(`  ! ${w.name} ${w.model}: ${w.error}`);
    lines.push(
      `ratio = advlab ms / PyTorch ms (> 1: advlab slower). Training rows: one step on the batch; pgd20-eval: the whole evaluation.`,
    );
    if (!o.peak) lines.push('peak: not measured (--no-peak)');
    else
      lines.push(
        `peak (one conv2d forward, [${o.peakBatch},56,56,64] ⊛ 64@3×3, ${r.threads} thread(s)): PyTorch/oneDNN ${f(r.peak.pytorch_gflops, 2)} GFLOP/s, advlab ${r.backend} ${f(r.peak.advlab_gflops, 2)} GFLOP/s; "% of peak" is against the oneDNN peak ${f(r.peak.onednn_peak_gflops, 2)} GFLOP/s`,
      );
    lines.push(
      `peak RSS: advlab ${f(r.memory.advlab_peak_rss_mb ?? null, 0)} MB, PyTorch ${f(r.memory.pytorch_peak_rss_mb ?? null, 0)} MB (after loading Fashion-MNIST as float32: ${f(r.memory.advlab_rss_after_data_load_mb ?? null, 0)} MB / ${f(r.memory.pytorch_rss_after_data_load_mb ?? null, 0)} MB)`,
    );
  }
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
