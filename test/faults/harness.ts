// The fault-injection suite's instruments: run a CLI command and classify what happened, snapshot files to
// detect loss, and tally outcomes. A command's outcome is
//   ok     exit 0 (the caller then checks the result is correct),
//   typed  exit 2 with one line "advlab: [E_CODE] …" and no stack trace,
//   crash  anything else: an exception that is not an AdvlabError, a stack trace, another exit code.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from '@advlab/cli';

export type Outcome = { kind: 'ok' } | { kind: 'typed'; code: string; message: string } | { kind: 'crash'; detail: string };

/** Runs `advlab ARGV` in this process (as the bin does), capturing its output. */
export async function advlab(argv: string[]): Promise<{ outcome: Outcome; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const err = process.stderr.write;
  const out = process.stdout.write;
  // The CLI writes strings. Under `node --test` this file's own test reports go to stdout as Buffers (the
  // runner's serialized frames), possibly while a later command runs: they pass through untouched, or a
  // finished test's verdict would be swallowed.
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== 'string') return (err as (...a: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
    stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== 'string') return (out as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
    stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  let outcome: Outcome;
  try {
    const code = await run(argv);
    outcome = classify(code, stderr);
  } catch (e) {
    outcome = { kind: 'crash', detail: `uncaught ${(e as Error)?.stack ?? String(e)}` };
  } finally {
    process.stderr.write = err;
    process.stdout.write = out;
  }
  return { outcome, stderr, stdout };
}

/** An exit code and stderr as an Outcome (also for commands run as processes). */
export function classify(code: number | null, stderr: string): Outcome {
  if (/\n\s+at .+\(.*:\d+:\d+\)/.test(stderr) || /\n\s+at file:/.test(stderr))
    return { kind: 'crash', detail: `stack trace: ${stderr.slice(-800)}` };
  if (code === 0) return { kind: 'ok' };
  const m = /^advlab: \[(E_[A-Z_]+)\] (.*)$/m.exec(stderr);
  if (code === 2 && m) return { kind: 'typed', code: m[1]!, message: m[2]! };
  return { kind: 'crash', detail: `exit ${code}: ${stderr.slice(-800)}` };
}

/** Every entry under `dir` (files by sha256, links by target, folders by name), for before/after comparison. */
export function snapshot(dir: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (skip(rel)) continue;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[rel] = `link → ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = 'folder';
        walk(p);
      } else out[rel] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  if (!existsSync(dir)) return out;
  if (lstatSync(dir).isDirectory()) walk(dir);
  else out['.'] = createHash('sha256').update(readFileSync(dir)).digest('hex');
  return out;
}

/** Tally of one suite part, appended to $ADVLAB_FAULT_TALLY (JSON lines) when set, for docs/reliability.md. */
export interface Tally {
  part: string;
  cases: number;
  ok: number;
  typed: number;
  crashes: number;
  dataLoss: number;
  /** E_CODE → count among the typed errors. */
  codes: Record<string, number>;
}

export function newTally(part: string): Tally {
  return { part, cases: 0, ok: 0, typed: 0, crashes: 0, dataLoss: 0, codes: {} };
}

export function count(t: Tally, o: Outcome): void {
  t.cases++;
  if (o.kind === 'ok') t.ok++;
  else if (o.kind === 'typed') {
    t.typed++;
    t.codes[o.code] = (t.codes[o.code] ?? 0) + 1;
  } else t.crashes++;
}

export function saveTally(t: Tally): void {
  const file = process.env.ADVLAB_FAULT_TALLY;
  if (file) appendFileSync(file, `${JSON.stringify(t)}\n`);
}

/** The suite's seed: $ADVLAB_FAULT_SEED, or a fresh one (each CI run tries other faults). */
export function faultSeed(): number {
  const env = process.env.ADVLAB_FAULT_SEED;
  const seed = env !== undefined ? Number(env) : Math.floor(Math.random() * 2 ** 31);
  process.stderr.write(`fault seed ${seed} (rerun with ADVLAB_FAULT_SEED=${seed})\n`);
  return seed;
}
