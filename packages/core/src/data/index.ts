/** advlab data in memory: image sets, synthetic tasks, minority subsampling. File loaders live in @advlab/node. */
export * from './types.ts';
export * from './synthetic.ts';
export * from './minority.ts';
