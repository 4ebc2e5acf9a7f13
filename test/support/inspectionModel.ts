/**
 * The inspection tests' model and data: a tiny DenseNet trained (once per test run) to tell three kinds of 5x5
 * object apart on a grey 16x16 image, wherever the object is, so that Grad-CAM and saliency maps can be checked
 * against where the evidence really is.
 */
import type { LayersModel, Optimizer, Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import * as assert from 'assert';
import { analyze, type Analysis } from '../../src/core';
import type { ModelConfig } from '../../src/core/types';
import { Rng } from '../../src/engine/data/rng';
import { releaseInspection } from '../../src/engine/inspection';
import { registerWasmTrainingKernels } from '../../src/engine/kernels/register';
import { buildModel } from '../../src/engine/model';
import type { Preprocessing } from '../../src/runs/preprocessing';
import { tf } from '../../src/engine/tf';

export const SIZE = 16;
export const SQUARE = 5;
export const CLASS_NAMES = ['white', 'black', 'checker'];
export const PRE: Preprocessing = {
  input: { height: SIZE, width: SIZE, channels: 1 },
  classNames: CLASS_NAMES,
  normalization: { mean: [0.5], std: [0.25] },
};
export const TINY: ModelConfig = {
  growthRate: 4,
  blockConfig: [2, 2],
  bnSize: 4,
  compression: 0.5,
  numInitFeatures: 8,
  stem: { kernelSize: 3, stride: 1, pool: 'none', norm: true },
  dropRate: 0,
};

export interface Example {
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
export function makeExample(rng: Rng): Example {
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

export const insideObject = (e: Example, y: number, x: number) =>
  y >= e.top && y < e.top + SQUARE && x >= e.left && x < e.left + SQUARE;

/** Sums of a row-major h x w map per image quadrant. */
export function quadrantSums(map: Float32Array, h: number, w: number): number[] {
  const sums = [0, 0, 0, 0];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) sums[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)] += map[y * w + x];
  return sums;
}

export const argMax = (v: ArrayLike<number>) => Array.from(v).reduce((best, x, i, a) => (x > a[best] ? i : best), 0);

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

export interface TrainedModel {
  analysis: Analysis;
  model: LayersModel;
  /** Fresh examples the model was not trained on. */
  examples: Example[];
}

let trained: Promise<TrainedModel> | undefined;

async function trainModel(): Promise<TrainedModel> {
  const analysis = analyze(TINY, PRE.input, 3);
  // Training runs on WASM with the engine's training kernels (~0.1 s a batch; the CPU backend's convolution
  // gradients take ~4 s a batch); everything under test then runs on the CPU backend (the weights follow).
  assert.ok(await tf.setBackend('wasm'), 'the WASM backend initialises');
  registerWasmTrainingKernels();
  const model = buildModel(analysis, { seed: 1 });
  const rng = new Rng(1);
  train(model, 40, rng);
  await tf.setBackend('cpu');
  const examples = Array.from({ length: 12 }, () => makeExample(rng));
  return { analysis, model, examples };
}

/**
 * Mocha hooks for a suite that inspects the trained model: trained by the first suite that asks (the suites of
 * a run share it), the CPU backend before each suite. The model is disposed when the whole run ends.
 */
export function useTrainedModel(): () => TrainedModel {
  let current: TrainedModel | undefined;
  before(async function () {
    this.timeout(60_000);
    trained ??= trainModel();
    current = await trained;
    await tf.setBackend('cpu');
  });
  return () => {
    assert.ok(current, 'the trained model is ready (inside a test)');
    return current;
  };
}

// A root hook (registered when the first suite imports this module): the model lives until every suite is done.
after(async () => {
  const done = await trained;
  trained = undefined;
  if (!done) return;
  releaseInspection(done.model);
  done.model.dispose();
});
