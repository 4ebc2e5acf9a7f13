/**
 * A small seeded PRNG (mulberry32) whose whole state is one 32-bit integer, so a run can save it with a
 * checkpoint and continue the same sequence of shuffles, splits and augmentations after a resume.
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Continues from a state exported by `state()`. */
  static fromState(state: number): Rng {
    return new Rng(state);
  }

  /** The whole generator state: a uint32, JSON-serialisable. */
  state(): number {
    return this.s;
  }

  setState(state: number): void {
    this.s = state >>> 0;
  }

  /** The next uint32. */
  nextUint32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: number }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}
