import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { analyze, type Analysis } from '../../src/core';
import { findPreset } from '../../src/core/presets';
import type { ModelConfig } from '../../src/core/types';
import { read, tidyPlain } from '../../src/engine/inspection/tensors';
import { logits as tfjsLogits } from '../../src/engine/inspection/predict';
import {
  createOnnxSession,
  inferenceEngine,
  modelEpsilon,
  transposeImages,
  type OnnxSession,
} from '../../src/engine/onnxRuntime';
import { tf } from '../../src/engine/tf';
import { readLayerWeights } from '../../src/engine/weights';
import { values } from '../support/backends';
import { maxAbsDiff, randomModel } from '../support/inference';

/** The tfjs inference outputs of `layers` and the logits for NHWC `x`. */
function tfjsOutputs(model: LayersModel, x: Float32Array, n: number, layers: string[]) {
  const [, h, w, c] = model.inputs[0].shape as number[];
  return tidyPlain(() => {
    const images = tf.tensor4d(x, [n, h, w, c]);
    const outputs = layers.map((l) => model.getLayer(l).output as SymbolicTensor);
    const sub = tf.model({ inputs: model.inputs, outputs });
    const got = sub.predict(images);
    const tensors = (Array.isArray(got) ? got : [got]) as Tensor[];
    return {
      logits: tfjsLogits(model, images),
      layers: new Map(tensors.map((t, i) => [layers[i], { data: read(t), shape: t.shape }])),
    };
  });
}

const SMALL: ModelConfig = {
  growthRate: 12,
  blockConfig: [3, 3, 3],
  bnSize: 4,
  compression: 0.5,
  numInitFeatures: 24,
  stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
  dropRate: 0.2,
};

describe('engine: inference on ONNX Runtime', function () {
  this.timeout(300_000);
  const sessions: OnnxSession[] = [];
  const models: LayersModel[] = [];
  before(async () => {
    await tf.setBackend('cpu');
  });
  after(async () => {
    for (const s of sessions) await s.release();
    for (const m of models) m.dispose();
  });

  /** Compares logits, probabilities and every requested layer with tfjs; returns the largest difference. */
  async function compare(analysis: Analysis, n: number, layers: string[], seed: number): Promise<number> {
    const model = randomModel(analysis, seed);
    models.push(model);
    const session = await createOnnxSession(analysis, readLayerWeights(model), {
      threads: 2,
      outputs: layers,
      epsilon: modelEpsilon(model),
    });
    sessions.push(session);
    const { height, width, channels } = analysis.input;
    const x = values(n * height * width * channels, seed);
    const got = await session.run(x, n);
    const want = tfjsOutputs(model, x, n, layers);
    let worst = maxAbsDiff(got.logits, want.logits);
    const probs = tf.tidy(() => tf.softmax(tf.tensor2d(want.logits, [n, analysis.classes])).dataSync());
    worst = Math.max(worst, maxAbsDiff(got.probabilities, probs));
    assert.deepStrictEqual([...got.layers.keys()], layers);
    for (const name of layers) {
      const a = got.layers.get(name)!;
      const b = want.layers.get(name)!;
      assert.deepStrictEqual(a.shape, b.shape, `${name}: NHWC shape`);
      const d = maxAbsDiff(a.data, b.data);
      assert.ok(d < 1e-4, `${name}: max |ONNX Runtime - tfjs| = ${d}`);
      worst = Math.max(worst, d);
    }
    assert.ok(worst < 1e-4, `max |ONNX Runtime - tfjs| = ${worst}`);
    return worst;
  }

  it('transposes NHWC to NCHW and back', () => {
    const x = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i);
    const nchw = transposeImages(x, [2, 3, 4, 5], true);
    // image 1, channel 2, row 1, column 3
    assert.strictEqual(nchw[1 * 60 + 2 * 12 + 1 * 4 + 3], x[1 * 60 + (1 * 4 + 3) * 5 + 2]);
    assert.deepStrictEqual(transposeImages(nchw, [2, 3, 4, 5], false), x);
  });

  it('gives the logits and layer activations of tfjs on DenseNet-BC-40-like models (max |diff| < 1e-4)', async () => {
    const analysis = analyze(SMALL, { height: 16, width: 16, channels: 3 }, 10);
    const layers = analysis.layers.filter((l) => l.type !== 'Dense').map((l) => l.name);
    const d = await compare(analysis, 3, layers, 5);
    console.log(`      DenseNet-BC (3 blocks of 3, ${layers.length} layers): max |diff| ${d.toExponential(2)}`);
    const gray = analyze({ ...SMALL, blockConfig: [2, 4] }, { height: 12, width: 12, channels: 1 }, 4);
    const d2 = await compare(gray, 2, ['conv1_conv', 'conv2_block2_concat', 'relu', 'avg_pool', 'predictions'], 9);
    console.log(`      grayscale 2-block model: max |diff| ${d2.toExponential(2)}`);
  });

  it('gives the logits and activations of tfjs on a random DenseNet-121 at 64x64 (max |diff| < 1e-4)', async () => {
    const preset = findPreset('densenet121')!;
    const analysis = analyze(preset.model, { height: 64, width: 64, channels: 3 }, 20);
    const layers = ['input_1', 'zero_padding2d', 'conv1_relu', 'pool1', 'conv2_block6_concat', 'pool2_pool'];
    layers.push('conv4_block24_concat', 'bn', 'relu', 'avg_pool', 'predictions');
    const d = await compare(analysis, 2, layers, 3);
    console.log(`      DenseNet-121 at 64x64: max |diff| ${d.toExponential(2)}`);
  });

  it('refuses a batch of the wrong size, and a layer the model does not have', async () => {
    const analysis = analyze(SMALL, { height: 8, width: 8, channels: 1 }, 2);
    const model = randomModel(analysis, 2);
    models.push(model);
    const session = await createOnnxSession(analysis, readLayerWeights(model), { threads: 1 });
    sessions.push(session);
    await assert.rejects(session.run(new Float32Array(63), 1), /A batch of 1 8x8x1 images has 64 values, not 63/);
    await assert.rejects(
      createOnnxSession(analysis, readLayerWeights(model), { threads: 1, outputs: ['conv9_block1_concat'] }),
      /The model has no layer conv9_block1_concat/,
    );
  });

  describe('choosing the engine', () => {
    let broken: string;
    let model: LayersModel;
    let analysis: Analysis;
    /** A stem the graph writer cannot express: a 4x4 'same' convolution (tfjs pads it unevenly). */
    let evenStem: Analysis;
    let evenModel: LayersModel;
    before(() => {
      broken = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-broken-ort-'));
      fs.writeFileSync(
        path.join(broken, 'index.js'),
        "throw new Error('libonnxruntime.so.1: cannot open shared object file: No such file or directory');\n",
      );
      analysis = analyze(SMALL, { height: 8, width: 8, channels: 1 }, 2);
      model = randomModel(analysis, 4);
      evenStem = analyze(
        { ...SMALL, stem: { kernelSize: 4, stride: 1, pool: 'none', norm: false } },
        { height: 8, width: 8, channels: 1 },
        2,
      );
      evenModel = randomModel(evenStem, 4);
      models.push(model, evenModel);
    });
    after(() => fs.rmSync(broken, { recursive: true, force: true }));

    it('auto runs on ONNX Runtime when it can', async () => {
      const log: string[] = [];
      const session = await inferenceEngine('auto', (m) => log.push(m)).open(analysis, model, { threads: 1 });
      assert.ok(session, 'an ONNX Runtime session');
      sessions.push(session);
      assert.deepStrictEqual(log, []);
    });

    it('auto falls back to tfjs, saying why, when the native library does not load or a layer has no ONNX form', async () => {
      const log: string[] = [];
      const engine = inferenceEngine('auto', (m) => log.push(m), broken);
      assert.strictEqual(await engine.open(analysis, model, { threads: 1 }), undefined);
      assert.strictEqual(await engine.open(analysis, model, { threads: 1 }), undefined);
      assert.deepStrictEqual(log, [
        `inference on tfjs: ONNX Runtime is not used (ONNX Runtime (${broken}) could not be loaded: libonnxruntime.so.1: cannot open shared object file: No such file or directory)`,
      ]);
      const log2: string[] = [];
      const session = await inferenceEngine('auto', (m) => log2.push(m)).open(evenStem, evenModel, { threads: 1 });
      assert.strictEqual(session, undefined);
      assert.deepStrictEqual(log2, [
        "inference on tfjs: ONNX Runtime is not used (Layer conv1_conv: 'same' padding with stride 1 and kernel 4 has no ONNX equivalent.)",
      ]);
    });

    it('onnxruntime fails with a clear error instead of falling back; tfjs never tries', async () => {
      await assert.rejects(
        inferenceEngine('onnxruntime', () => assert.fail('nothing logged'), broken).open(analysis, model, {
          threads: 1,
        }),
        {
          message: `Inference on ONNX Runtime failed: ONNX Runtime (${broken}) could not be loaded: libonnxruntime.so.1: cannot open shared object file: No such file or directory. Set densenet.engine.inference (or --inference) to auto or tfjs to run inference on tfjs.`,
        },
      );
      await assert.rejects(
        inferenceEngine('onnxruntime', () => undefined).open(evenStem, evenModel, { threads: 1 }),
        /^Error: Inference on ONNX Runtime failed: Layer conv1_conv: 'same' padding with stride 1 and kernel 4 has no ONNX equivalent\. Set densenet\.engine\.inference/,
      );
      const log: string[] = [];
      assert.strictEqual(
        await inferenceEngine('tfjs', (m) => log.push(m)).open(analysis, model, { threads: 1 }),
        undefined,
      );
      assert.deepStrictEqual(log, []);
      assert.throws(
        () => inferenceEngine('onnx' as never, () => undefined),
        /The inference engine must be one of auto, onnxruntime, tfjs \(got "onnx"\)/,
      );
    });
  });
});
