export * from './norms.ts';
export * from './threat.ts';
export * from './hyperplane.ts';
