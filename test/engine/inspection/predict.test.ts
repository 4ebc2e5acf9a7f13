import * as assert from 'assert';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { predictTopK } from '../../../src/engine/inspection/predict';
import { tf } from '../../../src/engine/tf';
import { CLASS_NAMES, type Example, PRE, SIZE, useTrainedModel } from '../../support/inspectionModel';

describe('engine/inspection: predictTopK', function () {
  this.timeout(60_000);
  const trained = useTrainedModel();
  let model: LayersModel;
  let examples: Example[];
  before(() => ({ model, examples } = trained()));

  it('the trained tiny model solves the synthetic task (precondition of the localisation tests)', () => {
    const correct = examples.filter((e) => predictTopK(model, e.x, PRE, 1)[0].index === e.label).length;
    assert.ok(correct >= 0.9 * examples.length, `accuracy ${correct}/${examples.length}`);
  });

  it('returns the k most probable classes, sorted, with names; probabilities sum to at most 1', () => {
    const e = examples[0];
    const all = predictTopK(model, e.x, PRE, 5);
    assert.strictEqual(all.length, 3, 'k is capped at the number of classes');
    assert.deepStrictEqual(all.map((p) => p.index).sort(), [0, 1, 2]);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].probability >= all[i].probability);
    const sum = all.reduce((s, p) => s + p.probability, 0);
    assert.ok(sum <= 1 + 1e-6 && sum > 0.999, `sum ${sum}`);
    for (const p of all) assert.strictEqual(p.className, CLASS_NAMES[p.index]);
    const probs = tf.tidy(() => (model.predict(tf.tensor4d(e.x, [1, SIZE, SIZE, 1])) as Tensor).dataSync());
    assert.ok(Math.abs(all[0].probability - Math.max(...probs)) < 1e-6);
    const top2 = predictTopK(model, e.x, PRE, 2);
    assert.deepStrictEqual(top2, all.slice(0, 2));
  });
});
