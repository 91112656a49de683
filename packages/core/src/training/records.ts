/**
 * The shapes of what a run stores and reads back on resume — the loop state saved with a checkpoint and the
 * metrics lines — as schemas, so a store can refuse a damaged file before the loop acts on it (a state with
 * `"epoch": "nine"` once ended a 30-epoch run at "epoch 9" and dropped its metrics).
 */
import { z } from 'zod';
import { describeValue } from '../config/options.ts';
import { METHODS, type MethodName } from './objectives.ts';
import type { LoopState } from './policy.ts';
import type { MetricsLine } from './held-out.ts';
import type { GenerativeMetricsLine } from '../generative/train.ts';

const METHOD_NAMES = METHODS.map((m) => m.name) as [MethodName, ...MethodName[]];
const count = z.number().int().min(0);
const rate = z.number().min(0).max(1);
// JSON has no NaN: a diverged loss or an undefined alignment is stored as null.
const measured = z.number().nullable().optional();

/** The loop state of a checkpoint (state.json). */
export const loopStateSchema = z.object({
  epoch: count,
  step: count,
  rng: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
  method: z.enum(METHOD_NAMES),
  alpha: z.number().positive().optional(),
  rollbacks: count,
  seconds: z.number().min(0),
  regularizer: z
    .object({ count, mean: z.number(), m2: z.number().min(0), weight: z.number().min(0) })
    .strict()
    .optional(),
});

const eventLine = z.looseObject({ epoch: z.number().int().min(1), step: count, event: z.string() });
const heldOutLine = z.looseObject({
  epoch: z.number().int().min(1),
  step: count,
  loss: measured,
  clean_acc: rate,
  fgsm_acc: rate,
  pgd_acc: rate,
  grad_align: measured,
  fgsm_pgd_cos: measured,
  eps: z.number().min(0),
  lr: z.number().min(0),
  method: z.enum(METHOD_NAMES),
  alpha: z.number().positive().optional(),
  seconds: z.number().min(0),
});

/** A held-out line of a generative run (`trainAutoencoder`). */
const generativeLine = z.looseObject({
  kind: z.literal('generative'),
  epoch: z.number().int().min(1),
  step: count,
  loss: measured,
  neg_elbo: measured,
  kl: measured,
  mse: measured,
  latent_shift: measured,
  eps: z.number().min(0),
  method: z.enum(['standard', 'adversarial']),
  seconds: z.number().min(0),
});

/** What was wrong with a value a schema refused: the first problem, as `key: expected …, found …`. */
export interface RecordProblem {
  expected: string;
  found: string;
}

function problemOf(error: z.ZodError, input: unknown): RecordProblem {
  const issue = error.issues[0]!;
  const path = issue.path.map(String);
  let value: unknown = input;
  for (const k of issue.path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[k] : undefined;
  const where = path.length ? `"${path.join('.')}" ` : '';
  return { expected: `${where}${issue.message.replace(/^Invalid input: /, '')}`, found: describeValue(value) };
}

/** The loop state in `raw`, or the problem that makes it unusable. */
export function parseLoopState(raw: unknown): { state: LoopState } | { problem: RecordProblem } {
  const r = loopStateSchema.safeParse(raw);
  // The value as stored (keys and their order), once it is known to be valid.
  return r.success ? { state: raw as LoopState } : { problem: problemOf(r.error, raw) };
}

/**
 * Any line a run directory's metrics.jsonl may hold — a classifier's held-out line, an event, or a generative run's
 * line (`"kind": "generative"`) — or the problem that makes it unusable.
 */
export function parseStoredMetricsLine(raw: unknown): { line: MetricsLine | GenerativeMetricsLine } | { problem: RecordProblem } {
  if (raw !== null && typeof raw === 'object' && (raw as { kind?: unknown }).kind === 'generative') {
    const r = generativeLine.safeParse(raw);
    return r.success ? { line: raw as GenerativeMetricsLine } : { problem: problemOf(r.error, raw) };
  }
  return parseMetricsLine(raw);
}

/** One metrics line (held-out or event) in `raw`, or the problem that makes it unusable. */
export function parseMetricsLine(raw: unknown): { line: MetricsLine } | { problem: RecordProblem } {
  const isEvent = raw !== null && typeof raw === 'object' && 'event' in raw;
  const r = (isEvent ? eventLine : heldOutLine).safeParse(raw);
  return r.success ? { line: raw as MetricsLine } : { problem: problemOf(r.error, raw) };
}
