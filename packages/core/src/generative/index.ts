export * from './model.ts';
export * from './elbo.ts';
export * from './objectives.ts';
export * from './attacks.ts';
export * from './auddc.ts';
export * from './evaluate.ts';
export * from './train.ts';
