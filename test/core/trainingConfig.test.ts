import * as assert from 'assert';
import { learningRateAt, trainingConfig } from '../../src/core';

describe('training config and learning-rate schedules', () => {
  it('defaults follow the paper for SGD and common practice for Adam/AdamW', () => {
    const sgd = trainingConfig({});
    assert.deepStrictEqual(
      [sgd.optimizer, sgd.learningRate, sgd.momentum, sgd.nesterov, sgd.weightDecay, sgd.schedule.type],
      ['sgd', 0.1, 0.9, true, 1e-4, 'step'],
    );
    assert.deepStrictEqual(sgd.schedule.milestones, [0.5, 0.75]);
    const adamw = trainingConfig({ optimizer: 'adamw' });
    assert.deepStrictEqual([adamw.learningRate, adamw.weightDecay, adamw.schedule.type], [0.001, 0.01, 'constant']);
  });
  it('step: x0.1 at 50% and 75% of the epochs', () => {
    const c = trainingConfig({ epochs: 300, learningRate: 0.1 });
    assert.strictEqual(learningRateAt(c, 0), 0.1);
    assert.strictEqual(learningRateAt(c, 149.9), 0.1);
    assert.ok(Math.abs(learningRateAt(c, 150) - 0.01) < 1e-12);
    assert.ok(Math.abs(learningRateAt(c, 225) - 0.001) < 1e-12);
  });
  it('cosine decays to 0; warm-up rises linearly first', () => {
    const c = trainingConfig({ epochs: 10, learningRate: 1, lrSchedule: { type: 'cosine', warmupEpochs: 2 } });
    assert.strictEqual(learningRateAt(c, 1), 0.5);
    assert.strictEqual(learningRateAt(c, 2), 1);
    assert.ok(Math.abs(learningRateAt(c, 6) - 0.5) < 1e-12);
    assert.ok(learningRateAt(c, 10) < 1e-12);
  });
  it('early stopping and seed are read; missing values take their defaults', () => {
    const c = trainingConfig({ earlyStopping: { monitor: 'val_accuracy', patience: 3 }, seed: 42 });
    assert.deepStrictEqual(c.earlyStopping, { monitor: 'val_accuracy', patience: 3, minDelta: 0 });
    assert.deepStrictEqual([c.seed, c.epochs, c.batchSize], [42, 10, 32]);
    assert.strictEqual(trainingConfig({}).earlyStopping, undefined);
    assert.strictEqual(trainingConfig(undefined).optimizer, 'sgd');
  });
  it('refuses what the schema refuses instead of coercing it to a default', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ epochs: -5 }, /training\.epochs/],
      [{ batchSize: 'x' }, /training\.batchSize/],
      [{ batchSize: 0 }, /training\.batchSize/],
      [{ epochs: '3' }, /training\.epochs/],
      [{ optimizer: 'adagrad' }, /training\.optimizer/],
      [{ learningRate: -0.1 }, /training\.learningRate/],
      [{ lrSchedul: { type: 'cosine' } }, /lrSchedul/],
      [{ earlyStopping: { monitor: 'val_acc' } }, /training\.earlyStopping\.monitor/],
    ];
    for (const [training, message] of cases) {
      assert.throws(() => trainingConfig(training), message, JSON.stringify(training));
    }
    assert.throws(() => trainingConfig('fast'), /Invalid training section/);
  });
});
