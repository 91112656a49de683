// The built `advlab` command, as the end-to-end tests run it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const bin = join(import.meta.dirname, '../../packages/cli/bin/advlab.js');

/** Runs `advlab ARGS…` to the end (5 min at most): exit code, stdout and stderr. */
export function advlab(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
