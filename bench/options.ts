/**
 * The options of `npm run bench` (bench/run.ts), in a module of their own so bench/options.test.ts can
 * parse flags without starting a benchmark.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../packages/core/src/errors.ts';
import { BENCH_MODELS, WORKLOAD_NAMES, type BenchModel, type WorkloadName } from './flops.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '..');

export const BACKEND_CHOICES = ['auto', 'onednn', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The training-step workloads and the PGD-20 evaluation (bench/flops.ts), plus the AutoAttack suite. */
export type BenchWorkload = WorkloadName | 'autoattack';
export const BENCH_WORKLOADS: readonly BenchWorkload[] = [...WORKLOAD_NAMES, 'autoattack'];

/** Where the bench keeps (and, when absent, trains) its PGD-trained wong-cnn; git-ignored. */
export const DEFAULT_AA_MODEL = join(ROOT, 'bench', 'results', 'models', 'wong-cnn-pgd');
/** Square's query budget in AutoAttack's standard version. */
export const STANDARD_SQUARE_QUERIES = 5000;

export interface BenchOptions {
  backends: BackendChoice[];
  models: BenchModel[];
  workloads: BenchWorkload[];
  threads?: number;
  quick: boolean;
  /** Measurements per (backend, model, workload), alternating advlab and PyTorch. */
  rounds: number;
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
  /** A checkout of fra31/auto-attack (the folder holding autoattack/), from --autoattack or ADVLAB_AUTOATTACK. */
  autoattack?: string;
  /** A wong-cnn model folder or run directory. */
  aaModel: string;
  /** False when aaModel is the bench's own cache, which is trained when absent. */
  aaModelGiven: boolean;
  aaN: number;
  aaBs: number;
  /** Square's budget when it is not the standard 5000 (smoke runs only). */
  aaSquareQueries?: number;
}

export const USAGE = `usage: npm run bench -- [options]

  --quick               smoke run: 2 rounds, 1 warm-up, 2 timed reps (1 for the PGD-20 evaluation), small peak
                        conv, AutoAttack on 100 images with 100 Square queries; writes
                        bench/results/latest-quick.json unless --out is given
  --backends LIST       advlab backends to measure, comma-separated: auto, onednn, wasm, cpu (default auto);
                        --backend is a synonym
  --models LIST         ${BENCH_MODELS.join(',')} (default both; the AutoAttack workload ignores it)
  --workloads LIST      ${BENCH_WORKLOADS.join(',')} (default all)
  --rounds R            measurements per workload, advlab then PyTorch in turn (default 5; quick 2); each row
                        reports min / median / max per side and the median of the per-round ratios
  --threads N           threads for both sides (default: what the advlab backend uses — onednn: all
                        hardware threads, wasm/cpu: 1); sets ADVLAB_THREADS for advlab
  --warmup W            untimed repetitions at the start of every round of a training step (default 2;
                        quick 1); the evaluations get none
  --reps K              timed repetitions of each training step per round (default 10; quick 2)
  --eval-reps K         timed repetitions of the PGD-20 evaluation per round (default 3; quick 1)
  --eval-n N            test images in the PGD-20 evaluation (default 1000)
  --autoattack PATH     a checkout of https://github.com/fra31/auto-attack (the folder holding autoattack/;
                        default: $ADVLAB_AUTOATTACK); without one the autoattack workload is skipped
  --aa-model DIR        the PGD-trained wong-cnn AutoAttack evaluates (model folder or run directory; default
                        bench/results/models/wong-cnn-pgd, trained with advlab train when absent, ~2.5 min)
  --aa-n N              the first N test images AutoAttack evaluates (default 1000; quick 100)
  --aa-bs B             batch size of both sides' AutoAttack (default 250, AutoAttack's)
  --aa-square-queries Q SMOKE RUNS ONLY: Square's budget instead of ${STANDARD_SQUARE_QUERIES} (quick: 100); the rows then
                        say they are not the standard version
  --no-peak             skip the conv peak measurement
  --peak-batch B        batch of the peak conv [B,56,56,64]⊛3×3×64×64 (default 128; quick 16)
  --seed S              model / attack seed (default 0)
  --out FILE            result JSON (default bench/results/latest.json)
  --python PATH         Python with torch (default /usr/bin/python3: Debian's python3-torch)`;

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw new ConfigError(flag, 'an integer ≥ 1', JSON.stringify(v));
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

/** The model folder of `dir` (itself, or a run directory's model/), or null when neither holds a model.json. */
export function modelFolder(dir: string): string | null {
  if (existsSync(join(dir, 'model.json'))) return dir;
  if (existsSync(join(dir, 'model', 'model.json'))) return join(dir, 'model');
  return null;
}

/** Why the AutoAttack workloads cannot run with this checkout (one line, saying how to get one), or null when they can. */
export function autoattackSkipReason(path: string | undefined): string | null {
  const how =
    'pass --autoattack PATH (or set ADVLAB_AUTOATTACK) to a checkout: git clone https://github.com/fra31/auto-attack PATH (bench/README.md)';
  if (path === undefined) return `autoattack: skipped, no checkout of fra31/auto-attack; ${how}`;
  if (!existsSync(join(path, 'autoattack', 'autoattack.py'))) return `autoattack: skipped, ${path} has no autoattack/autoattack.py; ${how}`;
  return null;
}

const KNOWN = [
  '--quick',
  '--no-peak',
  '--backends',
  '--models',
  '--workloads',
  '--rounds',
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
  '--autoattack',
  '--aa-model',
  '--aa-n',
  '--aa-bs',
  '--aa-square-queries',
];

/** The options from the command line (and ADVLAB_AUTOATTACK in `env`); ConfigError naming the flag for a bad value. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions | 'help' {
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
  for (const k of flags.keys()) if (!KNOWN.includes(k)) throw new ConfigError(k, `one of ${KNOWN.join(', ')}`, 'an unknown flag');
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
  const aaPath = str('--autoattack') ?? (env.ADVLAB_AUTOATTACK || undefined);
  const aaModelFlag = str('--aa-model');
  if (aaModelFlag !== undefined && modelFolder(resolve(aaModelFlag)) === null)
    throw new ConfigError(
      '--aa-model',
      'a wong-cnn model folder (model.json) or run directory (model/model.json)',
      `${JSON.stringify(aaModelFlag)}, which holds neither`,
    );
  const squareQueries = int('--aa-square-queries', quick ? 100 : STANDARD_SQUARE_QUERIES);
  const o: BenchOptions = {
    backends: listOf('--backends', str('--backends') ?? 'auto', BACKEND_CHOICES),
    models: listOf('--models', str('--models') ?? BENCH_MODELS.join(','), BENCH_MODELS),
    workloads: listOf('--workloads', str('--workloads') ?? BENCH_WORKLOADS.join(','), BENCH_WORKLOADS),
    ...(str('--threads') !== undefined ? { threads: positiveInt('--threads', str('--threads')!) } : {}),
    quick,
    rounds: int('--rounds', quick ? 2 : 5),
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
    ...(aaPath !== undefined ? { autoattack: resolve(aaPath) } : {}),
    aaModel: resolve(aaModelFlag ?? DEFAULT_AA_MODEL),
    aaModelGiven: aaModelFlag !== undefined,
    aaN: int('--aa-n', quick ? 100 : 1000),
    aaBs: int('--aa-bs', 250),
    // The standard budget stated explicitly is still the standard version.
    ...(squareQueries !== STANDARD_SQUARE_QUERIES ? { aaSquareQueries: squareQueries } : {}),
  };
  if (o.evalN > 10000) throw new ConfigError('--eval-n', 'at most the 10000 test images', String(o.evalN));
  if (o.aaN > 10000) throw new ConfigError('--aa-n', 'at most the 10000 test images', String(o.aaN));
  if (!existsSync(o.python))
    throw new ConfigError(
      '--python',
      'a Python with torch (Debian: apt-get install python3-torch → /usr/bin/python3)',
      `${o.python} does not exist`,
    );
  return o;
}
