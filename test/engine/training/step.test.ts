/**
 * The step module on the CPU backend with a tiny DenseNet (8x8x1, 3 classes): optimizers and their disposal,
 * a learning step, evaluation and its tally.
 */
import * as assert from 'assert';
import type { Variable } from '@tensorflow/tfjs';
import { type Analysis, trainingConfig } from '../../../src/core';
import type { Batch } from '../../../src/engine/data/open';
import { buildModel } from '../../../src/engine/model';
import { tf } from '../../../src/engine/tf';
import {
  computeGradients,
  disposeOptimizer,
  evaluate,
  evaluateBatch,
  EvaluationTally,
  makeForward,
  makeOptimizer,
  setLearningRate,
  trainStep,
} from '../../../src/engine/training/step';
import { barsAnalysis } from '../../support/barsDataset';
import { values } from '../../support/backends';

const CLASSES = 3;

/** `size` 8x8 images whose class is the row band that is bright (learnable), plus noise. */
function makeBatch(size: number, seed: number): Batch {
  const x = values(size * 64, seed, 0).map((v) => v * 0.1);
  const y = Int32Array.from({ length: size }, (_, i) => (i + seed) % CLASSES);
  for (let i = 0; i < size; i++) for (let p = y[i] * 16; p < y[i] * 16 + 16; p++) x[i * 64 + p] += 1;
  return { x, y, size };
}

describe('engine: the training step', function () {
  this.timeout(60_000);
  let previous: string;
  let analysis: Analysis;
  before(async () => {
    previous = tf.getBackend();
    await tf.setBackend('cpu');
    analysis = barsAnalysis({ blockConfig: [2] });
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it('makes the optimizer of the config, whose learning rate the schedule sets, and disposes it whole', () => {
    assert.strictEqual(makeOptimizer(trainingConfig({ optimizer: 'sgd', momentum: 0 })).getClassName(), 'SGD');
    const cases = [
      [{ optimizer: 'sgd' }, 'Momentum'],
      [{ optimizer: 'adam' }, 'Adam'],
      [{ optimizer: 'adamw' }, 'Adam'],
    ] as const;
    for (const [training, name] of cases) {
      const before = tf.memory().numTensors;
      const o = makeOptimizer(trainingConfig(training));
      assert.strictEqual(o.getClassName(), name);
      setLearningRate(o, 0.0123);
      assert.strictEqual((o as unknown as { learningRate: number }).learningRate, 0.0123);
      disposeOptimizer(o);
      assert.strictEqual(tf.memory().numTensors, before, `${name}: no tensor left`);
    }
  });

  it('trainStep learns a batch and leaves the tensor count flat; computeGradients leaves the weights alone', () => {
    const c = trainingConfig({ optimizer: 'sgd', learningRate: 0.3 });
    const model = buildModel(analysis, { seed: 1 });
    const optimizer = makeOptimizer(c);
    const forward = makeForward(model, analysis, c);
    const batch = makeBatch(6, 1);
    try {
      const weights = model.trainableWeights[0].read().dataSync().slice();
      const g = computeGradients(model, forward, batch, CLASSES);
      assert.deepStrictEqual(
        Object.keys(g.grads).sort(),
        model.trainableWeights.map((w) => (w.read() as Variable).name).sort(),
      );
      assert.deepStrictEqual(model.trainableWeights[0].read().dataSync(), weights, 'weights untouched');
      tf.dispose([g.loss, g.correct, ...Object.values(g.grads)]);

      const losses: number[] = [];
      const counts: number[] = [];
      for (let i = 0; i < 10; i++) {
        const s = trainStep(model, optimizer, batch, CLASSES, c, c.learningRate, forward);
        assert.ok(s.correct >= 0 && s.correct <= batch.size && Number.isInteger(s.correct));
        losses.push(s.loss);
        counts.push(tf.memory().numTensors);
      }
      assert.ok(losses[9] < losses[0] * 0.7, `loss ${losses[0]} -> ${losses[9]}`);
      assert.ok(new Set(counts.slice(1)).size === 1, `tensors: ${counts.join(', ')}`);
    } finally {
      disposeOptimizer(optimizer);
      model.dispose();
    }
  });

  it('evaluate() tallies evaluateBatch over batches, and stops after the batch it was cancelled in', async () => {
    const model = buildModel(analysis, { seed: 2 });
    const batches = [makeBatch(5, 1), makeBatch(4, 2)];
    async function* iterate() {
      yield* batches;
    }
    try {
      const before = tf.memory().numTensors;
      const all = await evaluate(model, iterate(), CLASSES);
      assert.strictEqual(tf.memory().numTensors, before, 'no tensor left');
      const tally = new EvaluationTally(CLASSES);
      for (const b of batches) {
        const r = evaluateBatch(model, b, CLASSES);
        assert.strictEqual(r.predicted.length, b.size);
        tally.add(b.y, b.size, r);
      }
      assert.deepStrictEqual(all, tally.result());
      assert.strictEqual(all.examples, 9);
      assert.strictEqual(
        all.confusion.flat().reduce((a, b) => a + b, 0),
        9,
      );

      const control = { cancelled: true };
      assert.strictEqual((await evaluate(model, iterate(), CLASSES, control)).examples, 5);
    } finally {
      model.dispose();
    }
  });

  it('EvaluationTally: confusion rows are true classes, loss weighted by examples, NaN when empty', () => {
    const t = new EvaluationTally(2);
    const empty = t.result();
    assert.ok(Number.isNaN(empty.loss) && Number.isNaN(empty.accuracy));
    t.add(Int32Array.from([0, 1, 1]), 3, { predicted: Int32Array.from([0, 0, 1]), loss: 1, weight: 3 });
    t.add(Int32Array.from([1]), 1, { predicted: Int32Array.from([1]), loss: 3, weight: 1 });
    const r = t.result();
    assert.deepStrictEqual(r.confusion, [
      [1, 0],
      [1, 2],
    ]);
    assert.strictEqual(r.accuracy, 0.75);
    assert.strictEqual(r.loss, 1.5);
    assert.strictEqual(r.examples, 4);
  });
});
