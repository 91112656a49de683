/**
 * The playground's DOM pieces, built with DOM APIs only: class and model names come from files anyone could
 * write, so they only ever reach the page as text.
 */
import { h } from '../dom.ts';
import type { AttackOutcome } from './attack.ts';
import { paintPixels } from './image.ts';

export function percent(p: number): string {
  return `${(100 * p).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`;
}

/** The `count` most probable classes as a list of name, percentage and a bar. */
export function topClasses(probs: Float32Array, classNames: readonly string[], count = 5, highlight?: number): HTMLOListElement {
  const order = Array.from(probs.keys())
    .sort((a, b) => probs[b]! - probs[a]!)
    .slice(0, count);
  const list = h('ol', { class: 'pg-top' });
  for (const k of order) {
    const p = probs[k]!;
    const bar = h('span', { class: 'pg-bar' }, h('span', { class: 'pg-bar-fill' }));
    (bar.firstChild as HTMLElement).style.width = `${Math.max(0, Math.min(100, 100 * p))}%`;
    const item = h(
      'li',
      { 'data-class': String(k) },
      h('span', { class: 'pg-class' }, classNames[k] ?? `class ${k}`),
      h('span', { class: 'pg-percent' }, percent(p)),
      bar,
    );
    if (k === highlight) item.classList.add('pg-highlight');
    list.append(item);
  }
  return list;
}

/** A figure: a pixelated canvas with a caption under it, and whatever comes after. */
function figure(caption: string, canvas: HTMLCanvasElement, ...after: Node[]): HTMLElement {
  canvas.classList.add('pg-pixels');
  return h('figure', { class: 'pg-figure' }, canvas, h('figcaption', {}, caption), ...after);
}

export interface Verdict {
  fooled: boolean;
  text: string;
}

/**
 * What the attack did, from the model's answers: "fooled: Coat → Shirt", "holds: Coat", or for a targeted
 * attack whether it reached the target.
 */
export function verdictOf(outcome: AttackOutcome, classNames: readonly string[], target?: number): Verdict {
  const name = (k: number) => classNames[k] ?? `class ${k}`;
  const { label, cleanPred, adversarialPred, labelKnown } = outcome;
  if (labelKnown && cleanPred !== label) {
    return { fooled: true, text: `already wrong on the clean image: ${name(label)} taken for ${name(cleanPred)}` };
  }
  if (target !== undefined) {
    if (target === label) return { fooled: false, text: `nothing to do: the target ${name(target)} is the image's own class` };
    if (adversarialPred === target) return { fooled: true, text: `fooled: ${name(label)} → ${name(target)} (the target)` };
    if (adversarialPred !== label) return { fooled: true, text: `fooled, target missed: ${name(label)} → ${name(adversarialPred)}` };
    return { fooled: false, text: `holds: ${name(label)} (target ${name(target)} not reached)` };
  }
  if (adversarialPred !== label) return { fooled: true, text: `fooled: ${name(label)} → ${name(adversarialPred)}` };
  return { fooled: false, text: `holds: ${name(label)}` };
}

/** clean | amplified perturbation | adversarial, each with what the model says, and the verdict line. */
export function renderOutcome(
  outcome: AttackOutcome,
  classNames: readonly string[],
  shape: readonly [number, number, number],
  eps: number,
  target?: number,
): { body: HTMLElement; verdict: Verdict } {
  const [height, width, channels] = shape;
  const [lo, hi] = outcome.bounds;
  const toUnit = (v: number) => (v - lo) / (hi - lo);
  // δ ∈ [−ε, ε] mapped onto [0, 1]: grey is no change; at ε = 0 nothing moves, so all grey.
  const amplified = outcome.clean.map((v, i) => (eps > 0 ? (outcome.adversarial[i]! - v) / (2 * eps) + 0.5 : 0.5));
  const cleanCanvas = document.createElement('canvas');
  const deltaCanvas = document.createElement('canvas');
  const advCanvas = document.createElement('canvas');
  paintPixels(cleanCanvas, outcome.clean.map(toUnit), height, width, channels);
  paintPixels(deltaCanvas, amplified, height, width, channels);
  paintPixels(advCanvas, outcome.adversarial.map(toUnit), height, width, channels);
  const verdict = verdictOf(outcome, classNames, target);
  const gain = eps > 0 ? `×${Number((1 / (2 * eps)).toPrecision(3))}` : '';
  const labelNote = outcome.labelKnown
    ? `true label: ${classNames[outcome.label] ?? outcome.label}`
    : `label unknown: attacked away from the model's own clean prediction, ${classNames[outcome.label] ?? outcome.label}`;
  const body = h(
    'div',
    { class: 'pg-outcome' },
    h('p', { class: `pg-verdict ${verdict.fooled ? 'pg-fooled' : 'pg-holds'}`, 'data-testid': 'pg-verdict' }, verdict.text),
    h('p', { class: 'pg-note' }, labelNote),
    h(
      'div',
      { class: 'pg-figures' },
      figure('clean', cleanCanvas, topClasses(outcome.cleanProbs, classNames, 5, outcome.label)),
      figure(
        `perturbation δ, amplified: δ/(2ε) + 0.5 ${gain}`,
        deltaCanvas,
        h('p', { class: 'pg-note' }, `‖δ‖∞ = ${outcome.distance.toFixed(3)} (ε = ${eps})`),
      ),
      figure('adversarial', advCanvas, topClasses(outcome.adversarialProbs, classNames, 5, outcome.label)),
    ),
  );
  return { body, verdict };
}
