export * from './standard.ts';
export * from './schedules.ts';
export * from './objectives.ts';
export * from './run-dir.ts';
export * from './adversarial.ts';
