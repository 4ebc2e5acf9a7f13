import * as assert from 'assert';
import * as fc from 'fast-check';
import { analyze, type Analysis } from '../../src/core/analyze';
import { findPreset } from '../../src/core/presets';
import type { ModelConfig } from '../../src/core/types';
import {
  hwioToOihw,
  normaliseTorchvisionKeys,
  oihwToHwio,
  torchvisionLayerWeights,
  torchvisionModule,
  torchvisionShape,
  torchvisionStateDict,
  transpose2d,
  weightedLayers,
} from '../../src/interchange/layout';
import type { ForeignTensor, LayerWeights, TensorDict } from '../../src/interchange/tensors';

const small: ModelConfig = {
  growthRate: 4,
  blockConfig: [2, 3],
  bnSize: 2,
  compression: 0.5,
  numInitFeatures: 8,
  stem: { kernelSize: 7, stride: 2, pool: 'max', norm: true },
  dropRate: 0,
};
const smallAnalysis = (classes = 5): Analysis => analyze(small, { height: 32, width: 32, channels: 3 }, classes);

/** A torchvision state dict for the analysis, every value distinct and seeded, with the BN step counters. */
function torchDict(a: Analysis): TensorDict {
  const lw: LayerWeights = new Map();
  let v = 0;
  for (const l of weightedLayers(a)) {
    const shapes =
      l.type === 'Conv2D'
        ? [[l.config.kernelSize ?? 1, l.config.kernelSize ?? 1, inChannels(a, l.name), l.config.filters ?? 0]]
        : l.type === 'BatchNormalization'
          ? new Array(4).fill([inChannels(a, l.name)])
          : [[inChannels(a, l.name), l.config.units ?? 0], [l.config.units ?? 0]];
    lw.set(
      l.name,
      shapes.map((shape: number[]) => ({
        shape,
        values: Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => (v++ % 997) / 997),
      })),
    );
  }
  const dict: TensorDict = new Map();
  for (const t of torchvisionStateDict(lw, a)) {
    dict.set(t.name, { shape: t.shape, dtype: 'float32', values: t.values });
    if (t.name.endsWith('running_var'))
      dict.set(t.name.replace('running_var', 'num_batches_tracked'), {
        shape: [],
        dtype: 'int64',
        values: new Float32Array([7]),
      });
  }
  return dict;
}

function inChannels(a: Analysis, layer: string): number {
  const l = a.layers.find((x) => x.name === layer);
  const from = a.layers.find((x) => x.name === l?.inputs[0])?.outputShape ?? [];
  return from[from.length - 1];
}

describe('torchvision layout', () => {
  it("names every weighted layer of DenseNet-121 as torchvision's state dict does", () => {
    const p = findPreset('densenet121');
    assert.ok(p);
    const a = analyze(p.model, p.input, p.classes);
    const names = weightedLayers(a).map((l) => torchvisionModule(l.name));
    assert.ok(names.every((n) => n !== undefined));
    assert.strictEqual(new Set(names).size, names.length);
    assert.strictEqual(names[0], 'features.conv0');
    assert.strictEqual(names[1], 'features.norm0');
    assert.ok(names.includes('features.denseblock3.denselayer24.conv2'));
    assert.ok(names.includes('features.transition3.norm'));
    assert.deepStrictEqual(names.slice(-2), ['features.norm5', 'classifier']);
    // 121 = 1 stem conv + 2·58 dense-layer convs + 3 transition convs + 1 classifier
    assert.strictEqual(weightedLayers(a).filter((l) => l.type !== 'BatchNormalization').length, 121);
  });

  it('OIHW ↔ HWIO and matrix transposes are inverse permutations', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 4, maxLength: 4 }), ([o, i, h, w]) => {
        const n = o * i * h * w;
        const x = Float32Array.from({ length: n }, (_, k) => k);
        const hwio = oihwToHwio(x, [o, i, h, w]);
        assert.deepStrictEqual(Array.from(hwioToOihw(hwio, [h, w, i, o])), Array.from(x));
        // element (a, b, y, z) of OIHW lands at (y, z, b, a) of HWIO
        const [a, b, y, z] = [o - 1, i - 1, h - 1, w - 1];
        assert.strictEqual(hwio[((y * w + z) * i + b) * o + a], x[((a * i + b) * h + y) * w + z]);
        assert.deepStrictEqual(Array.from(transpose2d(transpose2d(x, [o * i, h * w]), [h * w, o * i])), Array.from(x));
      }),
    );
  });

  it('maps a state dict onto the model and back, byte for byte, ignoring num_batches_tracked', () => {
    const a = smallAnalysis();
    const dict = torchDict(a);
    const { weights, replacedClassifier } = torchvisionLayerWeights(dict, a);
    assert.strictEqual(replacedClassifier, undefined);
    assert.deepStrictEqual(weights.get('conv1_conv')?.[0].shape, [7, 7, 3, 8]);
    assert.deepStrictEqual(weights.get('predictions')?.[0].shape, [inChannels(a, 'predictions'), 5]);
    for (const t of torchvisionStateDict(weights, a)) {
      const original = dict.get(t.name) as ForeignTensor;
      assert.deepStrictEqual(t.shape, original.shape, t.name);
      assert.deepStrictEqual(Array.from(t.values), Array.from(original.values), t.name);
    }
    assert.deepStrictEqual(torchvisionShape(dict), {
      growthRate: 4,
      blockConfig: [2, 3],
      numInitFeatures: 8,
      classes: 5,
    });
  });

  it("renames legacy keys (norm.1 → norm1) and DataParallel's module. prefix as torchvision does", () => {
    const a = smallAnalysis();
    const legacy: TensorDict = new Map();
    for (const [k, t] of torchDict(a))
      legacy.set('module.' + k.replace(/\.(norm|conv)([12])\.(weight|bias|running_mean|running_var)$/, '.$1.$2.$3'), t);
    assert.ok([...legacy.keys()].includes('module.features.denseblock1.denselayer1.norm.1.weight'));
    assert.ok(normaliseTorchvisionKeys(legacy).has('features.denseblock1.denselayer1.norm1.weight'));
    assert.doesNotThrow(() => torchvisionLayerWeights(legacy, a));
  });

  it('names the first mismatching layer with both shapes, and what the file holds', () => {
    const a = smallAnalysis();
    const other = analyze({ ...small, growthRate: 6 }, { height: 32, width: 32, channels: 3 }, 5);
    assert.throws(
      () => torchvisionLayerWeights(torchDict(other), a),
      (e: Error) =>
        /^Layer conv2_block1_1_conv \(features\.denseblock1\.denselayer1\.conv1\.weight\): the weights have \[12, 8, 1, 1\], the model needs \[8, 8, 1, 1\]/.test(
          e.message,
        ) && /k=6, blocks \[2, 3\].*; the model has k=4/.test(e.message),
    );
  });

  it('refuses missing and extra tensors', () => {
    const a = smallAnalysis();
    const missing = torchDict(a);
    missing.delete('features.norm5.running_var');
    assert.throws(
      () => torchvisionLayerWeights(missing, a),
      /The weights have no features\.norm5\.running_var \(layer bn, \[\d+\]\)/,
    );
    const extra = torchDict(a);
    extra.set('features.denseblock2.denselayer4.conv2.weight', {
      shape: [4, 8, 3, 3],
      dtype: 'float32',
      values: new Float32Array(288),
    });
    assert.throws(
      () => torchvisionLayerWeights(extra, a),
      /features\.denseblock2\.denselayer4\.conv2\.weight \[4, 8, 3, 3\], which the model has no layer for/,
    );
  });

  it('leaves a classifier of another class count out only when asked', () => {
    const a = smallAnalysis(5);
    const dict = torchDict(smallAnalysis(10));
    assert.throws(
      () => torchvisionLayerWeights(dict, a),
      /Layer predictions \(classifier\.weight\): the weights have \[10, \d+\], the model needs \[5, \d+\]/,
    );
    const r = torchvisionLayerWeights(dict, a, { replaceClassifier: true });
    assert.ok(!r.weights.has('predictions'));
    assert.strictEqual(r.replacedClassifier?.fileShape[0], 10);
  });
});
