/** Images for adversarial examples: RGBA canvas + PNG, a bitmap font, and the clean/δ/adversarial grid. */
export * from './canvas.ts';
export * from './font.ts';
export * from './grid.ts';
export * from './generative-gallery.ts';
