import * as assert from 'assert';
import { EpochProgress, Mean, remainingSteps, StepClock } from '../../../src/engine/training/progress';

describe('engine: training progress', () => {
  it('Mean is weighted, NaN when empty', () => {
    const m = new Mean();
    assert.ok(Number.isNaN(m.value));
    m.add(1, 3);
    m.add(3, 1);
    assert.strictEqual(m.value, 1.5);
  });

  it('EpochProgress counts batches, images and the batch-size-weighted loss and accuracy', () => {
    const p = new EpochProgress(2, 3, 1000);
    p.add({ loss: 1, correct: 4, decisions: 8 }, 8);
    p.add({ loss: 2, correct: 0, decisions: 2 }, 2);
    assert.strictEqual(p.step, 5, 'after the 3 batches the epoch started with');
    assert.strictEqual(p.images, 10);
    assert.strictEqual(p.loss.value, 1.2);
    assert.strictEqual(p.accuracy.value, 0.4);
    assert.strictEqual(p.imagesPerSecond(3000), 5);
  });

  it('StepClock paces steps after the first (which warms up), the first alone until then', () => {
    const clock = new StepClock(0);
    clock.stepDone(5000);
    assert.strictEqual(clock.secondsPerStep(5000), 5);
    clock.stepDone(6000);
    clock.stepDone(7000);
    assert.strictEqual(clock.secondsPerStep(7000), 1);
  });

  it('remainingSteps counts the rest of this epoch and the epochs after it', () => {
    assert.strictEqual(remainingSteps(0, 2, 3, 5), 3 + 2 * 5);
    assert.strictEqual(remainingSteps(2, 5, 3, 5), 0);
  });
});
