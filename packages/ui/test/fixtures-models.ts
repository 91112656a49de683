/**
 * The two models the browser tests load: a standard wong-cnn and a PGD-trained one (ε = 0.1) on a slice of
 * Fashion-MNIST, trained by the CLI from source, as a user would with `advlab train`. Deterministic (seed 0),
 * so a test can hard-code an image on which the standard model is fooled and the robust one holds.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const CLI_MAIN = join(import.meta.dirname, '../../cli/src/main.ts');

/** The runs ensureTestModels trains: folder name → the flags that differ. */
export const TEST_MODELS = {
  standard: ['--method', 'standard'],
  pgd: ['--method', 'pgd', '--eps', '0.1'],
} as const;

// Enough to learn Fashion-MNIST to ~80% (standard) and to make PGD training hold at ε = 0.1 on half the
// held-out images, in ~10 s per model on two cores.
const COMMON = ['--model', 'wong-cnn', '--epochs', '2', '--limit', '10000', '--held-out', '200', '--curvature-examples', '0'];

/** Runs `advlab …` from the CLI's TypeScript (the same code as the binary, without needing dist/). */
async function advlab(args: string[]): Promise<void> {
  const main = JSON.stringify(pathToFileURL(CLI_MAIN).href);
  const script = `const { run } = await import(${main}); process.exitCode = await run(process.argv.slice(1));`;
  try {
    await promisify(execFile)(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script, ...args], {
      timeout: 600_000,
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    const { code, signal, stderr } = e as { code?: number; signal?: string; stderr?: string };
    throw new Error(`advlab ${args.join(' ')} failed (${code ?? signal}):\n${stderr ?? String(e)}`);
  }
}

/**
 * Trains the models of TEST_MODELS under `dir` (dir/standard, dir/pgd) unless already there: a test may call it
 * for a folder another test filled. Returns the seconds spent training (0 when cached).
 */
export function ensureTestModels(dir: string): Promise<number> {
  // Two callers in one process share one training instead of racing in the same folders.
  let pending = training.get(dir);
  if (!pending) {
    pending = trainMissing(dir);
    training.set(dir, pending);
  }
  return pending;
}

const training = new Map<string, Promise<number>>();

async function trainMissing(dir: string): Promise<number> {
  const started = performance.now();
  let trained = false;
  for (const [name, flags] of Object.entries(TEST_MODELS)) {
    const out = join(dir, name);
    // summary.json is written last: without it the run is not finished.
    if (existsSync(join(out, 'summary.json')) && existsSync(join(out, 'model', 'model.json'))) continue;
    await advlab(['train', ...COMMON, ...flags, '--out', out]);
    trained = true;
  }
  return trained ? (performance.now() - started) / 1000 : 0;
}
