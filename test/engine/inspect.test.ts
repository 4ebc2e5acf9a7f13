import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import type { LayersModel, Optimizer, Scalar, Tensor, Tensor4D, Variable } from '@tensorflow/tfjs';
import { analyze, type Analysis } from '../../src/core';
import type { ModelConfig } from '../../src/core/types';
import { Rng } from '../../src/engine/data/rng';
import { registerWasmTrainingKernels } from '../../src/engine/kernels/register';
import {
  activationMaximisation,
  featureLayers,
  gradCam,
  layerActivations,
  loadImageInput,
  predictTopK,
  releaseInspection,
  saliency,
} from '../../src/engine/inspect';
import { buildModel } from '../../src/engine/model';
import type { Preprocessing } from '../../src/engine/training/preprocessing';
import { tf } from '../../src/engine/tf';

const SIZE = 16;
const SQUARE = 5;
const CLASS_NAMES = ['white', 'black', 'checker'];
const PRE: Preprocessing = {
  input: { height: SIZE, width: SIZE, channels: 1 },
  classNames: CLASS_NAMES,
  normalization: { mean: [0.5], std: [0.25] },
};
const TINY: ModelConfig = {
  growthRate: 4,
  blockConfig: [2, 2],
  bnSize: 4,
  compression: 0.5,
  numInitFeatures: 8,
  stem: { kernelSize: 3, stride: 1, pool: 'none', norm: true },
  dropRate: 0,
};

interface Example {
  /** Normalised model input. */
  x: Float32Array;
  label: number;
  /** Top-left corner of the object. */
  top: number;
  left: number;
  /** 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right. */
  quadrant: number;
}

/**
 * A grey, slightly noisy 16x16 image with one 5x5 object inside a random quadrant; the object's kind is the
 * class (white square, black square, checkerboard). The evidence for the class is where the object is.
 */
function makeExample(rng: Rng): Example {
  const label = rng.int(3);
  const quadrant = rng.int(4);
  const top = (quadrant >> 1) * 8 + rng.int(8 - SQUARE + 1);
  const left = (quadrant & 1) * 8 + rng.int(8 - SQUARE + 1);
  const display = new Float32Array(SIZE * SIZE);
  for (let i = 0; i < display.length; i++) display[i] = 0.45 + 0.1 * rng.next();
  for (let y = 0; y < SQUARE; y++) {
    for (let x = 0; x < SQUARE; x++) {
      display[(top + y) * SIZE + left + x] = label === 0 ? 1 : label === 1 ? 0 : (x + y) % 2;
    }
  }
  const x = display.map((v) => (v - 0.5) / 0.25);
  return { x, label, top, left, quadrant };
}

const insideObject = (e: Example, y: number, x: number) =>
  y >= e.top && y < e.top + SQUARE && x >= e.left && x < e.left + SQUARE;

/** Sums of a row-major h x w map per image quadrant. */
function quadrantSums(map: Float32Array, h: number, w: number): number[] {
  const sums = [0, 0, 0, 0];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) sums[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)] += map[y * w + x];
  return sums;
}

const argMax = (v: ArrayLike<number>) => Array.from(v).reduce((best, x, i, a) => (x > a[best] ? i : best), 0);

/** Trains the model with Adam on fresh synthetic batches. */
function train(model: LayersModel, steps: number, rng: Rng): void {
  const optimizer: Optimizer = tf.train.adam(0.01);
  const variables = model.trainableWeights.map((w) => w.read() as Variable);
  try {
    for (let step = 0; step < steps; step++) {
      const batch = Array.from({ length: 32 }, () => makeExample(rng));
      tf.tidy(() => {
        const xs = tf.tensor4d(Float32Array.from(batch.flatMap((e) => Array.from(e.x))), [batch.length, SIZE, SIZE, 1]);
        const ys = tf.oneHot(
          tf.tensor1d(
            batch.map((e) => e.label),
            'int32',
          ),
          3,
        );
        const { grads } = tf.variableGrads(() => {
          const probs = model.apply(xs, { training: true }) as Tensor;
          return tf.neg(tf.mean(tf.sum(tf.mul(ys, tf.log(tf.clipByValue(probs, 1e-7, 1))), -1))) as Scalar;
        }, variables);
        optimizer.applyGradients(grads);
      });
    }
  } finally {
    optimizer.dispose();
  }
}

describe('engine: inspection (activations, Grad-CAM, saliency, activation maximisation)', function () {
  this.timeout(60_000);
  let analysis: Analysis;
  let model: LayersModel;
  let examples: Example[];
  let tmp: string;

  before(async () => {
    analysis = analyze(TINY, PRE.input, 3);
    // Training runs on WASM with the engine's training kernels (~0.1 s a batch; the CPU backend's convolution
    // gradients take ~4 s a batch); everything under test then runs on the CPU backend (the weights follow).
    assert.ok(await tf.setBackend('wasm'), 'the WASM backend initialises');
    registerWasmTrainingKernels();
    model = buildModel(analysis, { seed: 1 });
    const rng = new Rng(1);
    train(model, 40, rng);
    await tf.setBackend('cpu');
    examples = Array.from({ length: 12 }, () => makeExample(rng));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-inspect-'));
  });

  after(() => {
    releaseInspection(model);
    model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the trained tiny model solves the synthetic task (precondition of the localisation tests)', () => {
    const correct = examples.filter((e) => predictTopK(model, e.x, PRE, 1)[0].index === e.label).length;
    assert.ok(correct >= 0.9 * examples.length, `accuracy ${correct}/${examples.length}`);
  });

  describe('loadImageInput', () => {
    it('reads a grayscale PNG pixel for pixel and normalises it', async () => {
      const pixels = Uint8Array.from({ length: SIZE * SIZE }, (_, i) => (i * 7) % 256);
      const file = path.join(tmp, 'gray.png');
      await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 1 } })
        .png()
        .toFile(file);
      const img = await loadImageInput(file, PRE);
      assert.deepStrictEqual([img.height, img.width, img.channels], [SIZE, SIZE, 1]);
      for (let i = 0; i < pixels.length; i++) {
        assert.strictEqual(img.display[i], Math.fround(pixels[i] / 255), `display ${i}`);
        assert.ok(Math.abs(img.input[i] - (pixels[i] / 255 - 0.5) / 0.25) < 1e-5, `input ${i}`);
      }
    });

    it("resizes to the input size and converts RGB to the model's channels (luma for 1 channel)", async () => {
      const file = path.join(tmp, 'rgb.png');
      await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 100, b: 50 } } })
        .png()
        .toFile(file);
      const rgb = await loadImageInput(file, {
        ...PRE,
        input: { height: 16, width: 12, channels: 3 },
        normalization: null,
      });
      assert.deepStrictEqual([rgb.height, rgb.width, rgb.channels, rgb.display.length], [16, 12, 3, 16 * 12 * 3]);
      for (let p = 0; p < 16 * 12; p++) {
        assert.deepStrictEqual(
          Array.from(rgb.display.subarray(3 * p, 3 * p + 3)),
          [200, 100, 50].map((v) => Math.fround(v / 255)),
        );
      }
      assert.deepStrictEqual(rgb.input, rgb.display, 'no normalisation: input = display');
      const gray = await loadImageInput(file, PRE);
      const luma = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255;
      assert.ok(gray.display.every((v) => Math.abs(v - luma) < 1e-6));
    });
  });

  describe('predictTopK', () => {
    it('returns the k most probable classes, sorted, with names; probabilities sum to at most 1', () => {
      const e = examples[0];
      const all = predictTopK(model, e.x, PRE, 5);
      assert.strictEqual(all.length, 3, 'k is capped at the number of classes');
      assert.deepStrictEqual(all.map((p) => p.index).sort(), [0, 1, 2]);
      for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].probability >= all[i].probability);
      const sum = all.reduce((s, p) => s + p.probability, 0);
      assert.ok(sum <= 1 + 1e-6 && sum > 0.999, `sum ${sum}`);
      for (const p of all) assert.strictEqual(p.className, CLASS_NAMES[p.index]);
      const probs = tf.tidy(() => (model.predict(tf.tensor4d(e.x, [1, SIZE, SIZE, 1])) as Tensor).dataSync());
      assert.ok(Math.abs(all[0].probability - Math.max(...probs)) < 1e-6);
      const top2 = predictTopK(model, e.x, PRE, 2);
      assert.deepStrictEqual(top2, all.slice(0, 2));
    });
  });

  describe('featureLayers', () => {
    it('lists the 4D layers with the analysis shapes and their block from the Keras name', () => {
      const layers = featureLayers(model);
      const expected = analysis.layers.filter((l) => l.outputShape.length === 3 && l.type !== 'InputLayer');
      assert.deepStrictEqual(
        layers.map((l) => l.name),
        expected.map((l) => l.name),
      );
      for (const [i, l] of layers.entries()) {
        assert.deepStrictEqual(l.outputShape, expected[i].outputShape, l.name);
        assert.strictEqual(l.type, expected[i].type, l.name);
        const group = analysis.groups[expected[i].group];
        assert.strictEqual(l.block, group.name, `${l.name} block`);
        assert.strictEqual(l.group, group.kind, `${l.name} group`);
        assert.strictEqual(l.blockLayer, expected[i].blockLayer, `${l.name} blockLayer`);
      }
      const byName = new Map(layers.map((l) => [l.name, l]));
      assert.deepStrictEqual(byName.get('conv3_block2_concat'), {
        name: 'conv3_block2_concat',
        type: 'Concatenate',
        outputShape: [8, 8, 16],
        block: 'conv3',
        group: 'block',
        blockLayer: 2,
      });
      assert.ok(!byName.has('avg_pool') && !byName.has('predictions') && !byName.has('input_1'));
    });
  });

  describe('layerActivations', () => {
    it('have the analysis shapes and equal the layers computed directly', () => {
      const e = examples[1];
      const names = ['conv1_conv', 'conv1_relu', 'conv2_block1_concat', 'relu', 'avg_pool', 'predictions'];
      const acts = layerActivations(model, e.x, names);
      const byName = new Map(acts.map((a) => [a.name, a]));
      for (const name of names) {
        const info = analysis.layers.find((l) => l.name === name);
        assert.deepStrictEqual(byName.get(name)?.shape, info?.outputShape, name);
        assert.strictEqual(
          byName.get(name)?.data.length,
          info?.outputShape.reduce((a, b) => a * b, 1),
        );
      }
      const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = 1e-4) => {
        assert.strictEqual(a.length, b.length, what);
        for (let i = 0; i < a.length; i++)
          assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
      };
      const x = tf.tensor4d(e.x, [1, SIZE, SIZE, 1]);
      try {
        // The stem convolution by hand (no bias), and the prediction of the whole model.
        const kernel = model.getLayer('conv1_conv').getWeights()[0] as Tensor4D;
        close(
          byName.get('conv1_conv')!.data,
          tf.tidy(() => tf.conv2d(x, kernel, 1, 'same').dataSync()),
          'conv1_conv',
        );
        close(
          byName.get('predictions')!.data,
          tf.tidy(() => (model.predict(x) as Tensor).dataSync()),
          'predictions',
        );
        // A dense layer's concatenation starts with its input; global pooling is the mean of the feature maps.
        const concat = byName.get('conv2_block1_concat')!;
        const relu1 = byName.get('conv1_relu')!;
        const c0 = relu1.shape[2];
        const c1 = concat.shape[2];
        close(
          Array.from({ length: SIZE * SIZE * c0 }, (_, i) => concat.data[Math.floor(i / c0) * c1 + (i % c0)]),
          relu1.data,
          'concat prefix',
        );
        const relu = byName.get('relu')!;
        close(byName.get('avg_pool')!.data, relu.stats.channelMean, 'avg_pool = mean of relu');
        // And a sub-model built directly, fresh.
        const direct = tf.model({
          inputs: model.inputs,
          outputs: model.getLayer('conv2_block1_concat').output as never,
        });
        close(
          concat.data,
          tf.tidy(() => (direct.predict(x) as Tensor).dataSync()),
          'sub-model',
        );
      } finally {
        x.dispose();
      }
      const s = byName.get('relu')!.stats;
      assert.strictEqual(s.channelMin.length, 16);
      assert.ok(s.min >= 0 && s.min <= s.mean && s.mean <= s.max);
      assert.strictEqual(s.max, Math.max(...s.channelMax));
    });

    it('caches the sub-model per layer list; releasing it leaves the model intact', () => {
      const e = examples[2];
      const first = layerActivations(model, e.x, ['pool2_conv', 'bn']);
      const again = layerActivations(model, e.x, ['pool2_conv', 'bn']);
      assert.deepStrictEqual(again, first);
      releaseInspection(model);
      const before = tf.memory().numTensors;
      const after = layerActivations(model, e.x, ['pool2_conv', 'bn']);
      assert.deepStrictEqual(after, first);
      assert.strictEqual(tf.memory().numTensors, before);
      assert.deepStrictEqual(layerActivations(model, e.x, []), []);
      assert.throws(() => layerActivations(model, new Float32Array(3), ['bn']), /the model takes 16x16x1/);
    });
  });

  describe('gradCam', () => {
    it('on the default layer (relu) is CAM: ReLU(sum_k W[k, c] A_k) from the classifier weights (logit score)', () => {
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

  describe('saliency', () => {
    /** Mean saliency on the object over the mean elsewhere. */
    const contrast = (e: Example, map: Float32Array) => {
      let inside = 0;
      let outside = 0;
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          if (insideObject(e, y, x)) inside += map[y * SIZE + x];
          else outside += map[y * SIZE + x];
        }
      }
      return inside / (SQUARE * SQUARE) / (outside / (SIZE * SIZE - SQUARE * SQUARE));
    };

    it('is higher on the object than around it, scaled to [0, 1]', () => {
      let hits = 0;
      for (const e of examples.slice(0, 8)) {
        const s = saliency(model, e.x, PRE, { classIndex: e.label });
        assert.deepStrictEqual(
          [s.height, s.width, s.saliency.length, s.score, s.classIndex],
          [SIZE, SIZE, SIZE * SIZE, 'logit', e.label],
        );
        assert.ok(Math.abs(Math.max(...s.saliency) - 1) < 1e-6 && Math.min(...s.saliency) >= 0);
        if (contrast(e, s.saliency) > 1.5) hits++;
      }
      assert.ok(hits >= 7, `object mean above 1.5x the background mean for ${hits}/8`);
      const predicted = saliency(model, examples[0].x, PRE);
      assert.strictEqual(predicted.classIndex, predictTopK(model, examples[0].x, PRE, 1)[0].index);
    });

    it('SmoothGrad: without noise it is the vanilla map; with noise it is seeded and still on the object', () => {
      const e = examples[0];
      const vanilla = saliency(model, e.x, PRE, { classIndex: e.label });
      const noiseless = saliency(model, e.x, PRE, { classIndex: e.label, samples: 3, noise: 0 });
      for (let i = 0; i < vanilla.saliency.length; i++)
        assert.ok(Math.abs(noiseless.saliency[i] - vanilla.saliency[i]) < 1e-5);
      let hits = 0;
      for (const ex of examples.slice(0, 4)) {
        const smooth = saliency(model, ex.x, PRE, { classIndex: ex.label, samples: 4, noise: 0.05, seed: 3 });
        if (contrast(ex, smooth.saliency) > 1) hits++;
        if (ex === e) {
          assert.deepStrictEqual(
            saliency(model, ex.x, PRE, { classIndex: ex.label, samples: 4, noise: 0.05, seed: 3 }),
            smooth,
            'same seed, same map',
          );
          assert.notDeepStrictEqual(smooth.saliency, vanilla.saliency);
        }
      }
      assert.ok(hits >= 3, `SmoothGrad object mean above the background mean for ${hits}/4`);
    });
  });

  describe('activationMaximisation', () => {
    it("increases a channel's mean activation and returns a display image in [0, 1]", async () => {
      const progress: { step: number; value: number; pixels?: number }[] = [];
      const result = await activationMaximisation(
        model,
        PRE,
        { layerName: 'relu', channel: 2 },
        {
          steps: 16,
          seed: 5,
          progressEvery: 8,
          onProgress: (step, value, image) => progress.push({ step, value, pixels: image?.length }),
        },
      );
      assert.strictEqual(result.objective, 'channel-mean');
      assert.strictEqual(result.cancelled, false);
      assert.strictEqual(result.values.length, 16);
      assert.ok(result.values[15] > result.values[0], `${result.values[0]} -> ${result.values[15]}`);
      assert.deepStrictEqual(
        [result.height, result.width, result.channels, result.image.length],
        [SIZE, SIZE, 1, SIZE * SIZE],
      );
      assert.ok(result.image.every((v) => v >= 0 && v <= 1));
      assert.deepStrictEqual(
        progress.map((p) => [p.step, p.pixels]),
        [
          [8, 256],
          [16, 256],
        ],
      );
      assert.strictEqual(progress[1].value, result.values[15]);
    });

    it('increases a class logit', async () => {
      const result = await activationMaximisation(model, PRE, { classIndex: 2 }, { steps: 12, seed: 1 });
      assert.strictEqual(result.objective, 'logit');
      assert.ok(result.values[11] > result.values[0] + 1, `${result.values[0]} -> ${result.values[11]}`);
    });

    it('stops when cancelled, also from a timer while it runs (it yields to the event loop)', async () => {
      let polls = 0;
      const polled = await activationMaximisation(
        model,
        PRE,
        { classIndex: 0 },
        { steps: 50, shouldCancel: () => ++polls > 3 },
      );
      assert.strictEqual(polled.cancelled, true);
      assert.strictEqual(polled.values.length, 3);
      assert.strictEqual(polled.image.length, SIZE * SIZE);

      let cancel = false;
      setTimeout(() => (cancel = true), 30);
      const timed = await activationMaximisation(
        model,
        PRE,
        { layerName: 'conv1_conv', channel: 0 },
        { steps: 1_000_000, shouldCancel: () => cancel },
      );
      assert.strictEqual(timed.cancelled, true);
      assert.ok(timed.values.length > 0 && timed.values.length < 1_000_000);

      await assert.rejects(activationMaximisation(model, PRE, { layerName: 'relu', channel: 16 }), /out of range/);
    });
  });

  it('leaves no tensor behind', async () => {
    const e = examples[6];
    const before = tf.memory().numTensors;
    predictTopK(model, e.x, PRE);
    layerActivations(model, e.x, ['conv1_conv', 'conv3_block2_concat', 'avg_pool']);
    featureLayers(model);
    gradCam(model, e.x, PRE);
    gradCam(model, e.x, PRE, { layerName: 'conv3_block1_concat', classIndex: 1 });
    saliency(model, e.x, PRE);
    saliency(model, e.x, PRE, { samples: 3 });
    await activationMaximisation(model, PRE, { layerName: 'pool2_conv', channel: 1 }, { steps: 3, blurEvery: 1 });
    await activationMaximisation(model, PRE, { classIndex: 1 }, { steps: 3, shouldCancel: () => false });
    await activationMaximisation(model, { ...PRE, normalization: null }, { classIndex: 1 }, { steps: 2 });
    await assert.rejects(activationMaximisation(model, PRE, { classIndex: 9 }));
    assert.throws(() => gradCam(model, e.x, PRE, { layerName: 'avg_pool' }));
    assert.strictEqual(tf.memory().numTensors, before);
  });
});
