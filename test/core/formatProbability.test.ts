import * as assert from 'assert';
import { formatProbability } from '../../src/core/format';

describe('formatProbability', () => {
  it('never shows a non-zero probability as 0.0%', () => {
    assert.strictEqual(formatProbability(0.9731), '97.3%');
    assert.strictEqual(formatProbability(0.0042), '0.4%');
    assert.strictEqual(formatProbability(0.001), '0.1%');
    assert.strictEqual(formatProbability(0.00031), '<0.1%');
    assert.strictEqual(formatProbability(1e-9), '<0.1%');
    assert.strictEqual(formatProbability(0), '0%');
    assert.strictEqual(formatProbability(1), '100%');
    assert.strictEqual(formatProbability(0.99996), '>99.9%');
    assert.strictEqual(formatProbability(Number.NaN), '?');
  });
});
