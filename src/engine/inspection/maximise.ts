/**
 * Activation maximisation: the input image that maximises one channel of a layer, or one class's score, by
 * regularised gradient ascent.
 */
import type { LayersModel, Scalar, Tensor, Tensor4D } from '@tensorflow/tfjs';
import type { MaximisationResult, MaximiseTarget } from '../../protocol/features';
import { Rng } from '../data/rng';
import type { Preprocessing } from '../../runs/preprocessing';
import { tf } from '../tf';
import { checkClass, classScore } from './classes';
import { inputShape } from './inputs';
import { layerGraph } from './layerGraph';

export interface MaximisationOptions {
  /** Gradient-ascent steps (default 128). */
  steps?: number;
  /** Step size in display units ([0, 1] pixels) per step of the RMS-normalised gradient (default 0.05). */
  learningRate?: number;
  /** Random shift (roll) of up to this many pixels each way before each step (default 2). */
  jitter?: number;
  /** Gaussian blur every this many steps; 0 = never (default 4). */
  blurEvery?: number;
  blurSigma?: number;
  /** Decay of the image towards mid-grey: (x - 0.5) *= 1 - l2 each step (default 1e-4). */
  l2?: number;
  seed?: number;
  /** onProgress is called every this many steps and after the last (default 8). */
  progressEvery?: number;
  /** `step`: steps done (1-based); `value`: the objective of the last step; `image`: the current HWC display image in [0, 1]. */
  onProgress?: (step: number, value: number, image?: Float32Array) => void;
  /** Polled before every step; true stops the ascent (the result so far comes back with cancelled: true). */
  shouldCancel?: () => boolean;
}

/** Rolls a [N, H, W, C] tensor by (dy, dx) pixels, wrapping around (numpy.roll on axes 1 and 2). */
function roll(x: Tensor4D, dy: number, dx: number): Tensor4D {
  const [, h, w] = x.shape;
  let out = x;
  const sy = ((dy % h) + h) % h;
  if (sy !== 0)
    out = tf.concat(
      [tf.slice(out, [0, h - sy, 0, 0], [-1, sy, -1, -1]), tf.slice(out, [0, 0, 0, 0], [-1, h - sy, -1, -1])],
      1,
    );
  const sx = ((dx % w) + w) % w;
  if (sx !== 0)
    out = tf.concat(
      [tf.slice(out, [0, 0, w - sx, 0], [-1, -1, sx, -1]), tf.slice(out, [0, 0, 0, 0], [-1, -1, w - sx, -1])],
      2,
    );
  return out;
}

/** A separable Gaussian blur of a [1, H, W, C] image with reflected borders. */
function gaussianBlur(x: Tensor4D, sigma: number): Tensor4D {
  const [, h, w, c] = x.shape;
  const radius = Math.min(Math.max(1, Math.ceil(2 * sigma)), h - 1, w - 1);
  if (sigma <= 0 || radius < 1) return x;
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  const kernel = tf.tensor1d(taps.map((t) => t / total));
  const vertical = tf.tile(tf.reshape(kernel, [2 * radius + 1, 1, 1, 1]), [1, 1, c, 1]) as Tensor4D;
  const horizontal = tf.tile(tf.reshape(kernel, [1, 2 * radius + 1, 1, 1]), [1, 1, c, 1]) as Tensor4D;
  const padded = tf.mirrorPad(
    x,
    [
      [0, 0],
      [radius, radius],
      [radius, radius],
      [0, 0],
    ],
    'reflect',
  );
  return tf.depthwiseConv2d(tf.depthwiseConv2d(padded, vertical, 1, 'valid'), horizontal, 1, 'valid');
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Activation maximisation by gradient ascent on the input (Erhan et al. 2009; the regularisers of Yosinski et
 * al. 2015): from faint noise around mid-grey in display space, each step shifts the image randomly (jitter),
 * follows the RMS-normalised gradient of the objective through the normalisation, decays towards grey (l2),
 * blurs every few steps and clips to [0, 1]. Waits for the event loop between steps, so cancel requests
 * arrive; `shouldCancel` is polled before each step.
 */
export async function activationMaximisation(
  model: LayersModel,
  pre: Preprocessing,
  target: MaximiseTarget,
  options: MaximisationOptions = {},
): Promise<MaximisationResult> {
  const graph = layerGraph(model);
  const [height, width, channels] = inputShape(model);
  const steps = Math.max(0, Math.floor(options.steps ?? 128));
  const learningRate = options.learningRate ?? 0.05;
  const jitter = Math.max(0, Math.floor(options.jitter ?? 2));
  const blurEvery = Math.max(0, Math.floor(options.blurEvery ?? 4));
  const blurSigma = options.blurSigma ?? 0.5;
  const decay = 1 - (options.l2 ?? 1e-4);
  const progressEvery = Math.max(1, Math.floor(options.progressEvery ?? 8));
  const rng = new Rng(options.seed ?? 0);

  // The objective of a display-space image batch, built from the graph (only the layers it needs run).
  let objectiveKind: MaximisationResult['objective'];
  let targets: string[];
  let reduce: (values: Map<string, Tensor>) => Scalar;
  if ('classIndex' in target) {
    checkClass(target.classIndex, model.outputs[0].shape.at(-1) as number); // classes: the last axis
    objectiveKind = graph.scoreKind;
    targets = [graph.scoreSource];
    reduce = (values) => classScore(graph.scores(values), target.classIndex);
  } else {
    const { layerName, channel } = target;
    if (!graph.has(layerName)) throw new Error(`The model has no layer ${layerName}`);
    const shape = model.getLayer(layerName).outputShape as number[];
    const units = shape[shape.length - 1];
    if (!Number.isInteger(channel) || channel < 0 || channel >= units)
      throw new Error(`Layer ${layerName} has ${units} channels: channel ${channel} is out of range`);
    objectiveKind = 'channel-mean';
    targets = [layerName];
    reduce = (values) => {
      const a = values.get(layerName) as Tensor;
      const begin = a.shape.map((_, i) => (i === a.rank - 1 ? channel : 0));
      const size = a.shape.map((_, i) => (i === a.rank - 1 ? 1 : -1));
      return tf.mean(tf.slice(a, begin, size));
    };
  }

  const norm = pre.normalization;
  const mean = norm ? tf.tensor1d(norm.mean) : undefined;
  const invStd = norm ? tf.tensor1d(norm.std.map((s) => 1 / s)) : undefined;
  const objective = (display: Tensor): Scalar => {
    const x = mean && invStd ? tf.mul(tf.sub(display, mean), invStd) : display;
    return reduce(graph.run(new Map([[graph.input, x]]), targets));
  };

  const noise = Float32Array.from({ length: height * width * channels }, () => 0.5 + 0.1 * (rng.next() - 0.5));
  let image: Tensor4D = tf.tensor4d(noise, [1, height, width, channels]);
  const values: number[] = [];
  let cancelled = false;
  try {
    for (let step = 0; step < steps; step++) {
      await yieldToEventLoop();
      if (options.shouldCancel?.()) {
        cancelled = true;
        break;
      }
      const dy = jitter > 0 ? rng.int(2 * jitter + 1) - jitter : 0;
      const dx = jitter > 0 ? rng.int(2 * jitter + 1) - jitter : 0;
      const current = image;
      const [next, value] = tf.tidy(() => {
        const shifted = roll(current, dy, dx);
        const { value: v, grad } = tf.valueAndGrad(objective)(shifted);
        const g = roll(grad as Tensor4D, -dy, -dx);
        const rms = tf.sqrt(tf.add(tf.mean(tf.square(g)), 1e-16));
        let updated: Tensor4D = tf.add(current, tf.mul(tf.div(g, rms), learningRate));
        updated = tf.add(tf.mul(tf.sub(updated, 0.5), decay), 0.5);
        if (blurEvery > 0 && (step + 1) % blurEvery === 0) updated = gaussianBlur(updated, blurSigma);
        return [tf.clipByValue(updated, 0, 1) as Tensor4D, v];
      });
      image = next as Tensor4D;
      current.dispose();
      const objectiveValue = (await value.data())[0];
      value.dispose();
      values.push(objectiveValue);
      if (options.onProgress && ((step + 1) % progressEvery === 0 || step === steps - 1)) {
        options.onProgress(step + 1, objectiveValue, Float32Array.from(await image.data()));
      }
    }
    return {
      image: Float32Array.from(await image.data()),
      height,
      width,
      channels,
      values,
      cancelled,
      objective: objectiveKind,
    };
  } finally {
    tf.dispose([image, ...(mean ? [mean] : []), ...(invStd ? [invStd] : [])]);
  }
}
