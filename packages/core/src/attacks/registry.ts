import { ConfigError } from '../errors.ts';
import { suggest } from '../util/suggest.ts';
import { apgdCe, apgdDlr, apgdT } from './apgd.ts';
import { fabT } from './fab.ts';
import { square } from './square.ts';
import { bim, fgsm, miFgsm, pgd, pgdTargeted } from './pgd.ts';
import type { AttackDefinition } from './types.ts';

/** Every attack advlab knows, by name: an explicit registry, no string evaluation. */
// biome-ignore lint/suspicious/noExplicitAny: each attack has its own config type; runAttack checks it per call
export const ATTACKS: ReadonlyMap<string, AttackDefinition<any>> = new Map(
  [fgsm, pgd, pgdTargeted, bim, miFgsm, apgdCe, apgdDlr, apgdT, fabT, square].map((a) => [a.name, a]),
);

/** The registered attack called `name` (case-insensitive); throws ConfigError listing the known names, with a did-you-mean hint. */
// biome-ignore lint/suspicious/noExplicitAny: as ATTACKS
export function getAttack(name: string): AttackDefinition<any> {
  const a = ATTACKS.get(name.toLowerCase());
  if (!a) {
    const known = [...ATTACKS.keys()];
    const hint = suggest(name, known);
    throw new ConfigError('attacks', `one of ${known.join(', ')}`, `${name}${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  return a;
}
