/** Top-k predictions of one input. */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Prediction } from '../../protocol/features';
import type { Preprocessing } from '../../runs/preprocessing';
import { className } from './classes';
import { inputTensor } from './inputs';
import { read, tidyPlain } from './tensors';

/** The `k` most probable classes, most probable first. */
export function predictTopK(model: LayersModel, input: Float32Array, pre: Preprocessing, k = 5): Prediction[] {
  const probs = tidyPlain(() => read(model.predict(inputTensor(model, input)) as Tensor));
  return Array.from(probs, (probability, index) => ({ index, className: className(pre, index), probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, Math.max(0, k));
}
