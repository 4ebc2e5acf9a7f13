import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { analyze, findPreset, type Preset } from '../../src/core';
import { chooseGradCamLayer, gradCamMinSide, stageOutputs } from '../../src/core/gradCamLayer';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** The layers of a preset as analyze() names and shapes them (the Keras names the engine builds). */
function presetLayers(name: string, input?: { height: number; width: number; channels: number }) {
  const p = findPreset(name) as Preset;
  const i = input ?? p.input;
  return { layers: analyze(p.model, i, p.classes).layers, input: i };
}

describe('default Grad-CAM layer by resolution', () => {
  it('target side: 1/16 of the input side, at least 7', () => {
    assert.strictEqual(gradCamMinSide(224, 224), 14);
    assert.strictEqual(gradCamMinSide(28, 28), 7);
    assert.strictEqual(gradCamMinSide(32, 32), 7);
    assert.strictEqual(gradCamMinSide(500, 300), 19);
  });

  it('DenseNet-121 at 224: conv4_block24_concat (14×14), not the 7×7 relu', () => {
    const { layers, input } = presetLayers('densenet121');
    const c = chooseGradCamLayer(layers, input);
    assert.strictEqual(c?.name, 'conv4_block24_concat');
    assert.deepStrictEqual([c?.height, c?.width], [14, 14]);
    assert.match(c?.reason ?? '', /^Grad-CAM at conv4_block24_concat \(14×14\): the deepest block output at ≥ 14×14/);
    // The block outputs the choice considers: one per dense block, then the head's relu.
    assert.deepStrictEqual(
      stageOutputs(layers.filter((l) => l.outputShape.length === 3)).map((l) => l.name),
      ['conv2_block6_concat', 'conv3_block12_concat', 'conv4_block24_concat', 'conv5_block16_concat', 'relu'],
    );
  });

  it('the MNIST example (28×28): conv3_block4_concat (7×7), not the 3×3 relu', () => {
    const text = fs.readFileSync(path.join(ROOT, 'examples', 'mnist', 'mnist.densenet.json'), 'utf8');
    // The example's only comments are whole // lines.
    const v = JSON.parse(text.replace(/^\s*\/\/.*$/gm, '')) as {
      model: Parameters<typeof analyze>[0];
      input: Parameters<typeof analyze>[1];
    };
    const layers = analyze(v.model, v.input, 10).layers;
    assert.deepStrictEqual(layers.find((l) => l.name === 'relu')?.outputShape.slice(0, 2), [3, 3]);
    const c = chooseGradCamLayer(layers, v.input);
    assert.strictEqual(c?.name, 'conv3_block4_concat');
    assert.deepStrictEqual([c?.height, c?.width], [7, 7]);
  });

  it('DenseNet-BC-100 on 32×32: relu (8×8), the last maps are large enough', () => {
    const { layers, input } = presetLayers('densenet-bc-100-k12');
    const c = chooseGradCamLayer(layers, input);
    assert.strictEqual(c?.name, 'relu');
    assert.deepStrictEqual([c?.height, c?.width], [8, 8]);
  });

  it('falls back to the deepest large layer, then to the largest maps; none without maps', () => {
    const L = (name: string, h: number) => ({ name, outputShape: [h, h, 4] });
    const generic = [L('a', 28), L('b', 14), L('c', 7), L('d', 3), { name: 'pool', outputShape: [4] }];
    assert.strictEqual(chooseGradCamLayer(generic, { height: 28, width: 28 })?.name, 'c');
    const tiny = [L('a', 4), L('b', 4), L('c', 2)];
    const c = chooseGradCamLayer(tiny, { height: 8, width: 8 });
    assert.strictEqual(c?.name, 'b');
    assert.match(c?.reason ?? '', /none reaches 7×7/);
    assert.strictEqual(chooseGradCamLayer([{ name: 'p', outputShape: [10] }], { height: 8, width: 8 }), undefined);
  });

  it("FC-DenseNet-103: the bottleneck's maps, never the per-pixel softmax output", () => {
    const p = findPreset('fc-densenet103') as Preset;
    const layers = analyze(p.model, p.input, p.classes, 'segmentation').layers;
    assert.ok(
      layers.some((l) => l.name === 'predictions' && l.outputShape.length === 3),
      'a per-pixel output',
    );
    const c = chooseGradCamLayer(layers, p.input);
    assert.strictEqual(c?.name, 'bottleneck_new');
    assert.match(c?.reason ?? '', /bottleneck/);
    const withoutBottleneck = layers.filter((l) => l.name !== 'bottleneck_new');
    assert.notStrictEqual(chooseGradCamLayer(withoutBottleneck, p.input)?.name, 'predictions');
  });
});
