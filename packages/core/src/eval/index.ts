export * from './batches.ts';
export * from './metrics.ts';
export * from './checks.ts';
export * from './evaluate.ts';
export * from './suites.ts';
export * from './merge.ts';
