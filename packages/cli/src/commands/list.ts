import { ATTACKS, AUTOENCODERS, CHECK_DOCS, GENERATIVE_ATTACKS, METHODS, MODELS } from '@advlab/core';
import { DATASETS, backendProviders } from '@advlab/node';

export function list(): void {
  const section = (title: string, items: readonly { name: string; description: string }[]) => {
    process.stdout.write(`${title}:\n`);
    const w = Math.max(...items.map((i) => i.name.length));
    for (const i of items) process.stdout.write(`  ${i.name.padEnd(w)}  ${i.description}\n`);
  };
  section(
    'attacks',
    [...ATTACKS.values()].map((a) => ({ name: a.name, description: a.description })),
  );
  section('models', [...MODELS]);
  section('generative models (advlab train --model vae|ae; advlab eval --generative)', [...AUTOENCODERS]);
  section(
    'attacks on generative models',
    GENERATIVE_ATTACKS.map((name) => ({
      name,
      description: {
        latent: 'q(z|x+δ) toward q(z|x_t): KL for a VAE, L2 between codes for an AE',
        output: 'rec(x+δ) toward x_t in L2',
        classifier: "a classifier on rec(x+δ) says x_t's class (Kos et al. 2017)",
      }[name],
    })),
  );
  section('training methods', [...METHODS]);
  section('datasets', [...DATASETS]);
  section('backends', backendProviders());
  section(
    'sanity checks',
    Object.entries(CHECK_DOCS).map(([name, description]) => ({ name, description })),
  );
}
