/** Plain results out of tensors: tidy scopes that return plain data, copies of values, scaling to [0, 1]. */
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../tf';

/** Runs `fn` in a tidy scope that disposes every tensor it makes; `fn` returns plain data. */
export function tidyPlain<T>(fn: () => T): T {
  let result: { value: T } | undefined;
  tf.tidy(() => {
    result = { value: fn() };
  });
  return (result as { value: T }).value;
}

/** A copy of a tensor's values (the CPU backend's dataSync returns its own buffer). */
export function read(t: Tensor): Float32Array {
  return Float32Array.from(t.dataSync() as Float32Array);
}

/** Scales a non-negative map by its maximum, to [0, 1]; an all-zero map stays zero. */
export function scaleToUnit(t: Tensor): Tensor {
  const max = tf.max(t);
  return tf.div(t, tf.maximum(max, 1e-12));
}

/** The smallest and largest values of a tensor. */
export function range(t: Tensor): [number, number] {
  return [tf.min(t).dataSync()[0], tf.max(t).dataSync()[0]];
}
