import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, suggest } from '@advlab/core';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` against `spec`; unknown flags become a ConfigError with a "did you mean" hint. */
export function parse(argv: string[], spec: OptionSpec): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: argv, options: spec, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (e) {
    const m = /Unknown option '(--?[^']+)'/.exec((e as Error).message);
    if (m) {
      const hint = suggest(m[1]!.replace(/^--?/, ''), Object.keys(spec));
      throw new ConfigError(
        m[1]!,
        `one of ${Object.keys(spec)
          .map((k) => `--${k}`)
          .join(', ')}`,
        `an unknown flag${hint ? ` (did you mean --${hint}?)` : ''}`,
      );
    }
    const amb = /Option '(--?[^ ']+)[^']*' argument is ambiguous/.exec((e as Error).message);
    if (amb)
      throw new ConfigError(amb[1]!, `a value; write ${amb[1]}=VALUE for a value starting with '-'`, 'a value that looks like a flag');
    const v = /Option '(--?[^ ']+)[^']*' argument missing/.exec((e as Error).message);
    if (v) throw new ConfigError(v[1]!, 'a value', 'nothing');
    throw new ConfigError('arguments', 'valid flags', (e as Error).message);
  }
}

export function num(v: unknown, flag: string, def: number, check: (x: number) => boolean = Number.isFinite, expected = 'a number'): number {
  if (v === undefined) return def;
  const x = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !check(x)) throw new ConfigError(flag, expected, JSON.stringify(v));
  return x;
}

export const positiveInt = (x: number) => Number.isInteger(x) && x >= 1;
export const nonNegative = (x: number) => Number.isFinite(x) && x >= 0;

export function numList(v: unknown, flag: string, def: number[]): number[] {
  if (v === undefined) return def;
  return String(v)
    .split(',')
    .map((s) => num(s.trim(), flag, NaN, nonNegative, 'comma-separated numbers ≥ 0'));
}

export function str(v: unknown, def: string): string;
export function str(v: unknown, def?: string): string | undefined;
export function str(v: unknown, def?: string): string | undefined {
  return v === undefined ? def : String(v);
}

export function required(v: unknown, flag: string, expected: string): string {
  if (v === undefined || v === '') throw new ConfigError(flag, expected, 'nothing');
  return String(v);
}

export const COMMON: OptionSpec = {
  backend: { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};
