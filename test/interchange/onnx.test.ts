import * as assert from 'assert';
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import * as path from 'path';
import { analyze, type Analysis } from '../../src/core/analyze';
import { findPreset } from '../../src/core/presets';
import type { ModelConfig } from '../../src/core/types';
import { onnxLayerWeights, readOnnxModel, writeOnnxModel } from '../../src/interchange/onnx';
import { TORCH_BN_EPSILON, type LayerWeights } from '../../src/interchange/tensors';
import { ONNX_CHECK, TORCH_DENSENET_ONNX, readFloat32, requirePython, runPython } from '../support/pythonReference';
import { tempFolders } from '../support/tempFolders';

// torchvision.models.DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16, bn_size=4, num_classes=5)
const MODEL: ModelConfig = {
  growthRate: 8,
  blockConfig: [2, 2],
  bnSize: 4,
  compression: 0.5,
  numInitFeatures: 16,
  stem: { kernelSize: 7, stride: 2, pool: 'max', norm: true },
  dropRate: 0,
};
const SIZE = 64;
const INPUT = { height: SIZE, width: SIZE, channels: 3 };
const CLASSES = 5;

async function runOrt(
  model: Uint8Array,
  input: Float32Array,
  batch: number,
  size = SIZE,
): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [batch, 3, size, size]) };
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  assert.strictEqual(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
};

describe('interchange: ONNX models', function () {
  const temp = tempFolders('densenet-onnx-');
  const analysis: Analysis = analyze(MODEL, INPUT, CLASSES);
  let dir = '';
  let torchOnnx: Uint8Array;
  let input: Float32Array;
  let torchLogits: Float32Array;
  let imported: { weights: LayerWeights; epsilon: number };

  before(function () {
    this.timeout(180000);
    requirePython(this, ['torch', 'torchvision', 'onnx']);
    dir = temp.make();
    const cfg = { growth: 8, blocks: [2, 2], init: 16, bn_size: 4, classes: CLASSES, size: SIZE };
    runPython(TORCH_DENSENET_ONNX, [dir, JSON.stringify(cfg)]);
    torchOnnx = fs.readFileSync(path.join(dir, 'densenet.onnx'));
    input = readFloat32(path.join(dir, 'input.bin'));
    torchLogits = readFloat32(path.join(dir, 'logits.bin'));
  });
  after(() => temp.removeAll());

  it("reads torch's export: opset, symbolic input shape, parametrised ops in graph order (Conv+BN fused)", () => {
    const model = readOnnxModel(torchOnnx);
    assert.strictEqual(model.opset, 13);
    assert.deepStrictEqual(model.inputShape, ['batch', 3, SIZE, SIZE]);
    const kinds = model.ops.map((o) => (o.op === 'conv' ? (o.bias ? 'conv+b' : 'conv') : o.op));
    const layer = ['batchnorm', 'conv+b', 'conv'];
    assert.deepStrictEqual(kinds, [
      'conv+b', // conv0 with norm0 folded in
      ...layer,
      ...layer,
      'batchnorm', // transition1
      'conv',
      ...layer,
      ...layer,
      'batchnorm', // norm5
      'dense',
    ]);
    const stem = model.ops[0];
    assert.ok(stem.op === 'conv');
    assert.deepStrictEqual(stem.weight.shape, [16, 3, 7, 7]);
    assert.strictEqual(stem.weight.dtype, 'float32');
    const norm1 = model.ops[1];
    assert.ok(norm1.op === 'batchnorm');
    assert.strictEqual(norm1.node, '/features/denseblock1/denselayer1/norm1/BatchNormalization');
    assert.strictEqual(Math.fround(norm1.epsilon), Math.fround(TORCH_BN_EPSILON));
    const fc = model.ops.at(-1)!;
    assert.ok(fc.op === 'dense');
    assert.deepStrictEqual(fc.weight.shape, [CLASSES, 32]);
  });

  it("maps torch's ONNX to the layers; the re-exported graph gives torch's logits in ONNX Runtime (≤ 1e-4)", async () => {
    imported = onnxLayerWeights(readOnnxModel(torchOnnx).ops, analysis);
    assert.strictEqual(Math.fround(imported.epsilon), Math.fround(TORCH_BN_EPSILON));
    assert.deepStrictEqual(imported.weights.get('conv1_conv')![0].shape, [7, 7, 3, 16]);
    const stemBn = imported.weights.get('conv1_bn')!;
    assert.deepStrictEqual([...stemBn[0].values], new Array(16).fill(1));
    assert.ok(stemBn[3].values.every((v) => v === Math.fround(1 - imported.epsilon)));
    assert.deepStrictEqual(imported.weights.get('predictions')![0].shape, [32, CLASSES]);
    // The reference itself: torch's own graph in ONNX Runtime.
    const torchInOrt = await runOrt(torchOnnx, input, 2);
    assert.ok(maxAbsDiff(torchInOrt.logits, torchLogits) <= 1e-4);
    const ours = writeOnnxModel(analysis, imported.weights, { epsilon: imported.epsilon });
    const out = await runOrt(ours, input, 2);
    const diff = maxAbsDiff(out.logits, torchLogits);
    assert.ok(diff <= 1e-4, `max |Δ logits| = ${diff}`);
    const spread = torchLogits.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(spread > 0.1, `the logits are not trivial (max |logit| ${spread})`);
    // Softmax output, per image.
    for (let b = 0; b < 2; b++) {
      const row = out.logits.slice(b * CLASSES, (b + 1) * CLASSES);
      const e = row.map((v) => Math.exp(v - Math.max(...row)));
      const sum = e.reduce((x, y) => x + y, 0);
      e.forEach((v, i) => assert.ok(Math.abs(v / sum - out.probabilities[b * CLASSES + i]) < 1e-6));
    }
  });

  it('writes a model that onnx.checker accepts, with a symbolic batch, layer-named nodes and DenseNet Lab metadata', async () => {
    const bytes = writeOnnxModel(analysis, imported.weights, { epsilon: imported.epsilon });
    const file = path.join(dir, 'ours.onnx');
    fs.writeFileSync(file, bytes);
    const report = JSON.parse(runPython(ONNX_CHECK, [file])) as {
      outputs: string[];
      producer: string;
      opset: number;
      meta: Record<string, string>;
    };
    assert.deepStrictEqual(report.outputs, ['logits', 'probabilities']);
    assert.strictEqual(report.producer, 'DenseNet Lab');
    assert.strictEqual(report.opset, 13);
    assert.strictEqual(report.meta.source, 'DenseNet Lab');
    const model = onnx.ModelProto.decode(bytes);
    const names = model.graph!.node!.map((n) => n.name);
    for (const l of ['conv1_conv', 'conv1_bn', 'pool1', 'conv2_block1_concat', 'pool2_pool', 'avg_pool', 'predictions'])
      assert.ok(names.includes(l), l);
    assert.ok(!names.some((n) => n?.startsWith('zero_padding2d')), 'zero padding is folded into pads');
    assert.deepStrictEqual(
      model
        .graph!.node!.find((n) => n.name === 'conv1_conv')!
        .attribute!.find((a) => a.name === 'pads')!
        .ints!.map(Number),
      [3, 3, 3, 3],
    );
    // One image at a time, as a batch of 2 did.
    const one = await runOrt(bytes, input.subarray(0, 3 * SIZE * SIZE), 1);
    assert.ok(maxAbsDiff(one.logits, torchLogits.subarray(0, CLASSES)) <= 1e-4);
  });

  it('reads its own export back to the same weights; opset 17 works too', async () => {
    for (const opset of [13, 17]) {
      const bytes = writeOnnxModel(analysis, imported.weights, { epsilon: imported.epsilon, opset });
      const back = readOnnxModel(bytes);
      assert.strictEqual(back.opset, opset);
      assert.deepStrictEqual(back.inputShape, ['batch', 3, SIZE, SIZE]);
      const again = onnxLayerWeights(back.ops, analysis);
      assert.strictEqual(again.epsilon, Math.fround(imported.epsilon));
      for (const [name, ts] of imported.weights) assert.deepStrictEqual(again.weights.get(name), ts, name);
    }
    const out = await runOrt(
      writeOnnxModel(analysis, imported.weights, { epsilon: imported.epsilon, opset: 17 }),
      input,
      2,
    );
    assert.ok(maxAbsDiff(out.logits, torchLogits) <= 1e-4);
  });

  it("resolves weights given by Constant nodes and Identity, whatever the nodes' order in the file", () => {
    const expected = readOnnxModel(torchOnnx).ops;
    const model = onnx.ModelProto.decode(torchOnnx);
    const g = model.graph!;
    const stem = g.node![0];
    const at = g.initializer!.findIndex((t) => t.name === stem.input![1]);
    const [tensor] = g.initializer!.splice(at, 1);
    const attr = { name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: tensor };
    // Listed last: the reader orders the graph before it walks it.
    g.node!.push(
      onnx.NodeProto.create({ opType: 'Identity', name: 'alias', input: ['stem_w'], output: [tensor.name!] }),
      onnx.NodeProto.create({ opType: 'Constant', name: 'stem_w', output: ['stem_w'], attribute: [attr] }),
    );
    const ops = readOnnxModel(onnx.ModelProto.encode(model).finish()).ops;
    assert.deepStrictEqual(ops, expected);
  });

  it("reproduces a torchvision DenseNet-121's logits (seeded random weights, 64x64) through ONNX", async function () {
    this.timeout(300000);
    const dir121 = temp.make();
    runPython(TORCH_DENSENET_ONNX, [dir121, JSON.stringify({ arch: 'densenet121', classes: 1000, size: 64 })]);
    const preset = findPreset('densenet121')!;
    const a121 = analyze(preset.model, { height: 64, width: 64, channels: 3 }, 1000);
    const { weights, epsilon } = onnxLayerWeights(
      readOnnxModel(fs.readFileSync(path.join(dir121, 'densenet.onnx'))).ops,
      a121,
    );
    assert.strictEqual(
      weights.size,
      a121.layers.filter((l) => ['Conv2D', 'BatchNormalization', 'Dense'].includes(l.type)).length,
    );
    const out = await runOrt(
      writeOnnxModel(a121, weights, { epsilon }),
      readFloat32(path.join(dir121, 'input.bin')),
      2,
      64,
    );
    const diff = maxAbsDiff(out.logits, readFloat32(path.join(dir121, 'logits.bin')));
    assert.ok(diff <= 1e-4, `max |Δ logits| = ${diff}`);
  });

  it('reads a dense layer stored as MatMul + Add, and a Gemm without transB', () => {
    const bytes = writeOnnxModel(analysis, imported.weights, { epsilon: imported.epsilon });
    const expected = readOnnxModel(bytes).ops.at(-1)!;
    assert.ok(expected.op === 'dense');
    const [outDim, inDim] = expected.weight.shape;
    const kernelIn = new Float32Array(inDim * outDim); // [in, out]
    for (let o = 0; o < outDim; o++)
      for (let i = 0; i < inDim; i++) kernelIn[i * outDim + o] = expected.weight.values[o * inDim + i];
    const variant = (matmul: boolean) => {
      const model = onnx.ModelProto.decode(bytes);
      const g = model.graph!;
      const gemm = g.node!.find((n) => n.opType === 'Gemm')!;
      const w = g.initializer!.find((t) => t.name === gemm.input![1])!;
      w.dims = [inDim, outDim];
      w.rawData = new Uint8Array(kernelIn.buffer.slice(0));
      w.floatData = [];
      if (matmul) {
        const at = g.node!.indexOf(gemm);
        g.node!.splice(
          at,
          1,
          onnx.NodeProto.create({ opType: 'MatMul', name: 'fc', input: [gemm.input![0], w.name!], output: ['fc_out'] }),
          onnx.NodeProto.create({
            opType: 'Add',
            name: 'fc_bias',
            input: ['fc_out', gemm.input![2]],
            output: ['logits'],
          }),
        );
      } else gemm.attribute = [];
      return onnx.ModelProto.encode(model).finish();
    };
    for (const matmul of [true, false]) {
      const dense = readOnnxModel(variant(matmul)).ops.at(-1)!;
      assert.ok(dense.op === 'dense');
      assert.deepStrictEqual(dense.weight.shape, expected.weight.shape);
      assert.deepStrictEqual(dense.weight.values, expected.weight.values);
      assert.deepStrictEqual(dense.bias?.values, expected.bias?.values);
    }
  });

  it('names the first mismatching layer and both shapes; missing and extra nodes are errors', () => {
    const { ops } = readOnnxModel(torchOnnx);
    assert.throws(
      () => onnxLayerWeights(ops, analyze(MODEL, INPUT, 10)),
      /Layer predictions \(Dense\): ONNX node \/classifier\/Gemm has a weight \(\[out, in\]\) of shape \[5, 32\] but the model needs \[10, 32\]/,
    );
    assert.throws(
      () => onnxLayerWeights(ops, analyze({ ...MODEL, growthRate: 12 }, INPUT, CLASSES)),
      /Layer conv2_block1_1_conv \(Conv2D\): .* shape \[32, 16, 1, 1\] but the model needs \[48, 16, 1, 1\]/,
    );
    assert.throws(
      () => onnxLayerWeights(ops, analyze({ ...MODEL, blockConfig: [2, 3] }, INPUT, CLASSES)),
      /Layer conv3_block3_1_conv \(Conv2D\) meets ONNX node \/classifier\/Gemm, a dense, where the model needs a conv/,
    );
    assert.throws(() => onnxLayerWeights(ops.slice(0, -1), analysis), /no weights for layer predictions \(Dense\)/);
    assert.throws(
      () => onnxLayerWeights([...ops, ops[ops.length - 1]], analysis),
      /1 parametrised node\(s\) more than the model, first \/classifier\/Gemm/,
    );
    const noStemNorm = analyze({ ...MODEL, stem: { ...MODEL.stem, norm: false } }, INPUT, CLASSES);
    assert.throws(() => onnxLayerWeights(ops, noStemNorm), /Layer conv1_conv \(Conv2D\): ONNX node .* has a bias, but/);
  });

  it('leaves out a classifier of other classes with replaceClassifier, and says so', () => {
    const { ops } = readOnnxModel(torchOnnx);
    const tenClasses = onnxLayerWeights(ops, analyze(MODEL, INPUT, 10), { replaceClassifier: true });
    assert.deepStrictEqual(tenClasses.replacedClassifier, { fileShape: [5, 32], modelShape: [10, 32] });
    assert.ok(!tenClasses.weights.has('predictions'));
    assert.deepStrictEqual(tenClasses.weights.get('bn'), imported.weights.get('bn'));
    const same = onnxLayerWeights(ops, analysis, { replaceClassifier: true });
    assert.strictEqual(same.replacedClassifier, undefined);
    assert.deepStrictEqual(same.weights.get('predictions'), imported.weights.get('predictions'));
  });

  it('refuses bytes that are not ONNX, truncated files and external data, with clear errors', () => {
    assert.throws(() => readOnnxModel(new TextEncoder().encode('\u0089HDF\r\n\u001a\n not onnx')), /not an ONNX model/);
    assert.throws(() => readOnnxModel(new Uint8Array(0)), /not an ONNX model/);
    assert.throws(
      () => readOnnxModel(torchOnnx.subarray(0, Math.floor(torchOnnx.length / 2))),
      /not an ONNX model|damaged/,
    );
    const model = onnx.ModelProto.decode(torchOnnx);
    const w = model.graph!.initializer![0];
    w.rawData = new Uint8Array(0);
    w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    w.externalData = [{ key: 'location', value: 'weights.bin' }];
    assert.throws(
      () => readOnnxModel(onnx.ModelProto.encode(model).finish()),
      /external data file.*save_as_external_data=False/,
    );
    const short = onnx.ModelProto.decode(torchOnnx);
    short.graph!.initializer![0].rawData = short.graph!.initializer![0].rawData!.subarray(0, 8);
    assert.throws(
      () => readOnnxModel(onnx.ModelProto.encode(short).finish()),
      /holds 2 values instead of 16: the file is damaged/,
    );
  });

  it('refuses to export weights that do not fit the model, and opsets before 13', () => {
    const wrong = new Map(imported.weights);
    wrong.delete('pool2_conv');
    assert.throws(
      () => writeOnnxModel(analysis, wrong, { epsilon: 1e-5 }),
      /no tensors for layer pool2_conv \(Conv2D\)/,
    );
    assert.throws(
      () => writeOnnxModel(analysis, imported.weights, { epsilon: 1e-5, opset: 11 }),
      /operator set 13 or later/,
    );
  });
});
