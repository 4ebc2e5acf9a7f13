import * as assert from 'assert';
import {
  confusionAccuracy,
  downsample,
  ema,
  Ema,
  formatDuration,
  perClassMetrics,
  validationHeadline,
} from '../../src/metrics/dashboardMath';

describe('dashboard metrics helpers', () => {
  it('ema: 0 smoothing is the identity; debiased so the first value is kept', () => {
    assert.deepStrictEqual(ema([1, 2, 3], 0), [1, 2, 3]);
    const s = ema([4, 4, 4], 0.9);
    s.forEach((v) => assert.ok(Math.abs(v - 4) < 1e-12));
    const r = ema([0, 10], 0.5);
    assert.strictEqual(r[0], 0);
    // last = 0.5*0 + 0.5*10 = 5 (after 0.5*0+0.5*0=0), debias 1-0.25=0.75 -> 6.666...
    assert.ok(Math.abs(r[1] - 5 / 0.75) < 1e-12);
  });
  it('Ema streams the same values as ema', () => {
    const xs = [3, 1, 4, 1, 5, 9, 2, 6];
    const e = new Ema(0.8);
    assert.deepStrictEqual(
      xs.map((x) => e.push(x)),
      ema(xs, 0.8),
    );
  });
  it('ema passes NaN through without poisoning later values', () => {
    const r = ema([1, NaN, 1], 0.5);
    assert.ok(Number.isNaN(r[1]));
    assert.ok(Math.abs(r[2] - 1) < 1e-12);
  });
  it('perClassMetrics: precision by column, recall by row', () => {
    // rows = true class, columns = predicted
    const m = perClassMetrics([
      [8, 2, 0],
      [1, 9, 0],
      [0, 0, 0],
    ]);
    assert.ok(Math.abs(m[0].precision - 8 / 9) < 1e-12);
    assert.ok(Math.abs(m[0].recall - 0.8) < 1e-12);
    assert.ok(Math.abs(m[1].precision - 9 / 11) < 1e-12);
    assert.ok(Math.abs(m[1].recall - 0.9) < 1e-12);
    assert.ok(Math.abs(m[0].f1 - (2 * (8 / 9) * 0.8) / (8 / 9 + 0.8)) < 1e-12);
    assert.deepStrictEqual(
      m.map((c) => c.support),
      [10, 10, 0],
    );
    assert.ok(Number.isNaN(m[2].precision) && Number.isNaN(m[2].recall) && Number.isNaN(m[2].f1));
    assert.strictEqual(
      perClassMetrics([
        [0, 5],
        [0, 5],
      ])[0].f1,
      NaN,
    );
    assert.strictEqual(
      perClassMetrics([
        [0, 5],
        [3, 5],
      ])[0].f1,
      0,
    );
  });
  it('confusionAccuracy', () => {
    assert.strictEqual(
      confusionAccuracy([
        [3, 1],
        [0, 4],
      ]),
      7 / 8,
    );
    assert.ok(Number.isNaN(confusionAccuracy([])));
  });
  it('downsample keeps the ends and at most max items', () => {
    const xs = Array.from({ length: 1001 }, (_, i) => i);
    const d = downsample(xs, 11);
    assert.deepStrictEqual(d, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    assert.deepStrictEqual(downsample([1, 2], 10), [1, 2]);
  });
  it('formatDuration', () => {
    assert.strictEqual(formatDuration(42), '42s');
    assert.strictEqual(formatDuration(185), '3m 05s');
    assert.strictEqual(formatDuration(3720), '1h 02m');
    assert.strictEqual(formatDuration(undefined), '–');
    assert.strictEqual(formatDuration(-1), '–');
  });
  it('validationHeadline: the figure each task is judged by', () => {
    assert.strictEqual(validationHeadline({ valAccuracy: 0.98765 }), 'val acc 98.77%');
    assert.strictEqual(
      validationHeadline({ valAccuracy: 0.9, multilabel: { meanAuroc: 0.97654 } }),
      'val mean AUROC 0.9765',
    );
    assert.strictEqual(
      validationHeadline({ valAccuracy: 0.99, segmentation: { meanIou: 0.7195, pixelAccuracy: 0.9897 } }),
      'val mean IoU 71.95% · val pixel acc 98.97%',
    );
    assert.strictEqual(
      validationHeadline({ segmentation: { meanIou: null, pixelAccuracy: null } }),
      'val mean IoU – · val pixel acc –',
    );
  });
});
