import * as assert from 'assert';
import type { LayersModel, Tensor, Tensor4D } from '@tensorflow/tfjs';
import type { Analysis } from '../../../src/core';
import { featureLayers, layerActivations } from '../../../src/engine/inspection/activations';
import { releaseInspection } from '../../../src/engine/inspection/layerGraph';
import { tf } from '../../../src/engine/tf';
import { type Example, SIZE, useTrainedModel } from '../../support/inspectionModel';

describe('engine/inspection: featureLayers and layerActivations', function () {
  this.timeout(60_000);
  const trained = useTrainedModel();
  let analysis: Analysis;
  let model: LayersModel;
  let examples: Example[];
  before(() => ({ analysis, model, examples } = trained()));

  describe('featureLayers', () => {
    it('lists the 4D layers with the analysis shapes and their block from the Keras name', () => {
      const layers = featureLayers(model);
      const expected = analysis.layers.filter((l) => l.outputShape.length === 3 && l.type !== 'InputLayer');
      assert.deepStrictEqual(
        layers.map((l) => l.name),
        expected.map((l) => l.name),
      );
      for (const [i, l] of layers.entries()) {
        assert.deepStrictEqual(l.outputShape, expected[i].outputShape, l.name);
        assert.strictEqual(l.type, expected[i].type, l.name);
        const group = analysis.groups[expected[i].group];
        assert.strictEqual(l.block, group.name, `${l.name} block`);
        assert.strictEqual(l.group, group.kind, `${l.name} group`);
        assert.strictEqual(l.blockLayer, expected[i].blockLayer, `${l.name} blockLayer`);
      }
      const byName = new Map(layers.map((l) => [l.name, l]));
      assert.deepStrictEqual(byName.get('conv3_block2_concat'), {
        name: 'conv3_block2_concat',
        type: 'Concatenate',
        outputShape: [8, 8, 16],
        block: 'conv3',
        group: 'block',
        blockLayer: 2,
      });
      assert.ok(!byName.has('avg_pool') && !byName.has('predictions') && !byName.has('input_1'));
    });
  });

  describe('layerActivations', () => {
    it('have the analysis shapes and equal the layers computed directly', () => {
      const e = examples[1];
      const names = ['conv1_conv', 'conv1_relu', 'conv2_block1_concat', 'relu', 'avg_pool', 'predictions'];
      const acts = layerActivations(model, e.x, names);
      const byName = new Map(acts.map((a) => [a.name, a]));
      for (const name of names) {
        const info = analysis.layers.find((l) => l.name === name);
        assert.deepStrictEqual(byName.get(name)?.shape, info?.outputShape, name);
        assert.strictEqual(
          byName.get(name)?.data.length,
          info?.outputShape.reduce((a, b) => a * b, 1),
        );
      }
      const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = 1e-4) => {
        assert.strictEqual(a.length, b.length, what);
        for (let i = 0; i < a.length; i++)
          assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
      };
      const x = tf.tensor4d(e.x, [1, SIZE, SIZE, 1]);
      try {
        // The stem convolution by hand (no bias), and the prediction of the whole model.
        const kernel = model.getLayer('conv1_conv').getWeights()[0] as Tensor4D;
        close(
          byName.get('conv1_conv')!.data,
          tf.tidy(() => tf.conv2d(x, kernel, 1, 'same').dataSync()),
          'conv1_conv',
        );
        close(
          byName.get('predictions')!.data,
          tf.tidy(() => (model.predict(x) as Tensor).dataSync()),
          'predictions',
        );
        // A dense layer's concatenation starts with its input; global pooling is the mean of the feature maps.
        const concat = byName.get('conv2_block1_concat')!;
        const relu1 = byName.get('conv1_relu')!;
        const c0 = relu1.shape[2];
        const c1 = concat.shape[2];
        close(
          Array.from({ length: SIZE * SIZE * c0 }, (_, i) => concat.data[Math.floor(i / c0) * c1 + (i % c0)]),
          relu1.data,
          'concat prefix',
        );
        const relu = byName.get('relu')!;
        close(byName.get('avg_pool')!.data, relu.stats.channelMean, 'avg_pool = mean of relu');
        // And a sub-model built directly, fresh.
        const direct = tf.model({
          inputs: model.inputs,
          outputs: model.getLayer('conv2_block1_concat').output as never,
        });
        close(
          concat.data,
          tf.tidy(() => (direct.predict(x) as Tensor).dataSync()),
          'sub-model',
        );
      } finally {
        x.dispose();
      }
      const s = byName.get('relu')!.stats;
      assert.strictEqual(s.channelMin.length, 16);
      assert.ok(s.min >= 0 && s.min <= s.mean && s.mean <= s.max);
      assert.strictEqual(s.max, Math.max(...s.channelMax));
    });

    it('caches the sub-model per layer list; releasing it leaves the model intact', () => {
      const e = examples[2];
      const first = layerActivations(model, e.x, ['pool2_conv', 'bn']);
      const again = layerActivations(model, e.x, ['pool2_conv', 'bn']);
      assert.deepStrictEqual(again, first);
      releaseInspection(model);
      const before = tf.memory().numTensors;
      const after = layerActivations(model, e.x, ['pool2_conv', 'bn']);
      assert.deepStrictEqual(after, first);
      assert.strictEqual(tf.memory().numTensors, before);
      assert.deepStrictEqual(layerActivations(model, e.x, []), []);
      assert.throws(() => layerActivations(model, new Float32Array(3), ['bn']), /the model takes 16x16x1/);
    });
  });
});
