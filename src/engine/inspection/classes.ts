/** Class indices, names and scores: what Grad-CAM, saliency and class maximisation choose and report. */
import type { Scalar, Tensor2D } from '@tensorflow/tfjs';
import type { Preprocessing } from '../../runs/preprocessing';
import { tf } from '../tf';

/** The name of class `index` (its index when the run has no name for it). */
export function className(pre: Preprocessing, index: number): string {
  return pre.classNames[index] ?? String(index);
}

/** `index`, if it is a class of a model with `classes` outputs; else an error that says the range. */
export function checkClass(index: number, classes: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= classes)
    throw new Error(`Class index ${index} is out of range: the model has ${classes} classes (0-${classes - 1})`);
  return index;
}

/** The class-c score summed over the batch: its gradient is each example's own gradient. */
export function classScore(scores: Tensor2D, c: number): Scalar {
  return tf.sum(tf.slice(scores, [0, c], [-1, 1]));
}

/** The index of the largest value (the first of equals). */
export function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
