/**
 * What a model is trained to predict, and how its outputs are scored: the loss of each task and what counts as
 * right. `Batch.y` holds the targets, with a length that depends on the task (../data/batches.ts):
 *   classification  one class per example                 softmax [n, C]     categorical cross-entropy
 *   multilabel      C zeros and ones per example          sigmoid [n, C]     binary cross-entropy
 *   segmentation    a class per pixel, -1 where ignored    softmax [n, H, W, C] per-pixel cross-entropy
 * Losses are the weighted means PyTorch computes (CrossEntropyLoss(weight, ignore_index), BCELoss with
 * pos_weight), with probabilities clipped to [1e-7, 1 - 1e-7] as Keras does.
 */
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import type { Analysis, Task, TrainingConfig } from '../../core';
import { tf } from '../tf';

/** The task of a model and the weights of its loss. Plain data: workers rebuild it from the analysis and config. */
export interface Objective {
  task: Task;
  /** Classes (labels for multilabel). */
  classes: number;
  /** training.lossWeights: per class (per label: the weight of its positives); undefined: all 1. */
  weights?: readonly number[];
}

export function objectiveOf(
  analysis: Pick<Analysis, 'task' | 'classes'>,
  c?: Pick<TrainingConfig, 'lossWeights'>,
): Objective {
  return { task: analysis.task, classes: analysis.classes, ...(c?.lossWeights ? { weights: [...c.lossWeights] } : {}) };
}

/** Values of `Batch.y` per example: 1, the labels, or the pixels of the output. */
export function targetStride(o: Objective, outputShape: readonly number[]): number {
  if (o.task === 'classification') return 1;
  if (o.task === 'multilabel') return o.classes;
  return outputShape[0] * outputShape[1];
}

const EPS = 1e-7;

/**
 * The mean loss of a batch's outputs against its targets `y`, the sum of the weights it is a mean over
 * (examples, or the weights of the labelled pixels: combining shards weights each by it), and its correct
 * decisions: examples (classification), label decisions at 0.5 (multilabel) or labelled pixels (segmentation).
 */
export interface Scored {
  loss: Scalar;
  correct: Scalar;
  weight: Scalar;
}

/** Scores `output` (the model's probabilities) against the targets of `size` examples. Call inside a tidy. */
export function scoreOutput(output: Tensor, y: Int32Array, size: number, o: Objective): Scored {
  switch (o.task) {
    case 'classification':
      return classificationLoss(output, y.subarray(0, size), o);
    case 'multilabel':
      return multilabelLoss(output, y.subarray(0, size * o.classes), size, o);
    case 'segmentation':
      return segmentationLoss(output, y, o);
  }
}

/** Weighted categorical cross-entropy over rows of `probs` ([m, C]) with one-hot rows `oneHot` (all zero: ignored). */
function weightedCrossEntropy(probs: Tensor, oneHot: Tensor, o: Objective): { loss: Scalar; weight: Scalar } {
  const nll = tf.neg(tf.sum(tf.mul(oneHot, tf.log(tf.clipByValue(probs, EPS, 1 - EPS))), -1));
  const w = o.weights ? tf.sum(tf.mul(oneHot, tf.tensor1d(o.weights as number[])), -1) : tf.sum(oneHot, -1);
  const weight = tf.sum(w) as Scalar;
  return { loss: tf.div(tf.sum(tf.mul(w, nll)), tf.maximum(weight, EPS)) as Scalar, weight };
}

function classificationLoss(probs: Tensor, y: Int32Array, o: Objective): Scored {
  const labels = tf.tensor1d(y, 'int32');
  const { loss, weight } = weightedCrossEntropy(probs, tf.oneHot(labels, o.classes), o);
  const correct = tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), labels), 'float32')) as Scalar;
  return { loss, correct, weight: o.weights ? weight : tf.scalar(y.length) };
}

function multilabelLoss(probs: Tensor, y: Int32Array, size: number, o: Objective): Scored {
  const t = tf.cast(tf.tensor2d(y, [size, o.classes], 'int32'), 'float32');
  const p = tf.clipByValue(probs, EPS, 1 - EPS);
  const positive = tf.mul(t, tf.log(p));
  const weighted = o.weights ? tf.mul(positive, tf.tensor1d(o.weights as number[])) : positive;
  const loss = tf.neg(tf.mean(tf.add(weighted, tf.mul(tf.sub(1, t), tf.log(tf.sub(1, p)))))) as Scalar;
  const decided = tf.cast(tf.greaterEqual(probs, 0.5), 'float32');
  const correct = tf.sum(tf.cast(tf.equal(decided, t), 'float32')) as Scalar;
  return { loss, correct, weight: tf.scalar(size) };
}

function segmentationLoss(probs: Tensor, y: Int32Array, o: Objective): Scored {
  const c = o.classes;
  const flat = tf.reshape(probs, [-1, c]);
  const labels = tf.tensor1d(y.subarray(0, flat.shape[0]), 'int32');
  // One-hot of -1 (ignored) is a row of zeros: no loss, no weight.
  const oneHot = tf.oneHot(labels, c);
  const { loss, weight } = weightedCrossEntropy(flat, oneHot, o);
  const correct = tf.sum(tf.mul(tf.sum(oneHot, -1), tf.cast(tf.equal(tf.argMax(flat, -1), labels), 'float32')));
  return { loss, correct: correct as Scalar, weight };
}

/** Decisions counted in a batch's accuracy: examples, label decisions or labelled pixels. */
export function decisionsIn(y: Int32Array, size: number, o: Objective): number {
  if (o.task === 'classification') return size;
  if (o.task === 'multilabel') return size * o.classes;
  let n = 0;
  for (let i = 0; i < y.length; i++) if (y[i] >= 0) n++;
  return n;
}

/**
 * What inference gives per example for the tallies: the predicted class (classification), each label's
 * probability (multilabel, `scores`, n·C) and the decision at 0.5 (`predicted`, n·C), or the class of each pixel
 * (segmentation, n·H·W).
 */
export interface Predictions {
  predicted: Int32Array;
  scores?: Float32Array;
}

export function predictionsOf(probs: Tensor, o: Objective): Predictions {
  if (o.task === 'multilabel') {
    const scores = Float32Array.from(probs.dataSync());
    return { predicted: Int32Array.from(scores, (p) => (p >= 0.5 ? 1 : 0)), scores };
  }
  const argMax = tf.argMax(probs, -1);
  const predicted = Int32Array.from(argMax.dataSync());
  argMax.dispose();
  return { predicted };
}
