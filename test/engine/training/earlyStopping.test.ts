import * as assert from 'assert';
import { BestEpoch, EarlyStopping, improved, monitored } from '../../../src/engine/training/earlyStopping';

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
  });

  it('BestEpoch watches validation accuracy, or training accuracy without validation; continues a resumed best', () => {
    const val = new BestEpoch(true);
    assert.strictEqual(val.monitor, 'val_accuracy');
    assert.ok(val.update(1, epoch(1, 0.9, 1, 0.5)));
    assert.ok(!val.update(2, epoch(1, 0.99, 1, 0.5)), 'training accuracy does not count');
    assert.ok(val.update(3, epoch(1, 0.1, 1, 0.6)));
    assert.deepStrictEqual([val.value, val.epoch], [0.6, 3]);

    const train = new BestEpoch(false, 0.7, 4);
    assert.strictEqual(train.monitor, 'accuracy');
    assert.ok(!train.update(5, epoch(1, 0.7)));
    assert.ok(train.update(6, epoch(1, 0.75)));
    assert.deepStrictEqual([train.value, train.epoch], [0.75, 6]);
    assert.ok(!new BestEpoch(true).update(1, epoch(1, 0.9)), 'no validation figure: not a best');
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
