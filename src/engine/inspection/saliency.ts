/** Saliency maps of a class for one input: vanilla gradients or SmoothGrad. */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { SaliencyResult } from '../../protocol/features';
import type { Preprocessing } from '../../runs/preprocessing';
import { tf } from '../tf';
import { argMax, checkClass, className, classScore } from './classes';
import { inputShape, inputTensor } from './inputs';
import { layerGraph } from './layerGraph';
import { range, read, scaleToUnit, tidyPlain } from './tensors';

export interface SaliencyOptions {
  /** Default: the predicted class. */
  classIndex?: number;
  /** SmoothGrad (Smilkov et al. 2017): average the maps of this many noisy copies; 0 or 1 = vanilla gradients. */
  samples?: number;
  /** SmoothGrad noise standard deviation as a fraction of the input's value range (default 0.15). */
  noise?: number;
  seed?: number;
}

const SMOOTHGRAD_BATCH = 8;

/** Vanilla-gradient saliency (Simonyan et al. 2014), or SmoothGrad with `samples` > 1. */
export function saliency(
  model: LayersModel,
  input: Float32Array,
  pre: Preprocessing,
  options: SaliencyOptions = {},
): SaliencyResult {
  const graph = layerGraph(model);
  const [height, width, channels] = inputShape(model);
  return tidyPlain(() => {
    const x = inputTensor(model, input);
    const scoresOf = (xs: Tensor) => graph.scores(graph.run(new Map([[graph.input, xs]]), [graph.scoreSource]));
    const probs = graph.probabilities(scoresOf(x)).dataSync();
    const classIndex = options.classIndex === undefined ? argMax(probs) : checkClass(options.classIndex, probs.length);
    const gradient = tf.grad((xs: Tensor) => classScore(scoresOf(xs), classIndex));

    const samples = Math.max(1, Math.floor(options.samples ?? 1));
    let map: Tensor;
    if (samples === 1) {
      map = tf.max(tf.abs(gradient(x)), -1);
    } else {
      const sigma = (options.noise ?? 0.15) * (tf.max(x).dataSync()[0] - tf.min(x).dataSync()[0] || 1);
      const seed = options.seed ?? 0;
      let sum: Tensor = tf.zeros([1, height, width]);
      for (let done = 0, chunk = 0; done < samples; chunk++) {
        const n = Math.min(SMOOTHGRAD_BATCH, samples - done);
        const noisy = tf.add(
          tf.tile(x, [n, 1, 1, 1]),
          tf.randomNormal([n, height, width, channels], 0, sigma, 'float32', seed + chunk),
        );
        sum = tf.add(sum, tf.sum(tf.max(tf.abs(gradient(noisy)), -1), 0, true));
        done += n;
      }
      map = tf.div(sum, samples);
    }
    return {
      saliency: read(scaleToUnit(map)),
      range: range(map),
      height,
      width,
      classIndex,
      className: className(pre, classIndex),
      probability: probs[classIndex],
      score: graph.scoreKind,
    };
  });
}
