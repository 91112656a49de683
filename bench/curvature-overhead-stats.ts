/** The arithmetic and flags of bench/curvature-overhead.ts, apart so they are tested without timing anything. */
import { ConfigError } from '../packages/core/src/errors.ts';
import { isModelName, MODEL_NAMES, type ModelName } from '../packages/core/src/models/zoo.ts';
import { median } from './stats.ts';

export const OVERHEAD_USAGE = `node --conditions=source --import tsx bench/curvature-overhead.ts [flags]
  --rounds R      rounds of (FGSM-AT epoch, held-out line, curvature measures) (default 5; --quick 2)
  --eps E         the training and measurement ε (default 0.2, the curvature experiments' ε)
  --examples M    held-out examples the curvature measures run on (default 256, training's default)
  --held-out N    held-out examples of the line without curvature (default 1000)
  --limit N       training examples per epoch (default all 60000; --quick 2048)
  --model NAME    zoo model (default wong-cnn)
  --every K       also state the overhead when measured every K batches (default 20, reproduce's curvature group)
  --quick         a smoke run (2 rounds of 2048 examples), written to bench/results/curvature-overhead-quick.json
  --out FILE      where the JSON goes (default bench/results/curvature-overhead-latest.json)`;

export interface OverheadOptions {
  rounds: number;
  eps: number;
  examples: number;
  heldOut: number;
  limit?: number;
  model: ModelName;
  every: number;
  quick: boolean;
  out?: string;
  help: boolean;
  usage: string;
}

const INTEGER_FLAGS = ['--rounds', '--examples', '--held-out', '--limit', '--every'] as const;
const KNOWN = [...INTEGER_FLAGS, '--eps', '--model', '--out', '--quick', '--help'];

export function parseOverheadOptions(argv: readonly string[]): OverheadOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!KNOWN.includes(a)) throw new ConfigError(a, `one of ${KNOWN.join(', ')}`, 'an unknown flag');
    if (a === '--quick' || a === '--help') {
      flags.set(a, 'true');
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new ConfigError(a, 'a value after the flag', 'nothing');
    flags.set(a, v);
  }
  const int = (flag: (typeof INTEGER_FLAGS)[number], fallback: number | undefined) => {
    const v = flags.get(flag);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw new ConfigError(flag, 'an integer ≥ 1', JSON.stringify(v));
    return n;
  };
  const quick = flags.has('--quick');
  const eps = Number(flags.get('--eps') ?? 0.2);
  if (!(eps > 0 && eps < 1)) throw new ConfigError('--eps', 'a number in (0, 1)', JSON.stringify(flags.get('--eps')));
  const limit = int('--limit', quick ? 2048 : undefined);
  const out = flags.get('--out');
  const model = flags.get('--model') ?? 'wong-cnn';
  if (!isModelName(model)) throw new ConfigError('--model', `one of ${MODEL_NAMES.join(', ')}`, JSON.stringify(model));
  return {
    rounds: int('--rounds', quick ? 2 : 5)!,
    eps,
    examples: int('--examples', 256)!,
    heldOut: int('--held-out', 1000)!,
    ...(limit !== undefined ? { limit } : {}),
    model,
    every: int('--every', 20)!,
    quick,
    ...(out !== undefined ? { out } : {}),
    help: flags.has('--help'),
    usage: OVERHEAD_USAGE,
  };
}

/** One round's wall times, ms, and the epoch's step count. */
export interface OverheadRound {
  epochMs: number;
  lineMs: number;
  curvatureMs: number;
  steps: number;
}

export interface Spread {
  median: number;
  values: number[];
}

const spread = (values: number[]): Spread => ({ median: median(values), values });

/**
 * Medians over rounds of each time and of the per-round ratios: curvature / epoch (measured once per epoch) and
 * lines × curvature / epoch when measured every `every` batches (⌈steps / every⌉ lines per epoch: the loop also
 * measures at an epoch's end, so a step count that is a multiple of `every` does not add one).
 */
export function curvatureOverheadSummary(rounds: readonly OverheadRound[], every: number) {
  if (!rounds.length) throw new Error('curvature overhead: no rounds');
  const linesPerEpoch = Math.ceil(rounds[0]!.steps / every);
  return {
    epochMs: spread(rounds.map((r) => r.epochMs)),
    lineMs: spread(rounds.map((r) => r.lineMs)),
    curvatureMs: spread(rounds.map((r) => r.curvatureMs)),
    perEpoch: spread(rounds.map((r) => r.curvatureMs / r.epochMs)),
    linesPerEpoch,
    atEvery: spread(rounds.map((r) => (linesPerEpoch * r.curvatureMs) / r.epochMs)),
  };
}
