/** Top-k predictions of one input, and the classifier's logits (before its softmax). */
import type { LayersModel, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import type { Prediction } from '../../protocol/features';
import type { Preprocessing } from '../../runs/preprocessing';
import { tf } from '../tf';
import { className } from './classes';
import { inputTensor } from './inputs';
import { read, tidyPlain } from './tensors';

/** The `k` most probable classes, most probable first. */
export function predictTopK(model: LayersModel, input: Float32Array, pre: Preprocessing, k = 5): Prediction[] {
  return topK(
    tidyPlain(() => read(model.predict(inputTensor(model, input)) as Tensor)),
    pre,
    k,
  );
}

/** The `k` largest of one input's class probabilities, most probable first. */
export function topK(probs: Float32Array, pre: Preprocessing, k: number): Prediction[] {
  return Array.from(probs, (probability, index) => ({ index, className: className(pre, index), probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, Math.max(0, k));
}

/**
 * The logits of a batch, [n, classes]: the input of the softmax of the `predictions` layer (pooled features ×
 * kernel + bias), what torchvision's DenseNets output.
 */
export function logits(model: LayersModel, images: Tensor4D): Float32Array {
  return tidyPlain(() => {
    const head = model.getLayer('predictions');
    const features = tf.model({ inputs: model.inputs, outputs: head.input as never }).predict(images) as Tensor2D;
    const [kernel, bias] = head.getWeights();
    return read(tf.add(tf.matMul(features, kernel as Tensor2D), bias));
  });
}
