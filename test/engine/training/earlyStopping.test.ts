import * as assert from 'assert';
import {
  BestEpoch,
  bestMonitor,
  bestRecord,
  EarlyStopping,
  improved,
  monitored,
} from '../../../src/engine/training/earlyStopping';

const epoch = (loss: number, accuracy: number, valLoss?: number, valAccuracy?: number) => ({
  loss,
  accuracy,
  valLoss,
  valAccuracy,
});

describe('engine: best epoch and early stopping', () => {
  it('improved(): lower is better for losses, higher for accuracies, by more than minDelta; NaN never', () => {
    assert.ok(improved('val_loss', 0.5, null));
    assert.ok(improved('loss', 0.4, 0.5));
    assert.ok(!improved('loss', 0.5, 0.5));
    assert.ok(!improved('loss', 0.45, 0.5, 0.1));
    assert.ok(improved('loss', 0.35, 0.5, 0.1));
    assert.ok(improved('accuracy', 0.6, 0.5));
    assert.ok(!improved('val_accuracy', 0.55, 0.5, 0.1));
    assert.ok(!improved('accuracy', NaN, null));
    assert.ok(!improved('loss', Infinity, null));
  });

  it('monitored() picks the figure a monitor watches (undefined without validation)', () => {
    const f = epoch(1, 0.2, 3, 0.4);
    assert.deepStrictEqual(
      (['loss', 'accuracy', 'val_loss', 'val_accuracy'] as const).map((m) => monitored(m, f)),
      [1, 0.2, 3, 0.4],
    );
    assert.strictEqual(monitored('val_loss', epoch(1, 0.2)), undefined);
    const task = { ...f, valMeanAuroc: 0.9, valMeanIou: 0.7 };
    assert.deepStrictEqual([monitored('val_mean_auroc', task), monitored('val_mean_iou', task)], [0.9, 0.7]);
    assert.ok(improved('val_mean_iou', 0.71, 0.7) && !improved('val_mean_auroc', 0.89, 0.9), 'higher is better');
  });

  it('BestEpoch watches validation accuracy, or training accuracy without validation; continues a resumed best', () => {
    const val = new BestEpoch(bestMonitor(true, 'classification'));
    assert.strictEqual(val.monitor, 'val_accuracy');
    assert.ok(val.update(1, epoch(1, 0.9, 1, 0.5)));
    assert.ok(!val.update(2, epoch(1, 0.99, 1, 0.5)), 'training accuracy does not count');
    assert.ok(val.update(3, epoch(1, 0.1, 1, 0.6)));
    assert.deepStrictEqual([val.value, val.epoch], [0.6, 3]);

    // A resumed run's best (a checkpoint written before runs named the monitor: chosen by accuracy here).
    const train = new BestEpoch(bestMonitor(false, 'classification'), { value: 0.7, epoch: 4 });
    assert.strictEqual(train.monitor, 'accuracy');
    assert.ok(!train.update(5, epoch(1, 0.7)));
    assert.ok(train.update(6, epoch(1, 0.75)));
    assert.deepStrictEqual([train.value, train.epoch], [0.75, 6]);
    assert.ok(!new BestEpoch('val_accuracy').update(1, epoch(1, 0.9)), 'no validation figure: not a best');
  });

  it('a multi-label run keeps the epoch of its best val mean AUROC, a segmentation run that of its best mean IoU', () => {
    assert.strictEqual(bestMonitor(true, 'multilabel'), 'val_mean_auroc');
    assert.strictEqual(bestMonitor(true, 'segmentation'), 'val_mean_iou');
    assert.strictEqual(bestMonitor(false, 'segmentation'), 'accuracy', 'no validation: training accuracy');
    // Epoch 2 decides more labels right at 0.5 but ranks them worse: epoch 1 stays the best.
    const ml = new BestEpoch(bestMonitor(true, 'multilabel'));
    assert.ok(ml.update(1, { ...epoch(1, 0.8, 1, 0.815), valMeanAuroc: 0.79 }));
    assert.ok(!ml.update(2, { ...epoch(1, 0.8, 1, 0.818), valMeanAuroc: 0.78 }));
    assert.ok(ml.update(3, { ...epoch(1, 0.8, 1, 0.81), valMeanAuroc: 0.85 }));
    assert.deepStrictEqual(bestRecord(ml, true), {
      bestMonitor: 'val_mean_auroc',
      bestValue: 0.85,
      bestEpoch: 3,
    });
    const seg = new BestEpoch(bestMonitor(true, 'segmentation'));
    assert.ok(seg.update(1, { ...epoch(1, 0.9, 1, 0.95), valMeanIou: 0.1 }));
    assert.ok(!seg.update(2, { ...epoch(1, 0.9, 1, 0.96), valMeanIou: 0.09 }), 'pixel accuracy does not count');
    assert.ok(!seg.update(3, epoch(1, 0.9, 1, 0.97)), 'no mean IoU (no labelled class): not a best');
    assert.deepStrictEqual(bestRecord(seg, true), { bestMonitor: 'val_mean_iou', bestValue: 0.1, bestEpoch: 1 });
    // run.json's bestValAccuracy stays what it says: a classification run's.
    const cls = new BestEpoch(bestMonitor(true, 'classification'));
    cls.update(1, epoch(1, 0.5, 1, 0.6));
    assert.deepStrictEqual(bestRecord(cls, true), {
      bestMonitor: 'val_accuracy',
      bestValue: 0.6,
      bestValAccuracy: 0.6,
      bestEpoch: 1,
    });
    assert.deepStrictEqual(bestRecord(cls, false), { bestEpoch: 1 }, 'no validation: only the epoch');
  });

  it('a resumed run keeps its best only when the checkpoint chose it by the same figure', () => {
    const same = new BestEpoch('val_mean_iou', { value: 0.4, epoch: 3, monitor: 'val_mean_iou' });
    assert.deepStrictEqual([same.value, same.epoch], [0.4, 3]);
    assert.ok(!same.update(4, { ...epoch(1, 0.9, 1, 0.99), valMeanIou: 0.39 }));
    // A segmentation checkpoint written when runs chose by pixel accuracy: its 0.97 is no IoU; the next epoch is best.
    const older = new BestEpoch('val_mean_iou', { value: 0.97, epoch: 3 });
    assert.deepStrictEqual([older.value, older.epoch], [null, null]);
    assert.ok(older.update(4, { ...epoch(1, 0.9, 1, 0.95), valMeanIou: 0.3 }));
  });

  it('EarlyStopping stops after `patience` epochs without an improvement above minDelta', () => {
    const es = new EarlyStopping({ monitor: 'val_loss', patience: 2, minDelta: 0.1 });
    assert.ok(!es.update(epoch(0, 0, 1.0)), 'the first value is the best');
    assert.ok(!es.update(epoch(0, 0, 0.95)), 'wait 1: 0.05 is below minDelta');
    assert.ok(!es.update(epoch(0, 0, 0.8)), 'improved: wait starts again');
    assert.ok(!es.update(epoch(0, 0, 0.8)));
    assert.ok(es.update(epoch(0, 0, 0.79)), 'two epochs without improvement');
    assert.match(es.reason, /val_loss has not improved for 2 epoch/);

    const missing = new EarlyStopping({ monitor: 'val_accuracy', patience: 1, minDelta: 0 });
    assert.ok(missing.update(epoch(1, 1)), 'a figure that is missing never improves');
  });
});
