import { AdvlabError, IoError } from '@advlab/core';
import { ATTACK_OPTIONS, attack, attackHelp } from './commands/attack.ts';
import { CURVATURE_OPTIONS, curvature, curvatureHelp } from './commands/curvature.ts';
import { DEMO_OPTIONS, demo, demoHelp } from './commands/demo.ts';
import { EVAL_OPTIONS, evaluate, evalHelp } from './commands/eval.ts';
import { list } from './commands/list.ts';
import { MERGE_OPTIONS, merge, mergeHelp } from './commands/merge.ts';
import { REPORT_OPTIONS, report, reportHelp } from './commands/report.ts';
import { REPRODUCE_OPTIONS, reproduce, reproduceHelp } from './commands/reproduce.ts';
import { SWEEP_OPTIONS, sweep, sweepHelp } from './commands/sweep.ts';
import { TASK_OPTIONS, task, taskHelp } from './commands/task.ts';
import { TRAIN_OPTIONS, trainCommand, trainHelp } from './commands/train.ts';
import { UI_OPTIONS, ui, uiHelp } from './commands/ui.ts';
import { type Options, withFlagNames } from './flags.ts';

interface Command {
  help: string;
  /** Its options: library errors name an option's key, and the user is told the flag. */
  options: Options;
  run: (argv: string[]) => Promise<unknown> | unknown;
}

export const COMMANDS: Record<string, Command> = {
  train: { help: trainHelp, options: TRAIN_OPTIONS, run: trainCommand },
  eval: { help: evalHelp, options: EVAL_OPTIONS, run: evaluate },
  merge: { help: mergeHelp, options: MERGE_OPTIONS, run: merge },
  attack: { help: attackHelp, options: ATTACK_OPTIONS, run: attack },
  curvature: { help: curvatureHelp, options: CURVATURE_OPTIONS, run: curvature },
  demo: { help: demoHelp, options: DEMO_OPTIONS, run: demo },
  report: { help: reportHelp, options: REPORT_OPTIONS, run: report },
  reproduce: { help: reproduceHelp, options: REPRODUCE_OPTIONS, run: reproduce },
  sweep: { help: sweepHelp, options: SWEEP_OPTIONS, run: (argv) => sweep(argv) },
  task: { help: taskHelp, options: TASK_OPTIONS, run: task },
  ui: { help: uiHelp, options: UI_OPTIONS, run: ui },
  list: { help: 'advlab list\n  Attacks, models, datasets, backends and sanity checks.', options: {}, run: list },
};

/** The usage lines of every command (each command's --help has the rest). */
const USAGE = `advlab: adversarial robustness for tf.js image classifiers\n\n${Object.values(COMMANDS)
  .map((c) => c.help.split('\n  ')[0])
  .join('\n')}\n\nadvlab COMMAND --help lists a command's options.\n`;

/** Runs one command; every AdvlabError is reported here, once, with its stable code. Returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd ? 0 : 2;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    const { suggest } = await import('@advlab/core');
    const hint = suggest(cmd, Object.keys(COMMANDS));
    process.stderr.write(
      `advlab: [E_CONFIG] command: expected one of ${Object.keys(COMMANDS).join(', ')}, found ${cmd}${hint ? ` (did you mean ${hint}?)` : ''}\n`,
    );
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${c.help}\n`);
    return 0;
  }
  try {
    await c.run(rest);
    return 0;
  } catch (thrown) {
    const e = asIoError(withFlagNames(thrown, c.options));
    if (e instanceof AdvlabError) {
      process.stderr.write(`advlab: [${e.code}] ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/** A Node system error about a path (EISDIR, EACCES, ENOSPC…) as an IoError; anything else unchanged. */
export function asIoError(e: unknown): unknown {
  const s = e as { code?: unknown; syscall?: unknown; path?: unknown; message?: unknown } | null;
  if (s && typeof s.code === 'string' && /^E[A-Z]+$/.test(s.code) && typeof s.syscall === 'string' && typeof s.path === 'string') {
    return new IoError(s.path, s.syscall, s.code);
  }
  return e;
}
