// The figures of a reproduce suite directory, without what legitimately changes between runs (wall times,
// dates, machine, the wording of check details): what "same numbers" compares.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const TIMING =
  /^(seconds|.*_seconds|secondsPerEpoch|meanSecondsPerEpoch|fastestEpochSeconds|relativeTime|examples_per_s|started|finished|date|environment|machine|node|backend|detail|seconds_per_epoch|costPerExample|.*PerSecond)$/;

export function withoutTimings(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutTimings);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !TIMING.test(k))
        .map(([k, x]) => [k, withoutTimings(x)]),
    );
  }
  return v;
}

export function suiteFigures(dir: string): Record<string, unknown> {
  const runs: Record<string, unknown> = {};
  for (const name of readdirSync(dir).sort()) {
    const run = join(dir, name);
    if (!existsSync(join(run, 'metrics.jsonl'))) continue;
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => withoutTimings(JSON.parse(l)));
    const raw = existsSync(join(run, 'eval.json')) ? JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8')) : null;
    // The model is named by its path, which depends on where the suite ran.
    const evaluation = raw && withoutTimings({ ...raw, model: relative(dir, raw.model) });
    runs[name] = { metrics, evaluation };
  }
  return { results: withoutTimings(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))), runs };
}
