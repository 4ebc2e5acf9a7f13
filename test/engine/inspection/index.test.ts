import * as assert from 'assert';
import type { LayersModel } from '@tensorflow/tfjs';
import {
  activationMaximisation,
  featureLayers,
  gradCam,
  layerActivations,
  predictTopK,
  saliency,
} from '../../../src/engine/inspection';
import { tf } from '../../../src/engine/tf';
import { type Example, PRE, useTrainedModel } from '../../support/inspectionModel';

describe('engine/inspection: the API (index.ts) as a whole', function () {
  this.timeout(60_000);
  const trained = useTrainedModel();
  let model: LayersModel;
  let examples: Example[];
  before(() => ({ model, examples } = trained()));

  it('leaves no tensor behind', async () => {
    const e = examples[6];
    const before = tf.memory().numTensors;
    predictTopK(model, e.x, PRE);
    layerActivations(model, e.x, ['conv1_conv', 'conv3_block2_concat', 'avg_pool']);
    featureLayers(model);
    gradCam(model, e.x, PRE);
    gradCam(model, e.x, PRE, { layerName: 'conv3_block1_concat', classIndex: 1 });
    saliency(model, e.x, PRE);
    saliency(model, e.x, PRE, { samples: 3 });
    await activationMaximisation(model, PRE, { layerName: 'pool2_conv', channel: 1 }, { steps: 3, blurEvery: 1 });
    await activationMaximisation(model, PRE, { classIndex: 1 }, { steps: 3, shouldCancel: () => false });
    await activationMaximisation(model, { ...PRE, normalization: null }, { classIndex: 1 }, { steps: 2 });
    await assert.rejects(activationMaximisation(model, PRE, { classIndex: 9 }));
    assert.throws(() => gradCam(model, e.x, PRE, { layerName: 'avg_pool' }));
    assert.strictEqual(tf.memory().numTensors, before);
  });
});
