/**
 * A command's flags from its option declarations (@advlab/core's `option` builders): parsing with typed
 * conversion and validation, --help text, and the mapping from an option's key (what library errors name)
 * to its flag (what the user typed). Nothing about a flag is written anywhere else.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { ConfigError, describeValue, optionInfo, parseOptions, suggest, type OptionInfo } from '@advlab/core';

/** A command's options: key → declared schema. */
export type Options = Record<string, z.ZodType>;

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function infoOf(options: Options, key: string): OptionInfo {
  const s = options[key];
  const info = s ? optionInfo(s) : undefined;
  if (!info) throw new Error(`flags: option '${key}' was not declared with @advlab/core's option builders`);
  return info;
}

/** The flag of `key` ('--batch-size'), or undefined when the option has none. */
export function flagOf(options: Options, key: string): string | undefined {
  if (!(key in options)) return undefined;
  const info = infoOf(options, key);
  return info.flag === null ? undefined : `--${info.flag ?? kebab(key)}`;
}

/** A library error names the option's key; the user typed a flag. Other errors pass through. */
export function withFlagNames(e: unknown, options: Options): unknown {
  if (!(e instanceof ConfigError)) return e;
  const flag = flagOf(options, e.option.split('.')[0]!);
  if (!flag || e.option.includes('.')) return e;
  const mapped = new ConfigError(flag, e.expected, e.found);
  mapped.stack = e.stack;
  return mapped;
}

function specOf(options: Options): NonNullable<ParseArgsConfig['options']> {
  const spec: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const key of Object.keys(options)) {
    const flag = flagOf(options, key);
    const info = infoOf(options, key);
    if (flag) spec[flag.slice(2)] = { type: info.kind === 'boolean' ? 'boolean' : 'string', ...(info.short ? { short: info.short } : {}) };
  }
  return spec;
}

function rawArgs(
  argv: string[],
  spec: NonNullable<ParseArgsConfig['options']>,
  allowPositionals: boolean,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: spec, strict: true, allowPositionals });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    const message = (e as Error).message;
    const m = /Unknown option '(--?[^']+)'/.exec(message);
    if (m) {
      const hint = suggest(m[1]!.replace(/^--?/, ''), Object.keys(spec));
      const flags = Object.keys(spec).map((k) => `--${k}`);
      throw new ConfigError(m[1]!, `one of ${flags.join(', ')}`, `an unknown flag${hint ? ` (did you mean --${hint}?)` : ''}`);
    }
    const amb = /Option '(?:-\w, )?(--?[^ ']+)[^']*' argument is ambiguous/.exec(message);
    if (amb)
      throw new ConfigError(amb[1]!, `a value; write ${amb[1]}=VALUE for a value starting with '-'`, 'a value that looks like a flag');
    const v = /Option '(?:-\w, )?(--?[^ ']+)[^']*' argument missing/.exec(message);
    if (v) throw new ConfigError(v[1]!, 'a value', 'nothing');
    const p = /Unexpected argument '([^']*)'/.exec(message);
    if (p) throw new ConfigError('arguments', 'flags only (--name VALUE)', JSON.stringify(p[1]));
    const b = /Option '(?:-\w, )?(--?[^ ']+)[^']*' does not take an argument/.exec(message);
    if (b) throw new ConfigError(b[1]!, 'no value (a switch)', 'a value');
    throw new ConfigError('arguments', 'valid flags', message);
  }
}

/** A flag's text as the option's value: numbers parsed strictly (no '', no '0x1'), lists split on commas. */
function fromText(text: string | boolean, info: OptionInfo, flag: string): unknown {
  if (typeof text === 'boolean') return text;
  const number = (s: string) => {
    const t = s.trim();
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) throw new ConfigError(flag, info.expected, describeValue(text));
    return Number(t);
  };
  switch (info.kind) {
    case 'number':
    case 'integer':
      return number(text);
    case 'numbers':
      return text.split(',').map(number);
    case 'strings':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return text;
  }
}

export interface ParsedFlags<O extends Options> {
  values: z.output<z.ZodObject<O>>;
  /** The keys whose flags were on the command line (the rest are defaults). */
  given: (keyof O & string)[];
  help: boolean;
  /** Arguments that are not flags (only when the command takes them). */
  positionals: string[];
}

/** Parses `argv` against the command's options; every problem is a ConfigError naming the flag. */
export function parseFlags<O extends Options>(argv: string[], options: O, opts: { positionals?: boolean } = {}): ParsedFlags<O> {
  const { values: raw, positionals } = rawArgs(argv, specOf(options), opts.positionals === true);
  const input: Record<string, unknown> = {};
  const given: (keyof O & string)[] = [];
  for (const key of Object.keys(options)) {
    const flag = flagOf(options, key);
    const text = flag ? raw[flag.slice(2)] : undefined;
    if (text === undefined) continue;
    input[key] = fromText(text, infoOf(options, key), flag!);
    given.push(key);
  }
  const help = raw.help === true;
  try {
    return { values: parseConfig(options, input), given, help, positionals };
  } catch (e) {
    // Show what was typed ("-1"), not the parsed value ([-1]).
    const typed =
      e instanceof ConfigError && given.includes(e.option as keyof O & string) ? raw[flagOf(options, e.option)!.slice(2)] : undefined;
    if (e instanceof ConfigError && typeof typed === 'string') {
      const hint = / \(did you mean [^)]*\)$/.exec(e.found)?.[0] ?? '';
      throw new ConfigError(flagOf(options, e.option)!, e.expected, `${describeValue(typed)}${hint}`);
    }
    throw withFlagNames(e, options);
  }
}

/** Validates a config object (config.json, a typed call) against the options; errors name the key. */
export function parseConfig<O extends Options>(options: O, input: unknown): z.output<z.ZodObject<O>> {
  return parseOptions(z.object(options), input) as z.output<z.ZodObject<O>>;
}

/** Whether the command cannot run without the option (no default, not optional). */
export function isRequired(options: Options, key: string): boolean {
  return !options[key]!.safeParse(undefined).success;
}

function shown(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** --help: the usage lines, what the command does, then one line per flag with its help and default. */
export function helpText(usage: string, about: string, options: Options): string {
  const rows = Object.keys(options)
    .map((key) => ({ key, flag: flagOf(options, key) }))
    .filter((r): r is { key: string; flag: string } => r.flag !== undefined)
    .map(({ key, flag }) => {
      const info = infoOf(options, key);
      const value =
        info.kind === 'boolean'
          ? ''
          : ` ${info.placeholder ?? (info.kind === 'numbers' || info.kind === 'strings' ? 'A,B,...' : info.kind === 'string' ? 'VALUE' : 'N')}`;
      const def =
        info.kind === 'boolean'
          ? ''
          : info.defaultValue !== undefined
            ? ` (default ${shown(info.defaultValue)})`
            : isRequired(options, key)
              ? ' (required)'
              : '';
      return [`${info.short ? `-${info.short}, ` : ''}${flag}${value}`, `${info.help}${def}`] as const;
    });
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return `${usage}\n  ${about.split('\n').join('\n  ')}\n\n${rows.map(([f, h]) => `  ${f.padEnd(width)}${h}`).join('\n')}`;
}
