/**
 * What the main thread and the workers do alike to a replica: read and write its weights as one flat
 * Float32Array (layout in messages.ts), and evaluate a shard.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { tf } from '../tf';

type Weight = LayersModel['weights'][number];

export function shapesOf(weights: Weight[]): number[][] {
  return weights.map((w) => [...w.shape] as number[]);
}

export function sizeOf(shapes: number[][]): number {
  return shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
}

/** The weights' values, concatenated (row-major each) into one array. */
export function readFlat(weights: Weight[]): Float32Array {
  const out = new Float32Array(sizeOf(shapesOf(weights)));
  let offset = 0;
  for (const w of weights) {
    const v = w.read().dataSync() as Float32Array;
    out.set(v, offset);
    offset += v.length;
  }
  return out;
}

/** Writes consecutive pieces of `data`, from `offset`, into the weights; returns the offset after them. */
export function writeFlat(weights: Weight[], data: Float32Array, offset = 0): number {
  for (const w of weights) {
    const shape = [...w.shape] as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    if (offset + n > data.length) throw new Error(`weights: ${data.length} values are too few (${w.name} needs values ${offset}..${offset + n})`);
    const piece = data.subarray(offset, offset + n);
    tf.tidy(() => {
      w.write(tf.tensor(piece, shape, 'float32'));
    });
    offset += n;
  }
  return offset;
}

/** Sets every weight: trainable ones, then non-trainable ones, from one flat array. */
export function writeAllWeights(model: LayersModel, data: Float32Array): void {
  const end = writeFlat(model.nonTrainableWeights, data, writeFlat(model.trainableWeights, data, 0));
  if (end !== data.length) throw new Error(`weights: expected ${end} values, got ${data.length}`);
}

export function readAllWeights(model: LayersModel): Float32Array {
  const t = readFlat(model.trainableWeights);
  const n = readFlat(model.nonTrainableWeights);
  const out = new Float32Array(t.length + n.length);
  out.set(t, 0);
  out.set(n, t.length);
  return out;
}

/**
 * Inference on a shard (as `evaluate` in train.ts): the shard's mean categorical cross-entropy (clipped as
 * Keras) and the predicted class of each example.
 */
export function evaluateShard(model: LayersModel, x: Float32Array, y: Int32Array, size: number, classes: number): { loss: number; predicted: Int32Array } {
  const [h, w, ch] = (model.inputs[0].shape as number[]).slice(1);
  return tf.tidy(() => {
    const probs = model.predict(tf.tensor4d(x, [size, h, w, ch])) as Tensor;
    const ys = tf.oneHot(tf.tensor1d(y, 'int32'), classes);
    const loss = tf.neg(tf.mean(tf.sum(tf.mul(ys, tf.log(tf.clipByValue(probs, 1e-7, 1 - 1e-7))), -1)));
    return { loss: loss.dataSync()[0], predicted: Int32Array.from(tf.argMax(probs, -1).dataSync()) };
  });
}
