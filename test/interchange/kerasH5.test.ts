import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { analyze, type Analysis } from '../../src/core/analyze';
import type { ModelConfig } from '../../src/core/types';
import { kerasLayerName, kerasLayerWeights, readKerasH5, writeKerasH5 } from '../../src/interchange/kerasH5';
import { paramLayers } from '../../src/interchange/layerShapes';
import type { LayerWeights } from '../../src/interchange/tensors';
import { KERAS_H5_READER, KERAS_H5_WRITER, readFloat32, requirePython, runPython } from '../support/pythonReference';
import { tempFolders } from '../support/tempFolders';

const MODEL: ModelConfig = {
  growthRate: 4,
  blockConfig: [2, 2],
  bnSize: 4,
  compression: 0.5,
  numInitFeatures: 8,
  stem: { kernelSize: 7, stride: 2, pool: 'max', norm: true },
  dropRate: 0,
};
const INPUT = { height: 32, width: 32, channels: 3 };

const KERAS2: Record<string, string> = { conv1_conv: 'conv1/conv', conv1_bn: 'conv1/bn', conv1_relu: 'conv1/relu' };

/** What the python writer needs: every layer (weightless ones too), its weights' names and shapes. */
function kerasSpec(a: Analysis, naming: 'keras2' | 'keras3', dtypes: Record<string, string> = {}) {
  const params = new Map(paramLayers(a).map((p) => [p.layer.name, p]));
  return a.layers.map((l) => {
    const layer = naming === 'keras2' ? (KERAS2[l.name] ?? l.name) : l.name;
    const p = params.get(l.name);
    const weights = (p?.names ?? []).map((w, i) => {
      const name = naming === 'keras2' ? `${layer}/${w}:0` : `${layer}/${w}`;
      return { name, shape: p!.shapes[i], dtype: dtypes[name] };
    });
    return { layer, weights };
  });
}

function randomWeights(a: Analysis, seed: number): LayerWeights {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const w: LayerWeights = new Map();
  for (const p of paramLayers(a))
    w.set(
      p.layer.name,
      p.shapes.map((shape) => ({
        shape,
        values: Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, rand),
      })),
    );
  return w;
}

function flatten(w: LayerWeights): Float32Array {
  return Float32Array.from([...w.values()].flatMap((ts) => ts.flatMap((t) => [...t.values])));
}

describe('interchange: Keras .h5 weights', function () {
  const temp = tempFolders('densenet-kerash5-');
  const analysis = analyze(MODEL, INPUT, 3);
  after(() => temp.removeAll());

  describe('against h5py', function () {
    before(function () {
      requirePython(this, ['h5py', 'numpy']);
    });

    it("reads a Keras 2 weights file (h5py, keras-applications' slash names) exactly and maps it to the layers", async () => {
      const file = path.join(temp.make(), 'keras2.h5');
      runPython(KERAS_H5_WRITER, [file, 'weights'], JSON.stringify(kerasSpec(analysis, 'keras2')));
      const expected = readFloat32(`${file}.values`);
      const dict = await readKerasH5(fs.readFileSync(file));
      const keys = [...dict.keys()];
      assert.strictEqual(keys[0], 'conv1/conv/kernel:0');
      assert.ok(keys.includes('conv2_block1_0_bn/moving_variance:0'));
      assert.ok(keys.includes('pool2_conv/kernel:0'));
      assert.deepStrictEqual(dict.get('conv1/conv/kernel:0')?.shape, [7, 7, 3, 8]);
      assert.strictEqual(dict.get('bn/gamma:0')?.dtype, 'float32');
      const all = Float32Array.from([...dict.values()].flatMap((t) => [...t.values]));
      assert.deepStrictEqual(all, expected);
      const weights = kerasLayerWeights(dict, analysis);
      assert.deepStrictEqual(
        [...weights.keys()],
        paramLayers(analysis).map((p) => p.layer.name),
      );
      assert.deepStrictEqual(flatten(weights), expected);
      assert.deepStrictEqual(weights.get('predictions')?.[0].shape, [analysis.layers.at(-2)!.outputShape[0], 3]);
    });

    it('reads a full-model file (model_weights group) with Keras 3 names and a float64 dataset', async () => {
      const file = path.join(temp.make(), 'model.h5');
      const dtypes = { 'conv1_conv/kernel': '<f8' };
      runPython(KERAS_H5_WRITER, [file, 'full'], JSON.stringify(kerasSpec(analysis, 'keras3', dtypes)));
      const dict = await readKerasH5(file);
      assert.strictEqual(dict.get('conv1_conv/kernel')?.dtype, 'float64');
      const weights = kerasLayerWeights(dict, analysis);
      assert.deepStrictEqual(flatten(weights), readFloat32(`${file}.values`));
    });

    it('refuses float16 and integer datasets, naming the weight', async () => {
      for (const [dtype, text] of [
        ['<f2', 'float16'],
        ['<i4', 'HDF5 type class 0'],
      ]) {
        const file = path.join(temp.make(), 'odd.h5');
        runPython(
          KERAS_H5_WRITER,
          [file, 'weights'],
          JSON.stringify(kerasSpec(analysis, 'keras3', { 'bn/beta': dtype })),
        );
        await assert.rejects(readKerasH5(file), new RegExp(`Weight bn/bn/beta is stored as ${text}; only float32`));
      }
    });

    it('writes files that h5py reads as Keras does, with the same arrays (both naming generations)', async () => {
      const weights = randomWeights(analysis, 3);
      for (const naming of ['keras2', 'keras3'] as const) {
        const dir = temp.make();
        const file = path.join(dir, `${naming}.h5`);
        await writeKerasH5(file, weights, analysis, { naming });
        const report = JSON.parse(runPython(KERAS_H5_READER, [file, path.join(dir, 'values')])) as {
          layers: string[];
          weights: { layer: string; weight: string; shape: number[]; dtype: string }[];
          backend: string;
          keras_version: string;
        };
        assert.strictEqual(report.layers.length, analysis.layers.length);
        assert.strictEqual(report.layers[2], naming === 'keras2' ? 'conv1/conv' : 'conv1_conv');
        assert.strictEqual(report.backend, 'tensorflow');
        assert.match(report.keras_version, naming === 'keras2' ? /^2\./ : /^3\./);
        const stem = report.weights[0];
        assert.strictEqual(stem.weight, naming === 'keras2' ? 'conv1/conv/kernel:0' : 'conv1_conv/kernel');
        assert.deepStrictEqual(stem.shape, [7, 7, 3, 8]);
        assert.ok(report.weights.every((w) => w.dtype === 'float32'));
        assert.deepStrictEqual(
          report.weights.map((w) => w.shape),
          [...weights.values()].flatMap((ts) => ts.map((t) => t.shape)),
        );
        assert.deepStrictEqual(readFloat32(path.join(dir, 'values')), flatten(weights));
      }
    });
  });

  it('round-trips weights through writeKerasH5 and readKerasH5 in both namings', async () => {
    const weights = randomWeights(analysis, 5);
    for (const naming of ['keras2', 'keras3'] as const) {
      const file = path.join(temp.make(), 'w.h5');
      await writeKerasH5(file, weights, analysis, { naming });
      const dict = await readKerasH5(file);
      assert.ok(dict.has(naming === 'keras2' ? 'conv1/bn/gamma:0' : 'conv1_bn/gamma'));
      const back = kerasLayerWeights(dict, analysis);
      assert.deepStrictEqual([...back.keys()], [...weights.keys()]);
      for (const [name, ts] of weights) assert.deepStrictEqual(back.get(name), ts, name);
    }
  });

  it('names the first mismatching layer and both shapes; missing and extra tensors are errors', async () => {
    const file = path.join(temp.make(), 'w.h5');
    await writeKerasH5(file, randomWeights(analysis, 9), analysis, { naming: 'keras2' });
    const dict = await readKerasH5(file);
    const fourClasses = analyze(MODEL, INPUT, 4);
    assert.throws(
      () => kerasLayerWeights(dict, fourClasses),
      /Layer predictions \(Dense\): the Keras file's predictions\/kernel:0 has shape \[16, 3\] but the model needs \[16, 4\]/,
    );
    const wider = analyze({ ...MODEL, growthRate: 6 }, INPUT, 3);
    assert.throws(
      () => kerasLayerWeights(dict, wider),
      /Layer conv2_block1_1_conv \(Conv2D\).*\[1, 1, 8, 16\].*\[1, 1, 8, 24\]/,
    );
    const missing = new Map(dict);
    missing.delete('conv2_block2_1_bn/beta:0');
    assert.throws(
      () => kerasLayerWeights(missing, analysis),
      /Layer conv2_block2_1_bn \(BatchNormalization\) has no beta/,
    );
    const deeper = analyze({ ...MODEL, blockConfig: [2, 3] }, INPUT, 3);
    assert.throws(() => kerasLayerWeights(dict, deeper), /Layer conv3_block3_0_bn \(BatchNormalization\) has no gamma/);
    const shallower = analyze({ ...MODEL, blockConfig: [2, 1] }, INPUT, 3);
    assert.throws(
      () => kerasLayerWeights(dict, shallower),
      /Layer bn \(BatchNormalization\).*shape \[16\] but the model needs \[12\]/,
    );
    const extra = new Map(dict);
    extra.set('conv9_block1_1_conv/kernel:0', { shape: [1], dtype: 'float32', values: new Float32Array(1) });
    assert.throws(
      () => kerasLayerWeights(extra, analysis),
      /1 weight\(s\) the model does not use, first conv9_block1_1_conv\/kernel:0/,
    );
  });

  it('leaves out a classifier of other classes, or a missing one (include_top=False), with replaceClassifier', async () => {
    const file = path.join(temp.make(), 'w.h5');
    const weights = randomWeights(analysis, 4);
    await writeKerasH5(file, weights, analysis, { naming: 'keras2' });
    const dict = await readKerasH5(file);
    const fourClasses = analyze(MODEL, INPUT, 4);
    const other = kerasLayerWeights(dict, fourClasses, { replaceClassifier: true });
    assert.ok(!other.has('predictions'));
    assert.strictEqual(other.size, weights.size - 1);
    assert.deepStrictEqual(other.get('bn'), weights.get('bn'));
    const notop = new Map([...dict].filter(([k]) => !k.startsWith('predictions/')));
    assert.throws(() => kerasLayerWeights(notop, analysis), /Layer predictions \(Dense\) has no kernel/);
    assert.ok(!kerasLayerWeights(notop, analysis, { replaceClassifier: true }).has('predictions'));
    // Same classes: the classifier is kept.
    assert.deepStrictEqual(
      kerasLayerWeights(dict, analysis, { replaceClassifier: true }).get('predictions'),
      weights.get('predictions'),
    );
  });

  it('maps both Keras naming generations to the analysis names', () => {
    assert.strictEqual(kerasLayerName('conv1/conv'), 'conv1_conv');
    assert.strictEqual(kerasLayerName('conv1_bn'), 'conv1_bn');
    assert.strictEqual(kerasLayerName('conv2_block1_0_bn'), 'conv2_block1_0_bn');
    assert.strictEqual(kerasLayerName('fc1000'), 'predictions');
  });

  it('refuses bytes that are not HDF5, and truncated or damaged files, with a clear error', async () => {
    await assert.rejects(readKerasH5(new TextEncoder().encode('PK\u0003\u0004 not a Keras file')), /not an HDF5 file/);
    await assert.rejects(readKerasH5(new Uint8Array(0)), /not an HDF5 file/);
    const file = path.join(temp.make(), 'w.h5');
    const weights = randomWeights(analysis, 1);
    await writeKerasH5(file, weights, analysis, { naming: 'keras3' });
    const bytes = fs.readFileSync(file);
    await assert.rejects(readKerasH5(bytes.subarray(0, Math.floor(bytes.length / 2))), /truncated or damaged/);
    const damaged = Uint8Array.from(bytes);
    for (let i = 200; i < damaged.length; i += 97) damaged[i] ^= 0x5a;
    await assert.rejects(readKerasH5(damaged), /damaged|has no Keras layer list|not HDF5|not an HDF5/);
    // The reader still works after those failures.
    assert.deepStrictEqual(kerasLayerWeights(await readKerasH5(bytes), analysis).get('bn'), weights.get('bn'));
  });

  it('writes nothing when the weights do not fit the model', async () => {
    const dir = temp.make();
    const weights = randomWeights(analysis, 2);
    weights.get('conv1_conv')![0] = { shape: [3, 3, 3, 8], values: new Float32Array(216) };
    await assert.rejects(
      writeKerasH5(path.join(dir, 'w.h5'), weights, analysis, { naming: 'keras3' }),
      /Layer conv1_conv \(Conv2D\): its kernel has shape \[3, 3, 3, 8\] but the model needs \[7, 7, 3, 8\]/,
    );
    assert.deepStrictEqual(fs.readdirSync(dir), []);
  });
});
