import * as assert from 'assert';
import { analyze, findPreset, PRESETS, type Preset } from '../../src/core';
import { buildModel, countParams } from '../../src/engine/model';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../src/engine/tf';

describe('engine: model building', function () {
  this.timeout(120_000);
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('every preset builds with the analysis parameter counts and Keras layer names (small inputs)', () => {
    for (const p of PRESETS) {
      const input = { height: 32, width: 32, channels: 3 };
      const a = analyze(p.model, input, 10);
      const model = buildModel(a);
      try {
        const counts = countParams(model);
        assert.strictEqual(counts.trainable, a.totals.trainableParams, `${p.name} trainable`);
        assert.strictEqual(counts.nonTrainable, a.totals.nonTrainableParams, `${p.name} non-trainable`);
        assert.strictEqual(model.countParams(), a.totals.params, p.name);
        assert.deepStrictEqual(
          model.layers.map((l) => l.name),
          a.layers.map((l) => l.name),
          p.name,
        );
        for (const l of a.layers) {
          assert.deepStrictEqual(model.getLayer(l.name).outputShape, [null, ...l.outputShape], `${p.name} ${l.name}`);
        }
      } finally {
        model.dispose();
      }
    }
  });

  it("DenseNet-121 at 224x224x3 has exactly Keras's 8,062,504 parameters, batch-norm epsilon 1.001e-5", () => {
    const p = findPreset('densenet121') as Preset;
    const model = buildModel(analyze(p.model, p.input, p.classes));
    try {
      assert.strictEqual(model.countParams(), 8_062_504);
      const bn = model.getLayer('conv2_block1_0_bn').getConfig();
      assert.strictEqual(bn.epsilon, 1.001e-5);
      assert.strictEqual(model.getLayer('conv1_conv').getConfig().useBias, false);
      assert.strictEqual(model.getLayer('predictions').getConfig().activation, 'softmax');
    } finally {
      model.dispose();
    }
  });

  it('is deterministic for a seed and predicts a probability distribution', () => {
    const p = findPreset('densenet-40-k12') as Preset;
    const a = analyze({ ...p.model, blockConfig: [2, 2, 2], dropRate: 0.2 }, { height: 16, width: 16, channels: 1 }, 4);
    const m1 = buildModel(a, { seed: 7 });
    const m2 = buildModel(a, { seed: 7 });
    try {
      const w1 = m1.getLayer('conv2_block1_2_conv').getWeights()[0].dataSync();
      const w2 = m2.getLayer('conv2_block1_2_conv').getWeights()[0].dataSync();
      assert.deepStrictEqual(Array.from(w1), Array.from(w2));
      const y = tf.tidy(() => m1.predict(tf.ones([3, 16, 16, 1])) as Tensor);
      const sums = y.sum(1).dataSync();
      for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5);
      y.dispose();
    } finally {
      m1.dispose();
      m2.dispose();
    }
  });
});
