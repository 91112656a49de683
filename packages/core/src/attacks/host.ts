/**
 * Host steps: a computation written once as a generator and driven synchronously or asynchronously. Kept
 * apart from run.ts (which resolves attacks by name through the registry) so that attacks can use it
 * without an import cycle.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { AttackError } from '../errors.ts';
import { isSyncClassifier, type AnyClassifier } from '../models/classifier.ts';

/**
 * A request from a computation written once as a generator and driven either synchronously
 * (`runHostSteps`: `dataSync()`) or asynchronously (`runHostStepsAsync`: `await data()`, so a WebGL
 * backend is not blocked): read tensors to the host, or let the event loop run (between batches).
 */
export type HostRequest =
  | { readonly read: readonly tf.Tensor[] }
  | { readonly pause: true }
  | { readonly query: { readonly model: AnyClassifier; readonly x: tf.Tensor4D } };

/** A computation returning T whose host reads go through `yield* readHost(...)`. */
export type HostSteps<T> = Generator<HostRequest, T, readonly tf.TypedArray[] | undefined>;

/** The values of `tensors` (which the caller still owns), read by whichever runner drives the steps. */
export function* readHost(...tensors: tf.Tensor[]): HostSteps<readonly tf.TypedArray[]> {
  return (yield { read: tensors })!;
}

/**
 * The model's logits for `x` ([n, K], row-major) on the host. A Classifier answers either way; an
 * AsyncClassifier only under the async runner (the sync one throws AttackError saying so).
 */
export function* queryLogits(model: AnyClassifier, x: tf.Tensor4D): HostSteps<Float32Array> {
  return (yield { query: { model, x } })![0] as Float32Array;
}

/** Between batches: the async runner yields to the event loop; the sync one carries on. */
export function* pauseHost(): HostSteps<void> {
  yield { pause: true };
}

/** What a runner got for a request: the values read (none for a pause), or the error the read threw. */
type HostAnswer = { readonly values: readonly tf.TypedArray[] | undefined } | { readonly error: unknown };

/** A failed read is thrown into the steps, so their `finally` blocks dispose what they hold. */
function resume<T>(steps: HostSteps<T>, answer: HostAnswer): IteratorResult<HostRequest, T> {
  return 'error' in answer ? steps.throw(answer.error) : steps.next(answer.values);
}

function answerSync(q: HostRequest): HostAnswer {
  try {
    if ('query' in q) {
      const { model, x } = q.query;
      if (!isSyncClassifier(model)) {
        throw new AttackError(
          `${model.name} answers only asynchronously (logitsAsync): run it with runAttackAsync / evaluateRobustnessAsync`,
        );
      }
      const logits = model.logits(x);
      try {
        return { values: [logits.dataSync()] };
      } finally {
        logits.dispose();
      }
    }
    return { values: 'read' in q ? q.read.map((t) => t.dataSync()) : undefined };
  } catch (error) {
    return { error };
  }
}

async function answerAsync(q: HostRequest): Promise<HostAnswer> {
  try {
    if ('query' in q) {
      const { model, x } = q.query;
      const logits = isSyncClassifier(model) ? model.logits(x) : await model.logitsAsync(x);
      try {
        return { values: [await logits.data()] };
      } finally {
        logits.dispose();
      }
    }
    return { values: 'read' in q ? await Promise.all(q.read.map((t) => t.data())) : await nextTask() };
  } catch (error) {
    return { error };
  }
}

/** Runs `steps` to completion, reading tensors with `dataSync()`; pauses are no-ops. */
export function runHostSteps<T>(steps: HostSteps<T>): T {
  let r = steps.next();
  while (!r.done) r = resume(steps, answerSync(r.value));
  return r.value;
}

/** Runs `steps` to completion, reading tensors with `await data()` and yielding to the event loop on pauses. */
export async function runHostStepsAsync<T>(steps: HostSteps<T>): Promise<T> {
  let r = steps.next();
  while (!r.done) r = resume(steps, await answerAsync(r.value));
  return r.value;
}

/** A macrotask boundary (setTimeout, not requestAnimationFrame, which stalls in a hidden browser tab). */
function nextTask(): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), 0));
}

/** The index of each row's largest value in host logits [n·k] (the first on ties, as tf.argMax). */
export function argMaxRows(logits: ArrayLike<number>, k: number): Int32Array {
  const n = logits.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let arg = 0;
    for (let j = 1; j < k; j++) if (logits[i * k + j]! > logits[i * k + arg]!) arg = j;
    out[i] = arg;
  }
  return out;
}
