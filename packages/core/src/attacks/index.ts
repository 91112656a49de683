export * from './types.ts';
export * from './gradient.ts';
export * from './pgd.ts';
export * from './apgd.ts';
export * from './fab.ts';
export * from './square.ts';
export * from './run.ts';
export * from './registry.ts';
