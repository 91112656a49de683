/** Options several commands share, declared once. */
import { option, trainingOptions } from '@advlab/core';

export const backendOption = option.string({
  default: 'auto',
  expected: 'onednn, wasm, cpu, auto or a registered tf.js backend',
  help: 'tf.js backend: onednn (native, when built), wasm, cpu, or auto = the fastest available',
});

export const dataOption = option.string({
  optional: true,
  placeholder: 'SPEC',
  expected: 'a dataset: fashion-mnist, mnist:DIR, cifar10:DIR, png:DIR, synthetic:NAME or a folder',
  help: 'dataset (default: the one the model was trained on, else fashion-mnist)',
});

export const seedOption = trainingOptions.seed;

export const normOption = option.oneOf(['linf', 'l2', 'l1'], { default: 'linf', help: 'norm of the threat model' });

/** How a model folder's inputs are read: its own pixel range and the normalisation it expects. */
export const modelInputOptions = {
  bounds: option.numbers({
    optional: true,
    placeholder: 'LO,HI',
    help: "the model's input range: images are mapped from [0,1] into it and ε is given in it (default 0,1)",
  }),
  mean: option.numbers({
    optional: true,
    placeholder: 'M[,M,M]',
    help: 'subtracted per channel inside the model wrapper, after the range',
  }),
  std: option.numbers({
    above: 0,
    optional: true,
    placeholder: 'S[,S,S]',
    help: 'divides per channel inside the model wrapper, after the mean',
  }),
};
