import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { configChanges, option, optionInfo, parseOptions } from './options.ts';

const schema = z.object({
  eps: option.number({ min: 0, default: 0.1, help: 'radius' }),
  steps: option.integer({ min: 1, optional: true, help: 'steps' }),
  norm: option.oneOf(['linf', 'l2'], { default: 'linf', help: 'norm' }),
  model: option.string({ help: 'model folder', expected: 'a model folder' }),
  list: option.numbers({ min: 0, default: [0.1], help: 'radii' }),
  quiet: option.boolean({ help: 'no output' }),
});

function rejects(input: unknown, key: string, expected: string, found: string): void {
  assert.throws(
    () => parseOptions(schema, input),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.option, key);
      assert.equal(e.expected, expected);
      assert.equal(e.found, found);
      return true;
    },
  );
}

test('defaults are filled in, optional options stay absent, types come out', () => {
  const c = parseOptions(schema, { model: 'm' });
  assert.deepEqual(c, { eps: 0.1, norm: 'linf', model: 'm', list: [0.1], quiet: false });
  const typed: { eps: number; steps?: number | undefined; norm: 'linf' | 'l2' } = c;
  assert.equal(typed.eps, 0.1);
});

test('a bad value is a ConfigError naming the key, with the declared expectation and what was found', () => {
  rejects({ model: 'm', eps: -1 }, 'eps', 'a number ≥ 0', '-1');
  rejects({ model: 'm', eps: '0.1' }, 'eps', 'a number ≥ 0', '"0.1"');
  rejects({ model: 'm', steps: 1.5 }, 'steps', 'an integer ≥ 1', '1.5');
  rejects({ model: 'm', norm: 'l3' }, 'norm', 'one of linf, l2', '"l3" (did you mean l2?)');
  rejects({ model: 'm', norm: 'cosine' }, 'norm', 'one of linf, l2', '"cosine"');
  rejects({}, 'model', 'a model folder', 'nothing');
  rejects({ model: 'm', list: [0.1, -2] }, 'list', 'comma-separated numbers ≥ 0', '[0.1,-2]');
  rejects({ model: 'm', list: [] }, 'list', 'comma-separated numbers ≥ 0', '[]');
  rejects({ model: 'm', eps: Number.POSITIVE_INFINITY }, 'eps', 'a number ≥ 0', 'null');
});

test('unknown keys of a strict schema are named', () => {
  assert.throws(
    () => parseOptions(schema.strict(), { model: 'm', epss: 1 }),
    (e: unknown) => e instanceof ConfigError && e.option === 'epss',
  );
});

test('every option carries its help, expectation and default', () => {
  for (const [key, s] of Object.entries(schema.shape)) {
    const info = optionInfo(s);
    assert.ok(info && info.help.length > 0 && info.expected.length > 0, key);
  }
  assert.equal(optionInfo(schema.shape.eps)!.defaultValue, 0.1);
  assert.equal(optionInfo(schema.shape.steps)!.defaultValue, undefined);
});

test('configChanges lists what differs, both ways', () => {
  assert.deepEqual(configChanges({ eps: 0.1, steps: 7 }, { eps: 0.2, norm: 'l2' }), [
    'eps: 0.1 → 0.2',
    'steps: 7 → nothing',
    'norm: nothing → "l2"',
  ]);
});
