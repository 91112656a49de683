export type { TensorList } from './vectors.ts';
export * from './symmetric-eigen.ts';
export * from './hessian.ts';
export * from './spectrum.ts';
export * from './input.ts';
export * from './measure.ts';
