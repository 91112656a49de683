export * from './optim.ts';
export * from './schedules.ts';
export * from './objectives.ts';
export * from './run-dir.ts';
export * from './adversarial.ts';
