/**
 * Where a command may write, decided before it does any work: an output path is resolved through symlinks
 * and refused when it is, or is inside, something the command reads (a model folder, a run directory, data,
 * a report's inputs), when it names a directory where a file is meant (or a file where a folder is meant),
 * when it would replace an existing file (unless `force`: the user's --force), or when nothing can be
 * written there. A long evaluation then never ends in EISDIR, no input is overwritten by an output, and
 * no earlier result is replaced by accident.
 */
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ConfigError } from '@advlab/core';

/** What a command is about to write. */
export interface OutputPlan {
  /** The path as the user gave it. */
  path: string;
  /** A file the command writes, or a folder it writes files into. */
  kind: 'file' | 'directory';
  /** The option that named the path (`json`, `out`): what an error names. */
  key: string;
  /** Paths the command reads; the output may be neither one of them nor inside one. */
  inputs: readonly string[];
  /** Replace existing output files (--force); otherwise an existing one is refused. */
  force?: boolean;
  /**
   * For a folder: the names of the files the command writes into it. Any that exists is refused unless
   * `force`; one that is a directory is refused always. Without it, an existing folder is accepted as is.
   */
  files?: readonly string[];
}

const list = (names: readonly string[]) => names.join(', ');

/** `p` with symlinks resolved as far as it exists (the rest appended), so two spellings of one place compare equal. */
export function realPathOf(p: string): string {
  const abs = resolve(p);
  const rest: string[] = [];
  let at = abs;
  while (!existsSync(at)) {
    const parent = dirname(at);
    if (parent === at) break;
    rest.unshift(basename(at));
    at = parent;
  }
  let real = at;
  try {
    real = realpathSync(at);
  } catch {
    // unreadable: compare the path as given
  }
  return rest.length > 0 ? join(real, ...rest) : real;
}

/** stat, or undefined where there is nothing (including ENOTDIR: a path through a file). */
function statOrUndefined(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

const within = (path: string, folder: string) => path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);

/** Checks `plan` (see the module comment); returns the resolved output path. Throws ConfigError naming plan.key. */
export function checkOutput(plan: OutputPlan): string {
  const out = realPathOf(plan.path);
  for (const input of plan.inputs) {
    const real = realPathOf(input);
    if (within(out, real)) {
      throw new ConfigError(
        plan.key,
        `a path outside what the command reads (${input})`,
        `${plan.path}, which ${out === real ? 'is that input' : 'is inside it'}`,
      );
    }
  }
  const st = statOrUndefined(out);
  if (st?.isDirectory() && plan.kind === 'file') throw new ConfigError(plan.key, 'a file path', `${plan.path}, a directory`);
  if (st && !st.isDirectory() && plan.kind === 'directory') throw new ConfigError(plan.key, 'a folder', `${plan.path}, a file`);
  if (st && plan.kind === 'file' && !plan.force) {
    throw new ConfigError(plan.key, 'a path that does not exist yet (or --force to replace it)', `${plan.path}, an existing file`);
  }
  if (st && plan.kind === 'directory' && plan.files) {
    const present = plan.files.filter((f) => statOrUndefined(join(out, f)) !== undefined);
    const dirs = present.filter((f) => statSync(join(out, f)).isDirectory());
    if (dirs.length > 0) {
      const are = dirs.length > 1 ? 'are directories' : 'is a directory';
      throw new ConfigError(plan.key, `a folder where ${list(plan.files)} can be written`, `${plan.path}, in which ${list(dirs)} ${are}`);
    }
    if (present.length > 0 && !plan.force) {
      throw new ConfigError(
        plan.key,
        `a folder without ${list(plan.files)} (or --force to replace them)`,
        `${plan.path}, which holds ${list(present)}`,
      );
    }
  }
  // The folder that will hold the output (the output itself for a folder that exists).
  let existing = st?.isDirectory() ? out : dirname(out);
  while (!existsSync(existing)) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) {
    throw new ConfigError(plan.key, 'a path whose parent folders can be created', `${plan.path}: ${existing} is a file`);
  }
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    throw new ConfigError(plan.key, 'a writable location', `${plan.path}: ${existing} is not writable`);
  }
  return out;
}
