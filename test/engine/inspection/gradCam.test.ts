import * as assert from 'assert';
import type { LayersModel } from '@tensorflow/tfjs';
import { bilinearResize } from '../../../src/core/heatmap';
import { layerActivations } from '../../../src/engine/inspection/activations';
import { gradCam } from '../../../src/engine/inspection/gradCam';
import { predictTopK } from '../../../src/engine/inspection/predict';
import { argMax, type Example, PRE, quadrantSums, SIZE, useTrainedModel } from '../../support/inspectionModel';

describe('engine/inspection: gradCam', function () {
  this.timeout(60_000);
  const trained = useTrainedModel();
  let model: LayersModel;
  let examples: Example[];
  before(() => ({ model, examples } = trained()));

  it('on the default layer (relu: 8×8 at 32×32 is ≥ 7×7) is CAM: ReLU(sum_k W[k, c] A_k) from the classifier weights (logit score)', () => {
    const e = examples[3];
    const cam = gradCam(model, e.x, PRE);
    const top = predictTopK(model, e.x, PRE, 1)[0];
    assert.strictEqual(cam.classIndex, top.index);
    assert.strictEqual(cam.className, top.className);
    assert.ok(Math.abs(cam.probability - top.probability) < 1e-5);
    assert.strictEqual(cam.score, 'logit');
    assert.deepStrictEqual([cam.height, cam.width, cam.heatmap.length], [8, 8, 64]);
    const [relu] = layerActivations(model, e.x, ['relu']);
    const w = model.getLayer('predictions').getWeights()[0].dataSync();
    const classes = 3;
    const raw = Array.from({ length: 64 }, (_, p) =>
      Math.max(
        0,
        Array.from({ length: 16 }, (_, k) => relu.data[p * 16 + k] * w[k * classes + cam.classIndex]).reduce(
          (a, b) => a + b,
          0,
        ),
      ),
    );
    const max = Math.max(...raw);
    for (let p = 0; p < 64; p++)
      assert.ok(Math.abs(cam.heatmap[p] - raw[p] / max) < 1e-4, `${p}: ${cam.heatmap[p]} vs ${raw[p] / max}`);
    assert.strictEqual(Math.max(...cam.heatmap), 1);
    // The relevance before scaling: Grad-CAM's weights are the gradients averaged over the 8×8 positions, so after
    // global average pooling it is CAM / 64.
    assert.ok(Math.abs(cam.range[1] - max / 64) < 1e-4 * Math.max(1, max), `${cam.range[1]} vs ${max / 64}`);
    assert.ok(Math.abs(cam.range[0] - Math.min(...raw) / 64) < 1e-4 * Math.max(1, max));
  });

  it('on bn differentiates through the head ReLU (weights only where the ReLU passes)', () => {
    const e = examples[4];
    const c = 1;
    const cam = gradCam(model, e.x, PRE, { layerName: 'bn', classIndex: c });
    assert.strictEqual(cam.classIndex, c);
    const [bn] = layerActivations(model, e.x, ['bn']);
    const w = model.getLayer('predictions').getWeights()[0].dataSync();
    // d logit / d bn[p, k] = W[k, c] / 64 where bn[p, k] > 0: the channel weight is the mean of that over p.
    const alpha = Array.from({ length: 16 }, (_, k) => {
      let on = 0;
      for (let p = 0; p < 64; p++) if (bn.data[p * 16 + k] > 0) on++;
      return (w[k * 3 + c] / 64) * (on / 64);
    });
    const raw = Array.from({ length: 64 }, (_, p) =>
      Math.max(
        0,
        alpha.reduce((s, a, k) => s + a * bn.data[p * 16 + k], 0),
      ),
    );
    const max = Math.max(...raw);
    for (let p = 0; p < 64; p++) assert.ok(Math.abs(cam.heatmap[p] - (max > 0 ? raw[p] / max : 0)) < 1e-4, `${p}`);
  });

  it('peaks in the quadrant of the object that decides the class', () => {
    let hits = 0;
    let upsampledHits = 0;
    for (const e of examples) {
      const cam = gradCam(model, e.x, PRE, { classIndex: e.label });
      if (argMax(quadrantSums(cam.heatmap, cam.height, cam.width)) === e.quadrant) hits++;
      assert.strictEqual(cam.upsampled.length, SIZE * SIZE);
      assert.deepStrictEqual([cam.inputHeight, cam.inputWidth], [SIZE, SIZE]);
      const peak = argMax(cam.upsampled);
      const [py, px] = [Math.floor(peak / SIZE), peak % SIZE];
      if ((py < 8 ? 0 : 2) + (px < 8 ? 0 : 1) === e.quadrant) upsampledHits++;
      for (const v of [...cam.heatmap, ...cam.upsampled]) assert.ok(v >= 0 && v <= 1 + 1e-6);
      // The page's upsampling (src/core/heatmap.ts) is tf.image.resizeBilinear with half-pixel centres.
      const page = bilinearResize(cam.heatmap, cam.height, cam.width, SIZE, SIZE);
      for (let i = 0; i < page.length; i++) assert.ok(Math.abs(page[i] - cam.upsampled[i]) < 1e-5, `${i}`);
    }
    assert.ok(hits >= 0.8 * examples.length, `heatmap mass in the object's quadrant for ${hits}/${examples.length}`);
    assert.ok(
      upsampledHits >= 0.8 * examples.length,
      `upsampled peak in the object's quadrant for ${upsampledHits}/${examples.length}`,
    );
  });

  it('works on inner layers with skip connections downstream, and rejects bad arguments', () => {
    const e = examples[5];
    const cam = gradCam(model, e.x, PRE, { layerName: 'conv3_block1_concat' });
    assert.deepStrictEqual([cam.height, cam.width], [8, 8]);
    assert.ok(cam.heatmap.every((v) => Number.isFinite(v) && v >= 0 && v <= 1));
    const early = gradCam(model, e.x, PRE, { layerName: 'conv2_block2_concat' });
    assert.deepStrictEqual([early.height, early.width, early.upsampled.length], [16, 16, 256]);
    assert.throws(() => gradCam(model, e.x, PRE, { layerName: 'avg_pool' }), /needs feature maps/);
    assert.throws(() => gradCam(model, e.x, PRE, { layerName: 'nope' }), /no layer nope/);
    assert.throws(() => gradCam(model, e.x, PRE, { classIndex: 3 }), /out of range/);
  });
});
