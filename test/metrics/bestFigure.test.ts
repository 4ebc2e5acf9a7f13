import * as assert from 'assert';
import { bestFigure, bestFigureText } from '../../src/metrics/bestFigure';

describe('the figure a best checkpoint was chosen by', () => {
  it('names the task figure and formats it: accuracy and IoU in percent, AUROC as a fraction', () => {
    assert.strictEqual(
      bestFigureText({ bestMonitor: 'val_accuracy', bestValue: 0.975, bestValAccuracy: 0.975 }),
      'best val acc 97.50%',
    );
    assert.strictEqual(
      bestFigureText({ bestMonitor: 'val_mean_auroc', bestValue: 0.99791 }),
      'best val mean AUROC 0.9979',
    );
    assert.strictEqual(
      bestFigureText({ bestMonitor: 'val_mean_iou', bestValue: 0.8504 }, 1),
      'best val mean IoU 85.0%',
    );
    assert.deepStrictEqual(bestFigure({ bestMonitor: 'val_mean_iou', bestValue: 0.5 }), {
      label: 'val mean IoU',
      text: '50.00%',
      value: 0.5,
    });
  });

  it('reads runs written before run.json named the monitor, and says nothing without a figure', () => {
    assert.strictEqual(bestFigureText({ bestValAccuracy: 0.5 }), 'best val acc 50.00%');
    assert.strictEqual(bestFigureText({}), '');
    assert.strictEqual(bestFigure({ bestMonitor: 'val_mean_iou' }), undefined);
    assert.strictEqual(bestFigure({ bestMonitor: 'val_mean_iou', bestValue: NaN }), undefined);
  });
});
