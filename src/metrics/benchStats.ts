/**
 * The figures of `npm run bench` from repeated, alternating runs (engine, PyTorch, engine, PyTorch, …): each
 * figure is the median of its samples with their minimum and maximum, and a ratio between two sides is taken pair
 * by pair (the runs of one round, which shared the machine's state of that moment), then summarised the same way.
 * On a noisy machine one run of each side cannot tell a change from noise; the spread says how far to trust it.
 *
 * Pure: bench/run.mjs loads it from the bundle esbuild.mjs makes of it.
 */

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many samples. */
  n: number;
}

/** The median (mean of the middle two for an even count), min and max of finite samples; undefined when none. */
export function spread(samples: readonly number[]): Spread | undefined {
  const xs = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { median, min: xs[0], max: xs[xs.length - 1], n: xs.length };
}

/**
 * The ratios a[i] / b[i] of the rounds where both sides have a positive, finite sample (a failed run leaves a
 * hole that must not pair the next round's sample with this one's), and their spread.
 */
export function pairRatios(
  a: readonly (number | undefined)[],
  b: readonly (number | undefined)[],
): { ratios: number[]; spread: Spread | undefined } {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y) || y <= 0) continue;
    ratios.push(x / y);
  }
  return { ratios, spread: spread(ratios) };
}

/** `12.3 (11.0–14.1)`: a spread as text with `digits` decimals; `-` for none. */
export function formatSpread(s: Spread | undefined, digits = 1): string {
  if (!s) return '-';
  const f = (x: number) => x.toFixed(digits);
  return s.n === 1 ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}
