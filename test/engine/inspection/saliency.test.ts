import * as assert from 'assert';
import type { LayersModel } from '@tensorflow/tfjs';
import { predictTopK } from '../../../src/engine/inspection/predict';
import { saliency } from '../../../src/engine/inspection/saliency';
import { type Example, insideObject, PRE, SIZE, SQUARE, useTrainedModel } from '../../support/inspectionModel';

describe('engine/inspection: saliency', function () {
  this.timeout(60_000);
  const trained = useTrainedModel();
  let model: LayersModel;
  let examples: Example[];
  before(() => ({ model, examples } = trained()));

  /** Mean saliency on the object over the mean elsewhere. */
  const contrast = (e: Example, map: Float32Array) => {
    let inside = 0;
    let outside = 0;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        if (insideObject(e, y, x)) inside += map[y * SIZE + x];
        else outside += map[y * SIZE + x];
      }
    }
    return inside / (SQUARE * SQUARE) / (outside / (SIZE * SIZE - SQUARE * SQUARE));
  };

  it('is higher on the object than around it, scaled to [0, 1]', () => {
    let hits = 0;
    for (const e of examples.slice(0, 8)) {
      const s = saliency(model, e.x, PRE, { classIndex: e.label });
      assert.deepStrictEqual(
        [s.height, s.width, s.saliency.length, s.score, s.classIndex],
        [SIZE, SIZE, SIZE * SIZE, 'logit', e.label],
      );
      assert.ok(Math.abs(Math.max(...s.saliency) - 1) < 1e-6 && Math.min(...s.saliency) >= 0);
      if (contrast(e, s.saliency) > 1.5) hits++;
    }
    assert.ok(hits >= 7, `object mean above 1.5x the background mean for ${hits}/8`);
    const predicted = saliency(model, examples[0].x, PRE);
    assert.strictEqual(predicted.classIndex, predictTopK(model, examples[0].x, PRE, 1)[0].index);
  });

  it('SmoothGrad: without noise it is the vanilla map; with noise it is seeded and still on the object', () => {
    const e = examples[0];
    const vanilla = saliency(model, e.x, PRE, { classIndex: e.label });
    const noiseless = saliency(model, e.x, PRE, { classIndex: e.label, samples: 3, noise: 0 });
    for (let i = 0; i < vanilla.saliency.length; i++)
      assert.ok(Math.abs(noiseless.saliency[i] - vanilla.saliency[i]) < 1e-5);
    // |gradient| before scaling: the same range for both, non-negative.
    assert.ok(vanilla.range[0] >= 0 && vanilla.range[1] > vanilla.range[0], String(vanilla.range));
    assert.ok(Math.abs(noiseless.range[1] - vanilla.range[1]) < 1e-5 * vanilla.range[1]);
    let hits = 0;
    for (const ex of examples.slice(0, 4)) {
      const smooth = saliency(model, ex.x, PRE, { classIndex: ex.label, samples: 4, noise: 0.05, seed: 3 });
      if (contrast(ex, smooth.saliency) > 1) hits++;
      if (ex === e) {
        assert.deepStrictEqual(
          saliency(model, ex.x, PRE, { classIndex: ex.label, samples: 4, noise: 0.05, seed: 3 }),
          smooth,
          'same seed, same map',
        );
        assert.notDeepStrictEqual(smooth.saliency, vanilla.saliency);
      }
    }
    assert.ok(hits >= 3, `SmoothGrad object mean above the background mean for ${hits}/4`);
  });
});
