import { AdvlabError } from '@advlab/core';
import { attack, attackHelp } from './commands/attack.ts';
import { demo, demoHelp } from './commands/demo.ts';
import { evaluate, evalHelp } from './commands/eval.ts';
import { list } from './commands/list.ts';
import { report, reportHelp } from './commands/report.ts';
import { reproduce, reproduceHelp } from './commands/reproduce.ts';
import { train, trainHelp } from './commands/train.ts';

const COMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<unknown> | unknown }> = {
  train: { help: trainHelp, run: train },
  eval: { help: evalHelp, run: evaluate },
  attack: { help: attackHelp, run: attack },
  demo: { help: demoHelp, run: demo },
  report: { help: reportHelp, run: report },
  reproduce: { help: reproduceHelp, run: reproduce },
  list: { help: 'advlab list\n  Attacks, models, datasets, backends and sanity checks.', run: list },
};

const USAGE = `advlab: adversarial robustness for tf.js image classifiers\n\n${Object.values(COMMANDS)
  .map((c) => c.help)
  .join('\n\n')}\n`;

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
  } catch (e) {
    if (e instanceof AdvlabError) {
      process.stderr.write(`advlab: [${e.code}] ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
