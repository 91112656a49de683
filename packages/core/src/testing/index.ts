/** Test fixtures shared by advlab's packages (subpath `@advlab/core/testing`, in this repository only). */
export * from './fixtures.ts';
export * from './numeric.ts';
export * from './training.ts';
export * from './graph-model.ts';
