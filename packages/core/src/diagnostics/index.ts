export * from './alignment.ts';
export * from './co-monitor.ts';
export * from './danskin.ts';
export * from './chance.ts';
export * from './lead-time.ts';
