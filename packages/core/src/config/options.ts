/**
 * Options declared once: each builder gives a zod schema (types, defaults, validation) and what people read
 * about the option (what a valid value is, help text, how it is written on a command line). Configs built
 * from them are parsed by `parseOptions`, which turns the first problem into a ConfigError naming the key;
 * the CLI derives its flags, --help and the resume diff from the same declarations.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { suggest } from '../util/suggest.ts';

/** How an option's value is written as text (a command-line flag). */
export type OptionKind = 'number' | 'integer' | 'string' | 'boolean' | 'numbers' | 'strings';

/** What people read about one option (meaning, default, flag spelling), attached to its schema by `declareOption`. */
export interface OptionInfo {
  /** What a valid value is, in words: the `expected` of the ConfigError a bad value gets. */
  expected: string;
  help: string;
  kind: OptionKind;
  /** The default, as shown in help; undefined when the option is optional or required. */
  defaultValue?: unknown;
  /** The flag when it is not the key in kebab-case; null when the option has no flag. */
  flag?: string | null;
  /** Placeholder for the value in help (default: the kind, upper-case). */
  placeholder?: string;
  /** A one-letter alias on the command line ('o' for -o). */
  short?: string;
}

const INFO = new WeakMap<z.ZodType, OptionInfo>();

/** Attaches what people read about an option to its schema; returns the schema. */
export function declareOption<T extends z.ZodType>(schema: T, info: OptionInfo): T {
  INFO.set(schema, info);
  return schema;
}

/** What was declared about an option, or undefined for a schema not built by `option`. */
export function optionInfo(schema: z.ZodType): OptionInfo | undefined {
  return INFO.get(schema);
}

interface Common<T> {
  help: string;
  /** A default, or `optional: true` for an option that may be absent; neither: required. */
  default?: T;
  optional?: true;
  flag?: string | null;
  placeholder?: string;
  short?: string;
}

/** The schema a builder returns: with a default, optional, or required, as the options say. */
export type Built<T extends z.ZodType, O> = O extends { default: unknown }
  ? z.ZodDefault<T>
  : O extends { optional: true }
    ? z.ZodOptional<T>
    : T;

function finish<T extends z.ZodType, O extends Common<unknown>>(
  base: T,
  o: O,
  info: Omit<OptionInfo, 'help' | 'flag' | 'placeholder'>,
): Built<T, O> {
  const full: OptionInfo = { ...info, help: o.help };
  if (o.flag !== undefined) full.flag = o.flag;
  if (o.placeholder !== undefined) full.placeholder = o.placeholder;
  if (o.short !== undefined) full.short = o.short;
  if (o.default !== undefined) {
    full.defaultValue = o.default;
    return declareOption(base.default(o.default as never), full) as Built<T, O>;
  }
  return declareOption(o.optional ? base.optional() : base, full) as Built<T, O>;
}

function bounds(what: string, o: { min?: number; above?: number; max?: number }): string {
  if (o.min !== undefined && o.max !== undefined) return `${what} in [${o.min}, ${o.max}]`;
  if (o.min !== undefined) return `${what} ≥ ${o.min}`;
  if (o.above !== undefined) return `${what} > ${o.above}`;
  return what;
}

/**
 * Range limits of a numeric option, inclusive unless stated; a value outside them fails `parseOptions` with a
 * ConfigError. `option.numbers` checks `min` and `above` on every item and ignores `max`.
 */
export interface NumberOptions {
  min?: number;
  /** Exclusive lower bound. */
  above?: number;
  max?: number;
}

function limited(s: z.ZodNumber, o: NumberOptions): z.ZodNumber {
  let r = s;
  if (o.min !== undefined) r = r.min(o.min);
  if (o.above !== undefined) r = r.gt(o.above);
  if (o.max !== undefined) r = r.max(o.max);
  return r;
}

/** The option builders. */
export const option = {
  /** A finite number, within the `min` / `above` / `max` limits given. */
  number<const O extends NumberOptions & Common<number>>(o: O) {
    return finish(limited(z.number().finite(), o), o, { kind: 'number', expected: bounds('a number', o) });
  },
  /** An integer, within the `min` / `above` / `max` limits given. */
  integer<const O extends NumberOptions & Common<number>>(o: O) {
    return finish(limited(z.number().int(), o), o, { kind: 'integer', expected: bounds('an integer', o) });
  },
  /** One of the strings in `values` (a near miss gets a did-you-mean hint); the help placeholder defaults to `a|b|c`. */
  oneOf<const T extends readonly [string, ...string[]], const O extends Common<T[number]>>(values: T, o: O) {
    const placeholder = o.placeholder ?? values.join('|');
    return finish(z.enum(values), { ...o, placeholder }, { kind: 'string', expected: `one of ${values.join(', ')}` }) as Built<
      z.ZodEnum<{ [K in T[number]]: K }>,
      O
    >;
  },
  /** A non-empty string; `expected` replaces 'a non-empty string' in the error a bad value gets. */
  string<const O extends Common<string> & { expected?: string }>(o: O) {
    return finish(z.string().min(1), o, { kind: 'string', expected: o.expected ?? 'a non-empty string' });
  },
  /** A switch that defaults to false; it takes neither `default` nor `optional`. */
  boolean(o: Omit<Common<boolean>, 'optional' | 'default'>) {
    return finish(z.boolean(), { ...o, default: false }, { kind: 'boolean', expected: 'true or false' });
  },
  /** A non-empty list of numbers (comma-separated on a command line). */
  numbers<const O extends NumberOptions & Common<number[]>>(o: O) {
    return finish(z.array(limited(z.number().finite(), o)).min(1), o, { kind: 'numbers', expected: bounds('comma-separated numbers', o) });
  },
  /** A non-empty list of names from `values` (comma-separated on a command line); any name when values is empty. */
  strings<const O extends Common<string[]> & { values?: readonly string[] }>(o: O) {
    const item = o.values && o.values.length > 0 ? z.enum(o.values as [string, ...string[]]) : z.string().min(1);
    return finish(z.array(item).min(1), o, {
      kind: 'strings',
      expected: o.values?.length ? `comma-separated names from ${o.values.join(', ')}` : 'comma-separated names',
    });
  },
  /** Any other schema, with what people read about it. */
  custom<T extends z.ZodType>(schema: T, info: OptionInfo) {
    return declareOption(schema, info);
  },
};

/** A value as a message shows it. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function at(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/**
 * Parses `input` with an object schema of options. The first problem becomes a ConfigError naming the key
 * (`eps`, or `co.pgdDrop` for a nested one), what was expected (from the option's declaration) and what was
 * found.
 */
export function parseOptions<S extends z.ZodObject>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return unknownKey(schema, [...issue.path.map(String), key].join('.'));
  }
  const top = issue.path[0];
  const field = typeof top === 'string' ? schema.shape[top] : undefined;
  const info = field ? optionInfo(field as z.ZodType) : undefined;
  // A list is one option: its key, not the index of the bad item, and the whole list as found.
  const path = info?.kind === 'numbers' || info?.kind === 'strings' ? issue.path.slice(0, 1) : issue.path;
  const key = path.map(String).join('.') || 'options';
  const found = at(input, path);
  // A near miss of a name gets a hint, as unknown flags and attack names do.
  const names = issue.code === 'invalid_value' ? issue.values.filter((v): v is string => typeof v === 'string') : [];
  const hint = typeof found === 'string' && names.length > 0 ? suggest(found, names) : undefined;
  throw new ConfigError(key, info?.expected ?? issue.message, `${describeValue(found)}${hint ? ` (did you mean ${hint}?)` : ''}`);
}

function unknownKey(schema: z.ZodObject, key: string): never {
  throw new ConfigError(key, `one of the options ${Object.keys(schema.shape).join(', ')}`, 'an unknown option');
}

/** The keys of `after` whose values differ from `before` (JSON comparison), as `key: old → new`. */
export function configChanges(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  return Object.keys({ ...before, ...after })
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => `${k}: ${describeValue(before[k])} → ${describeValue(after[k])}`);
}
