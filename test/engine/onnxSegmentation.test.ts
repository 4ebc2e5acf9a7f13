import * as assert from 'assert';
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { analyze } from '../../src/core';
import type { ModelConfig } from '../../src/core/types';
import { read, tidyPlain } from '../../src/engine/inspection/tensors';
import { modelEpsilon, transposeImages } from '../../src/engine/onnxRuntime';
import { tf } from '../../src/engine/tf';
import { applyLayerWeights, readLayerWeights } from '../../src/engine/weights';
import { mapSource, type SourceWeights } from '../../src/interchange/importer';
import { writeOnnxModel } from '../../src/interchange/onnxWrite';
import { values } from '../support/backends';
import { maxAbsDiff, randomModel } from '../support/inference';

/** A small FC-DenseNet: two down blocks, a bottleneck, two up blocks with skip connections, dropout. */
const FC: ModelConfig = {
  growthRate: 4,
  blockConfig: [2, 3],
  bnSize: 0,
  compression: 1,
  numInitFeatures: 8,
  stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
  dropRate: 0.2,
  decoder: { bottleneckLayers: 2, upBlockConfig: [3, 2] },
};

describe('engine: FC-DenseNets and multi-label classifiers exported to ONNX', function () {
  this.timeout(120_000);
  let model: LayersModel | undefined;
  before(async () => {
    await tf.setBackend('cpu');
  });
  after(() => model?.dispose());

  it('gives tfjs per-pixel logits, probabilities and layer outputs in ONNX Runtime (ConvTranspose, skips)', async () => {
    const [n, h, w, c, classes] = [2, 16, 12, 2, 3];
    const analysis = analyze(FC, { height: h, width: w, channels: c }, classes);
    model = randomModel(analysis, 7);
    const weights = readLayerWeights(model);
    const bias = weights.get('classifier')![1];
    bias.values = values(bias.values.length, 11); // the classifier's bias starts at 0: make it count
    applyLayerWeights(model, weights);
    const bytes = writeOnnxModel(analysis, weights, {
      epsilon: modelEpsilon(model),
      outputs: ['tu1_conv', 'tu2_concat'],
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    const session = await ort.InferenceSession.create(Buffer.from(bytes), { intraOpNumThreads: 1 });
    const x = values(n * h * w * c, 5);
    const out = await session.run({
      input: new ort.Tensor('float32', transposeImages(x, [n, h, w, c], true), [n, c, h, w]),
    });
    const nhwc = (name: string, shape: number[]) =>
      transposeImages(out[name].data as Float32Array, shape as [number, number, number, number], false);

    const names = ['classifier', 'predictions', 'tu1_conv', 'tu2_concat'];
    const want = tidyPlain(() => {
      const outputs = names.map((l) => model!.getLayer(l).output as SymbolicTensor);
      const got = tf.model({ inputs: model!.inputs, outputs }).predict(tf.tensor4d(x, [n, h, w, c])) as Tensor[];
      return got.map((t) => ({ data: read(t), shape: t.shape as number[] }));
    });
    assert.deepStrictEqual(out.logits.dims, [n, classes, h, w]);
    assert.deepStrictEqual(out.probabilities.dims, [n, classes, h, w]);
    const diffs = [
      maxAbsDiff(nhwc('logits', want[0].shape), want[0].data),
      maxAbsDiff(nhwc('probabilities', want[1].shape), want[1].data),
      maxAbsDiff(nhwc('tu1_conv', want[2].shape), want[2].data),
      maxAbsDiff(nhwc('tu2_concat', want[3].shape), want[3].data),
    ];
    console.log(
      `      FC-DenseNet in ONNX Runtime: max |diff| ${Math.max(...diffs).toExponential(2)} (logits, probabilities, tu1_conv, tu2_concat)`,
    );
    for (const [i, d] of diffs.entries()) assert.ok(d < 1e-4, `${names[i]}: max |ONNX Runtime - tfjs| = ${d}`);
    await session.release();
  });

  it('a multi-label classifier: a sigmoid per label in ONNX Runtime, as in tfjs', async () => {
    const [n, side, labels] = [3, 8, 4];
    const config: ModelConfig = { ...FC, bnSize: 2, compression: 0.5, decoder: undefined, dropRate: 0 };
    const analysis = analyze(config, { height: side, width: side, channels: 1 }, labels, 'multilabel');
    const m = randomModel(analysis, 3);
    const weights = readLayerWeights(m);
    const bytes = writeOnnxModel(analysis, weights, { epsilon: modelEpsilon(m) });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    const session = await ort.InferenceSession.create(Buffer.from(bytes), { intraOpNumThreads: 1 });
    const x = values(n * side * side, 9);
    const out = await session.run({
      input: new ort.Tensor('float32', transposeImages(x, [n, side, side, 1], true), [n, 1, side, side]),
    });
    const want = tidyPlain(() => read(m.predict(tf.tensor4d(x, [n, side, side, 1])) as Tensor));
    m.dispose();
    await session.release();
    const probs = out.probabilities.data as Float32Array;
    assert.ok(maxAbsDiff(probs, want) < 1e-5, `max |ONNX Runtime - tfjs| = ${maxAbsDiff(probs, want)}`);
    const rowSums = Array.from({ length: n }, (_, i) =>
      probs.subarray(i * labels, (i + 1) * labels).reduce((a, b) => a + b),
    );
    assert.ok(
      rowSums.some((v) => Math.abs(v - 1) > 1e-3),
      'sigmoids, not a softmax',
    );
    const logits = out.logits.data as Float32Array;
    logits.forEach((z, i) => assert.ok(Math.abs(1 / (1 + Math.exp(-z)) - probs[i]) < 1e-6));
  });

  it('refuses pretrained classifier weights: an FC-DenseNet starts from scratch', () => {
    const analysis = analyze(FC, { height: 16, width: 16, channels: 3 }, 3);
    const source: SourceWeights = {
      format: 'pytorch',
      classes: 3,
      map: () => assert.fail('the weights must not be mapped'),
    };
    assert.throws(() => mapSource(source, analysis, true), /segmentation model \(FC-DenseNet\) is not supported/);
  });
});
