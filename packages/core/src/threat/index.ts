export * from './norms.ts';
export * from './threat.ts';
