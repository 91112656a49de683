export * from './optim.ts';
export * from './schedules.ts';
export * from './objectives.ts';
export * from './store.ts';
export * from './config.ts';
export * from './adversarial.ts';
