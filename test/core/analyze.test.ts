import * as assert from 'assert';
import { analyze, blocksOf, findPreset, type Preset, storedActivationBytes, trainingMemory } from '../../src/core';

const preset = (name: string) => findPreset(name) as Preset;
const run = (name: string, classes?: number) => {
  const p = preset(name);
  return analyze(p.model, p.input, classes ?? p.classes);
};

describe('analysis against published figures', () => {
  // keras.applications at 224x224x3, 1000 classes (total includes batch-norm moving mean/variance).
  it('DenseNet121: 8,062,504 parameters, 7,978,856 trainable, 1024 features', () => {
    const a = run('densenet121');
    assert.strictEqual(a.totals.params, 8_062_504);
    assert.strictEqual(a.totals.trainableParams, 7_978_856);
    assert.strictEqual(a.totals.nonTrainableParams, 8_062_504 - 7_978_856);
    assert.deepStrictEqual(a.layers.find((l) => l.name === 'avg_pool')?.outputShape, [1024]);
  });
  it('DenseNet169: 14,307,880 parameters, 1664 features', () => {
    const a = run('densenet169');
    assert.strictEqual(a.totals.params, 14_307_880);
    assert.deepStrictEqual(a.layers.find((l) => l.name === 'avg_pool')?.outputShape, [1664]);
  });
  it('DenseNet201: 20,242,984 parameters, 1920 features', () => {
    const a = run('densenet201');
    assert.strictEqual(a.totals.params, 20_242_984);
    assert.deepStrictEqual(a.layers.find((l) => l.name === 'avg_pool')?.outputShape, [1920]);
  });
  it('multiply-adds at 224 match mmclassification (2.88/3.42/4.37/7.82 G) and torchvision (2.83/3.36/4.29/7.73 G)', () => {
    const expected: [string, number, number][] = [
      ['densenet121', 2.88, 2.83],
      ['densenet169', 3.42, 3.36],
      ['densenet201', 4.37, 4.29],
      ['densenet161', 7.82, 7.73],
    ];
    for (const [name, mm, tv] of expected) {
      const a = run(name);
      assert.strictEqual(Number((a.totals.macs / 1e9).toFixed(2)), mm, `${name} macs ${a.totals.macs}`);
      assert.strictEqual(Number((a.totals.convMacs / 1e9).toFixed(2)), tv, `${name} conv macs ${a.totals.convMacs}`);
    }
  });
  it("the paper's CIFAR models: 1.0M / 7.0M / 27.2M / 0.8M / 15.3M / 25.6M parameters (C10)", () => {
    const expected: [string, number][] = [
      ['densenet-40-k12', 1.0],
      ['densenet-100-k12', 7.0],
      ['densenet-100-k24', 27.2],
      ['densenet-bc-100-k12', 0.8],
      ['densenet-bc-250-k24', 15.3],
      ['densenet-bc-190-k40', 25.6],
    ];
    for (const [name, millions] of expected) {
      const a = run(name, 10);
      assert.strictEqual(
        Number((a.totals.trainableParams / 1e6).toFixed(1)),
        millions,
        `${name}: ${a.totals.trainableParams}`,
      );
    }
  });
});

describe('analysis layers', () => {
  const a = run('densenet121');
  const layer = (name: string) => {
    const l = a.layers.find((x) => x.name === name);
    assert.ok(l, `no layer ${name}`);
    return l;
  };
  it('names layers as keras.applications does, in order', () => {
    assert.deepStrictEqual(
      a.layers.slice(0, 8).map((l) => l.name),
      [
        'input_1',
        'zero_padding2d',
        'conv1_conv',
        'conv1_bn',
        'conv1_relu',
        'zero_padding2d_1',
        'pool1',
        'conv2_block1_0_bn',
      ],
    );
    assert.deepStrictEqual(
      a.layers.slice(-4).map((l) => l.name),
      ['bn', 'relu', 'avg_pool', 'predictions'],
    );
    for (const n of [
      'conv2_block6_concat',
      'pool2_bn',
      'pool2_relu',
      'pool2_conv',
      'pool2_pool',
      'conv3_block12_concat',
      'pool4_pool',
      'conv5_block16_2_conv',
    ])
      layer(n);
    assert.ok(!a.layers.some((l) => l.name === 'pool5_conv'), 'no transition after the last block');
    assert.strictEqual(new Set(a.layers.map((l) => l.name)).size, a.layers.length, 'names are unique');
  });
  it('computes output shapes through the stem, blocks and transitions', () => {
    assert.deepStrictEqual(layer('conv1_conv').outputShape, [112, 112, 64]);
    assert.deepStrictEqual(layer('pool1').outputShape, [56, 56, 64]);
    assert.deepStrictEqual(layer('conv2_block1_1_conv').outputShape, [56, 56, 128]);
    assert.deepStrictEqual(layer('conv2_block6_concat').outputShape, [56, 56, 256]);
    assert.deepStrictEqual(layer('pool2_conv').outputShape, [56, 56, 128]);
    assert.deepStrictEqual(layer('pool2_pool').outputShape, [28, 28, 128]);
    assert.deepStrictEqual(layer('conv5_block16_concat').outputShape, [7, 7, 1024]);
    assert.deepStrictEqual(layer('predictions').outputShape, [1000]);
  });
  it('counts parameters per layer: conv without bias, batch-norm half trainable, dense with bias', () => {
    assert.strictEqual(layer('conv1_conv').params, 7 * 7 * 3 * 64);
    assert.deepStrictEqual([layer('conv1_bn').trainableParams, layer('conv1_bn').nonTrainableParams], [128, 128]);
    assert.strictEqual(layer('conv2_block2_1_conv').params, 96 * 128);
    assert.strictEqual(layer('predictions').params, 1024 * 1000 + 1000);
    assert.strictEqual(layer('conv1_conv').macs, 112 * 112 * 7 * 7 * 3 * 64);
  });
  it('records the concatenation edges that make a block dense', () => {
    assert.deepStrictEqual(layer('conv2_block2_concat').inputs, ['conv2_block1_concat', 'conv2_block2_2_conv']);
    assert.deepStrictEqual(layer('conv2_block1_concat').inputs, ['pool1', 'conv2_block1_2_conv']);
  });
  it('sums blocks: channels in and out, layers, parameters', () => {
    const blocks = blocksOf(a);
    assert.deepStrictEqual(
      blocks.map((b) => [b.denseLayers, b.inputShape[2], b.outputShape[2], b.inputShape[0]]),
      [
        [6, 64, 256, 56],
        [12, 128, 512, 28],
        [24, 256, 1024, 14],
        [16, 512, 1024, 7],
      ],
    );
    const sum = a.groups.reduce((s, g) => s + g.params, 0);
    assert.strictEqual(sum, a.totals.params);
  });
  it('builds CIFAR models without bottleneck, stem norm or pooling', () => {
    const c = run('densenet-40-k12');
    assert.deepStrictEqual(
      c.layers.slice(0, 3).map((l) => l.name),
      ['input_1', 'conv1_conv', 'conv2_block1_0_bn'],
    );
    assert.ok(!c.layers.some((l) => l.name.endsWith('_1_conv')), 'no bottleneck convolutions');
    assert.deepStrictEqual(c.layers.find((l) => l.name === 'conv2_block12_concat')?.outputShape, [
      32,
      32,
      16 + 12 * 12,
    ]);
    assert.deepStrictEqual(
      c.layers.find((l) => l.name === 'pool2_conv')?.outputShape,
      [32, 32, 160],
      'compression 1 keeps the channels',
    );
  });
  it('adds dropout layers after each convolution when dropRate > 0, without parameters', () => {
    const p = preset('densenet-40-k12');
    const withDrop = analyze({ ...p.model, dropRate: 0.2 }, p.input, 10);
    assert.ok(withDrop.layers.some((l) => l.name === 'conv2_block1_2_drop'));
    assert.ok(withDrop.layers.some((l) => l.name === 'pool2_drop'));
    assert.strictEqual(withDrop.totals.params, run('densenet-40-k12').totals.params);
  });
  it('reports the transition where an input falls under 1 px', () => {
    const p = preset('densenet121');
    const small = analyze(p.model, { height: 20, width: 20, channels: 3 }, 10);
    assert.ok(small.problem);
    assert.strictEqual(small.problem.layer, 'pool4_pool');
    assert.match(small.problem.message, /transition 3 \(pool4/);
  });
});

describe('training memory estimate', () => {
  it('grows linearly with the batch and counts optimizer slots', () => {
    const a = run('densenet-bc-100-k12');
    const m1 = trainingMemory(a, 1, 'sgd');
    const m64 = trainingMemory(a, 64, 'sgd');
    assert.strictEqual(m64.activationBytes, 64 * m1.activationBytes);
    assert.strictEqual(m1.weightsBytes, a.totals.params * 4);
    assert.strictEqual(trainingMemory(a, 1, 'adam').optimizerBytes, 2 * m1.optimizerBytes);
    assert.strictEqual(m64.totalBytes, m64.weightsBytes + m64.gradientBytes + m64.optimizerBytes + m64.activationBytes);
  });
  it('is in the range Pleiss et al. measured for a plain DenseNet-BC-100 at batch 64 (2.86 GB)', () => {
    const gb = trainingMemory(run('densenet-bc-100-k12'), 64, 'sgd').totalBytes / 1e9;
    assert.ok(gb > 1.5 && gb < 4, `${gb} GB`);
  });
  it('keeps no batch-norm output (fused with its ReLU), and with memoryEfficient no concatenation or ReLU before a convolution', () => {
    const a = run('densenet-bc-100-k12');
    const sum = (keep: (type: string) => boolean) =>
      a.layers.filter((l) => keep(l.type)).reduce((s, l) => s + l.activationBytes, 0);
    assert.strictEqual(storedActivationBytes(a), a.totals.activationBytes - sum((t) => t === 'BatchNormalization'));
    // Memory-efficient keeps the stem, the convolutions' outputs (the new features), the pools and the head.
    const efficient = storedActivationBytes(a, true);
    assert.ok(
      efficient < 0.35 * storedActivationBytes(a),
      `${efficient} of ${storedActivationBytes(a)} bytes per image`,
    );
    assert.ok(efficient >= sum((t) => t === 'Conv2D'));
    // Pleiss et al.: 2.86 GB -> 1.61 GB at batch 64 (their memory-efficient version still stores the bottlenecks too).
    const m = trainingMemory(a, 64, 'sgd', true);
    assert.ok(m.totalBytes / 1e9 > 0.3 && m.totalBytes / 1e9 < 1.61, `${m.totalBytes / 1e9} GB`);
    assert.strictEqual(m.activationBytes, 64 * efficient);
  });
});
