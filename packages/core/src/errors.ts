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
  | 'E_BACKEND'
  | 'E_RUN_CORRUPT' // a file of a run directory is malformed, inconsistent or changed since it was written
  | 'E_RUN_LOCKED' // another live process is writing the run directory
  | 'E_TASK' // tasks of a suite ended unfinished under an executor, after their retries (each named with why)
  | 'E_IO'; // the operating system refused to read or write a path (permissions, a directory where a file was expected, a full disk)

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

/**
 * A file of a training run (config, metrics, checkpoint pointer, checkpoint files) is malformed, inconsistent
 * with the rest of the run, or changed since it was written (E_RUN_CORRUPT). Nothing is changed by a run
 * that raises it: the message names the file, what was expected and what was found.
 */
export class RunCorruptError extends AdvlabError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super('E_RUN_CORRUPT', `${file}: expected ${expected}, found ${found}`);
  }
}

/** Another live process holds the run directory's lock (E_RUN_LOCKED); `lockFile` says who, and how to clear a lock left by a dead process. */
export class RunLockedError extends AdvlabError {
  constructor(
    readonly lockFile: string,
    message: string,
  ) {
    super('E_RUN_LOCKED', `${lockFile}: ${message}`);
  }
}

/**
 * The operating system refused to read or write `file` (E_IO): the path, the operation and the system's
 * reason (EACCES, EISDIR, ENOSPC, …). What the CLI makes of an fs error no check anticipated, so the user
 * still learns which path and why instead of a stack trace.
 */
export class IoError extends AdvlabError {
  constructor(
    readonly file: string,
    readonly operation: string,
    readonly reason: string,
  ) {
    super('E_IO', `${file}: could not ${operation} it (${reason})`);
  }
}
