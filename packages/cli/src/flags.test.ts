import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, optionInfo } from '@advlab/core';
import { flagOf, helpText, isRequired, parseFlags, withFlagNames } from './flags.ts';
import { COMMANDS } from './main.ts';

/** A value of the right kind for each required option, so that the bad one is what fails. */
function requiredArgs(options: Record<string, import('zod').ZodType>): string[] {
  return Object.keys(options)
    .filter((k) => isRequired(options, k))
    .flatMap((k) => [flagOf(options, k)!, 'x']);
}

/** Values no option of that kind accepts. */
function badValues(kind: string, expected: string): string[] {
  switch (kind) {
    case 'number':
    case 'integer':
      return ['abc', '', '1e', ...(/≥ 0|≥ 1|> 0/.test(expected) ? ['-5'] : []), ...(kind === 'integer' ? ['1.5'] : [])];
    case 'numbers':
      return ['a,b', '0.1,', ...(/≥ 0/.test(expected) ? ['0.1,-1'] : [])];
    case 'strings':
      return [','];
    default:
      return expected.startsWith('one of') ? ['not-one-of-them'] : [''];
  }
}

for (const [name, command] of Object.entries(COMMANDS)) {
  const options = command.options;
  const keys = Object.keys(options).filter((k) => flagOf(options, k));
  if (keys.length === 0) continue;

  test(`${name}: every flag has help, a stated expectation, and a default, optional or required status in --help`, () => {
    const help = helpText('usage', 'about', options);
    for (const key of keys) {
      const info = optionInfo(options[key]!)!;
      assert.ok(info.help.length > 3 && info.expected.length > 3, key);
      const line = help.split('\n').find((l) => l.includes(`${flagOf(options, key)} `) || l.trimEnd().endsWith(flagOf(options, key)!));
      assert.ok(line?.includes(info.help), `${flagOf(options, key)} in --help`);
      const status =
        info.kind === 'boolean' || info.defaultValue !== undefined || !isRequired(options, key) || line!.includes('(required)');
      assert.ok(status, key);
      if (info.defaultValue !== undefined && info.kind !== 'boolean') assert.match(line!, /\(default /, key);
    }
    assert.equal(command.help.includes(help.split('\n')[3]!.trim()), true, 'the command help is this text');
  });

  test(`${name}: a bad value of each flag is a ConfigError naming that flag`, () => {
    const base = requiredArgs(options);
    for (const key of keys) {
      const flag = flagOf(options, key)!;
      const info = optionInfo(options[key]!)!;
      const cases =
        info.kind === 'boolean' ? [[`${flag}=yes`]] : [...badValues(info.kind, info.expected).map((v) => [`${flag}=${v}`]), [flag]];
      for (const args of cases) {
        assert.throws(
          () => parseFlags([...base, ...args], options, { positionals: name === 'report' }),
          (e: unknown) => e instanceof ConfigError && e.option === flag && e.code === 'E_CONFIG',
          `${name} ${args.join(' ')}`,
        );
      }
    }
  });
}

test('parsed flags are typed values with defaults; the keys given are listed', () => {
  const { values, given } = parseFlags(
    ['--eps', '0.1,0.2', '--model', 'm', '--no-worst-case', '--batch-size', '64'],
    COMMANDS.eval!.options,
  );
  assert.deepEqual(values.eps, [0.1, 0.2]);
  assert.equal(values.batchSize, 64);
  assert.equal(values.noWorstCase, true);
  assert.equal(values.norm, 'linf');
  assert.deepEqual(given.sort(), ['batchSize', 'eps', 'model', 'noWorstCase']);
});

test("a library error names the option's key; the CLI shows the flag the user typed", () => {
  const options = COMMANDS.train!.options;
  const mapped = withFlagNames(new ConfigError('batchSize', 'an integer ≥ 1', '0'), options) as ConfigError;
  assert.equal(mapped.message, '--batch-size: expected an integer ≥ 1, found 0');
  const ramp = withFlagNames(new ConfigError('epsRampEpochs', 'a number ≥ 0', '-1'), options) as ConfigError;
  assert.equal(ramp.option, '--eps-ramp');
  const unknown = withFlagNames(new ConfigError('targetClasses', 'x', 'y'), options) as ConfigError;
  assert.equal(unknown.option, 'targetClasses', 'a key with no flag stays as it is');
});
