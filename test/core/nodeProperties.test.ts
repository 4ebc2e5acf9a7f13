import * as assert from 'assert';
import { validateSpec } from '../../src/core';
import type { Analysis } from '../../src/core/analyze';
import { diagramModel } from '../../src/core/diagram';
import { layersOfNode, nodeProperties, nodeTooltip, searchNodes, weightsOf } from '../../src/core/nodeProperties';

const analysisOf = (model: object, extra: object = {}): Analysis => {
  const r = validateSpec(JSON.stringify({ version: 1, model, ...extra }));
  assert.ok(r.analysis && !r.analysis.problem, JSON.stringify(r.diagnostics));
  return r.analysis;
};
const product = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('core/nodeProperties', () => {
  const a121 = analysisOf({ preset: 'densenet121' });

  it('conv4_block12 of DenseNet-121: 608 channels in, Keras weight shapes, 117,632 parameters', () => {
    const p = nodeProperties(a121, 'conv4_block12');
    assert.ok(p);
    // Block 3 starts at 256 channels; layer 12 sees 256 + 11·32 = 608.
    assert.deepStrictEqual(
      p.layers.map((l) => [l.name, l.type, l.weights.map((w) => `${w.name} ${w.shape.join('x')}`)]),
      [
        [
          'conv4_block12_0_bn',
          'BatchNormalization',
          ['gamma 608', 'beta 608', 'moving_mean 608', 'moving_variance 608'],
        ],
        ['conv4_block12_0_relu', 'Activation', []],
        ['conv4_block12_1_conv', 'Conv2D', ['kernel 1x1x608x128']],
        [
          'conv4_block12_1_bn',
          'BatchNormalization',
          ['gamma 128', 'beta 128', 'moving_mean 128', 'moving_variance 128'],
        ],
        ['conv4_block12_1_relu', 'Activation', []],
        ['conv4_block12_2_conv', 'Conv2D', ['kernel 3x3x128x32']],
        ['conv4_block12_concat', 'Concatenate', []],
      ],
    );
    assert.strictEqual(p.params, 4 * 608 + 608 * 128 + 4 * 128 + 9 * 128 * 32);
    assert.strictEqual(p.params, 117_632);
    assert.strictEqual(p.nonTrainableParams, 2 * 608 + 2 * 128);
    assert.strictEqual(p.trainableParams + p.nonTrainableParams, p.params);
    assert.deepStrictEqual(p.layers[6].outputShape, [14, 14, 640]);
    // 1x1 conv: 14·14·608·128 MACs, 3x3 conv: 14·14·9·128·32 (plus BN/ReLU per element).
    assert.ok(p.macs > 14 * 14 * (608 * 128 + 9 * 128 * 32));
    assert.strictEqual(
      p.activationBytes,
      p.layers.reduce((s, l) => s + 4 * product(l.outputShape), 0),
    );
  });

  it('every layer of DenseNet-121: the weight shapes add up to its parameters; nodes add up to the totals', () => {
    const shapes = new Map(a121.layers.map((l) => [l.name, l.outputShape]));
    for (const l of a121.layers) {
      const w = weightsOf(l, shapes.get(l.inputs[0]));
      assert.strictEqual(
        w.reduce((s, x) => s + product(x.shape), 0),
        l.params,
        l.name,
      );
    }
    const model = diagramModel(a121);
    const nodes = model.groups.flatMap((g) => (g.kind === 'block' ? g.layers.map((l) => l.name) : [g.name]));
    const sum = nodes.reduce((s, id) => s + (nodeProperties(a121, id)?.params ?? NaN), 0);
    assert.strictEqual(sum, 8_062_504);
    assert.strictEqual(a121.totals.params, 8_062_504);
  });

  it('head: Dense kernel [in, classes] and bias; a collapsed block is all its layers', () => {
    const head = nodeProperties(a121, 'head');
    const dense = head?.layers.find((l) => l.type === 'Dense');
    assert.deepStrictEqual(
      dense?.weights.map((w) => w.shape),
      [[1024, 1000], [1000]],
    );
    const conv2 = a121.groups.find((g) => g.name === 'conv2');
    assert.ok(conv2);
    assert.strictEqual(layersOfNode(a121, 'conv2').length, conv2.lastLayer - conv2.firstLayer + 1);
    assert.strictEqual(nodeProperties(a121, 'conv2')?.params, conv2.params);
    assert.strictEqual(nodeProperties(a121, 'conv9_block1'), undefined);
    assert.strictEqual(nodeProperties(a121, 'conv2_block7'), undefined);
  });

  it('search by Keras name: substrings, full layer names, labels; in diagram order', () => {
    const m = diagramModel(a121);
    assert.deepStrictEqual(searchNodes(m, 'conv4_block12'), [{ id: 'conv4_block12', group: 'conv4' }]);
    assert.deepStrictEqual(searchNodes(m, 'CONV4_BLOCK12_1_conv'), [{ id: 'conv4_block12', group: 'conv4' }]);
    assert.deepStrictEqual(searchNodes(m, 'pool3'), [{ id: 'pool3', group: 'pool3' }]);
    assert.deepStrictEqual(searchNodes(m, 'pool3_conv'), [{ id: 'pool3', group: 'pool3' }]);
    assert.deepStrictEqual(searchNodes(m, 'predictions'), [{ id: 'head', group: 'head' }]);
    assert.deepStrictEqual(
      searchNodes(m, 'block16').map((x) => x.id),
      ['conv4_block16', 'conv5_block16'],
    );
    // block1 in each of the 4 blocks, block10..block19 where the block has them (12: 3, 24: 10, 16: 7).
    assert.strictEqual(searchNodes(m, 'block1').length, 4 + 3 + 10 + 7);
    assert.deepStrictEqual(searchNodes(m, '  '), []);
    assert.deepStrictEqual(searchNodes(m, 'nothing'), []);
  });

  it('tooltip: plural channels, shape and parameters', () => {
    const base = { label: 'x', detail: 'd', params: 1 };
    assert.match(nodeTooltip({ ...base, outputShape: [28, 28, 1] }), /output 28x28x1 \(1 channel\)\n/);
    assert.doesNotMatch(nodeTooltip({ ...base, outputShape: [28, 28, 1] }), /1 channels/);
    assert.strictEqual(
      nodeTooltip({ label: 'conv4_block12', detail: 'BN', outputShape: [14, 14, 640], params: 117632 }),
      'conv4_block12: BN\noutput 14x14x640 (640 channels)\n117,632 parameters (0.12M)',
    );
  });
});
