/**
 * Every error advlab raises on purpose is an AdvlabError with a stable code, so the CLI can report it
 * in one place and scripts can branch on `err.code` instead of parsing messages.
 */
export type ErrorCode =
  | 'E_DATA_FORMAT' // a data file is malformed (magic, dtype, length, label range...)
  | 'E_DATA_MISSING' // a data file or folder does not exist
  | 'E_MODEL_FORMAT' // model.json / weights are malformed or unsafe
  | 'E_MODEL_MISSING'
  | 'E_CONFIG' // a flag or option has a bad value
  | 'E_SHAPE' // tensors of incompatible shapes were passed
  | 'E_ATTACK' // an attack cannot run as configured (e.g. DLR on < 3 classes)
  | 'E_NAN' // an attack produced NaN / Inf
  | 'E_BACKEND';

/** Base class of every deliberate advlab error; branch on `code` (an ErrorCode), not on the message. */
export class AdvlabError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A data file did not match its format. Message names the file, what was expected and what was found. */
export class DataFormatError extends AdvlabError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super('E_DATA_FORMAT', `${file}: expected ${expected}, found ${found}`);
  }
}

/** A data file or folder does not exist (E_DATA_MISSING). `hint`, if given, says how to obtain it and is appended to the message. */
export class DataMissingError extends AdvlabError {
  constructor(
    readonly file: string,
    hint = '',
  ) {
    super('E_DATA_MISSING', `${file}: not found${hint ? ` (${hint})` : ''}`);
  }
}

/** model.json or its weights are malformed or unsafe (E_MODEL_FORMAT). Message names the file, what was expected and what was found. */
export class ModelFormatError extends AdvlabError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super('E_MODEL_FORMAT', `${file}: expected ${expected}, found ${found}`);
  }
}

/** A flag or option value is invalid. `option` is the flag name as the user typed it (e.g. `--eps`). */
export class ConfigError extends AdvlabError {
  constructor(
    readonly option: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super('E_CONFIG', `${option}: expected ${expected}, found ${found}`);
  }
}

/** An attack cannot run as configured, e.g. a DLR loss on fewer than 3 classes or a targeted loss without targets (E_ATTACK). */
export class AttackError extends AdvlabError {
  constructor(message: string) {
    super('E_ATTACK', message);
  }
}

/** Tensors or arrays of incompatible shapes were passed (E_SHAPE). */
export class ShapeError extends AdvlabError {
  constructor(message: string) {
    super('E_SHAPE', message);
  }
}

/** tfjs-core style assertion: the message is built only when the check fails. */
export function assert(cond: unknown, msg: () => string): asserts cond {
  if (!cond) throw new AdvlabError('E_SHAPE', msg());
}

/** A model folder, model.json or weight shard does not exist. */
export class ModelMissingError extends AdvlabError {
  constructor(
    readonly file: string,
    hint = '',
  ) {
    super('E_MODEL_MISSING', `${file}: not found${hint ? ` (${hint})` : ''}`);
  }
}
