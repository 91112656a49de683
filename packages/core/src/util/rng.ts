/**
 * A small seeded PRNG (mulberry32) with explicit, serialisable state. Attacks and training take a seed
 * rather than reading global randomness so that every run is reproducible and resumable.
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** The current state, an unsigned 32-bit integer: save it and pass it to `Rng.fromState` to continue the same stream. */
  get state(): number {
    return this.s;
  }
  /** An Rng that continues from a `state` read earlier, drawing exactly what the original would have drawn next. */
  static fromState(state: number): Rng {
    return new Rng(state);
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal via Box–Muller. */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** A fresh 32-bit seed, e.g. for a tf.js random op. */
  seed(): number {
    return Math.floor(this.next() * 2 ** 31);
  }
  /** Shuffles `a` in place (Fisher–Yates) and returns it. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}
