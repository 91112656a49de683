import { ATTACKS, CHECK_DOCS, METHODS, MODELS } from '@advlab/core';
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
  section('training methods', [...METHODS]);
  section('datasets', [...DATASETS]);
  section('backends', backendProviders());
  section(
    'sanity checks',
    Object.entries(CHECK_DOCS).map(([name, description]) => ({ name, description })),
  );
}
