import * as assert from 'assert';
import { formatSpread, pairRatios, spread } from '../../src/metrics/benchStats';

describe('metrics/benchStats', () => {
  it('gives the median, min and max of the samples, whatever their order', () => {
    assert.deepStrictEqual(spread([274, 122, 128]), { median: 128, min: 122, max: 274, n: 3 });
    assert.deepStrictEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, n: 4 });
    assert.deepStrictEqual(spread([NaN, 5, Infinity]), { median: 5, min: 5, max: 5, n: 1 });
    assert.strictEqual(spread([]), undefined);
  });

  it('takes ratios round by round, skipping a round where either side failed', () => {
    // Engine 170, 90, 175 img/s; PyTorch 122, 274 and a failed run: two pairs, 1.39x and 0.33x.
    const r = pairRatios([170, 90, 175], [122, 274, undefined]);
    assert.strictEqual(r.ratios.length, 2);
    assert.ok(Math.abs(r.ratios[0] - 170 / 122) < 1e-12);
    assert.ok(Math.abs(r.ratios[1] - 90 / 274) < 1e-12);
    assert.deepStrictEqual(pairRatios([1, 2], [0, 4]).ratios, [0.5], 'a zero denominator is no pair');
    assert.strictEqual(pairRatios([], [1]).spread, undefined);
  });

  it('prints a spread as median (min–max), a single sample alone', () => {
    assert.strictEqual(formatSpread({ median: 1.234, min: 1, max: 2, n: 3 }, 2), '1.23 (1.00–2.00)');
    assert.strictEqual(formatSpread({ median: 5, min: 5, max: 5, n: 1 }), '5.0');
    assert.strictEqual(formatSpread(undefined), '-');
  });
});
