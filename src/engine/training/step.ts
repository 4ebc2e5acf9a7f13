/**
 * One step of training or evaluation on one batch, on this thread: the choice of forward pass, the optimizer
 * and its learning rate, the loss, the gradients of a batch (or of one shard of it), their application with
 * weight decay, and the inference of a batch with the tally of its results. The epoch loop (./epochs), the
 * data-parallel pool and its workers (../parallel/) and the bench all step through this module; it knows
 * nothing of runs, logs or threads.
 */
import type { LayersModel, Optimizer, Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { type Analysis, CLASSIFIER_LAYER, freezePlan, type TrainingConfig } from '../../core';
import type { Batch } from '../data/open';
import { type Forward, trainingForward } from '../forward';
import { tidyPlain } from '../inspection/tensors';
import { tf } from '../tf';
import { decisionsIn, type Objective, predictionsOf, scoreOutput } from './objective';
import { type BatchScore, type Evaluation, EvaluationTally } from './tally';

export type { Forward } from '../forward';
export { type BatchScore, type Evaluation, EvaluationTally } from './tally';
export { type Objective, objectiveOf } from './objective';

export function makeOptimizer(c: TrainingConfig): Optimizer {
  if (c.optimizer === 'sgd')
    return c.momentum > 0 ? tf.train.momentum(c.learningRate, c.momentum, c.nesterov) : tf.train.sgd(c.learningRate);
  return tf.train.adam(c.learningRate, 0.9, 0.999, 1e-7);
}

/**
 * Disposes an optimizer fully: tfjs 4.22's MomentumOptimizer.dispose() does not call SGDOptimizer's, so
 * its learning-rate scalar would leak one tensor per run.
 */
export function disposeOptimizer(optimizer: Optimizer): void {
  optimizer.dispose();
  const c = (optimizer as Optimizer & { c?: Tensor }).c;
  if (optimizer.getClassName() === 'Momentum' && c && !c.isDisposed) c.dispose();
}

/** Sets the learning rate of the next steps (the schedule changes it within an epoch). */
export function setLearningRate(optimizer: Optimizer, lr: number): void {
  const o = optimizer as Optimizer & { setLearningRate?: (lr: number) => void; learningRate: number };
  if (o.setLearningRate) o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** Categorical cross-entropy of softmax outputs (clipped as Keras does). */
export function crossEntropy(probs: Tensor, oneHot: Tensor): Tensor {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(tf.clipByValue(probs, 1e-7, 1 - 1e-7))), -1)));
}

/**
 * The loss of a training step, its correct decisions and the decisions counted (examples; label decisions for
 * multilabel; labelled pixels for segmentation: see ./objective).
 */
export interface Step {
  loss: number;
  correct: number;
  decisions: number;
}

/** The forward pass of the layers model itself (tfjs-layers, every intermediate stored for the backward pass). */
export function layersForward(model: LayersModel): Forward {
  return (x) => model.apply(x, { training: true }) as Tensor;
}

/**
 * The training forward pass the spec asks for. `analysis` is the model's layer list (names, types, wiring);
 * `c.memoryEfficient` chooses between storing and recomputing the dense blocks' intermediates.
 */
export function makeForward(model: LayersModel, analysis: Analysis, c: TrainingConfig): Forward {
  const frozen = c.freeze === 'none' ? undefined : freezePlan(analysis, c.freeze).layers;
  return trainingForward(model, analysis, { memoryEfficient: c.memoryEfficient, frozen });
}

/**
 * The factor of the backbone's updates (`backboneLearningRate / learningRate`), undefined when the backbone
 * trains at the classifier's rate. One optimizer steps every trainable weight at the classifier's rate; the
 * backbone's step is then scaled by this factor. SGD, momentum (Nesterov too) and Adam(W) keep a state (velocity,
 * moments) that does not depend on the learning rate and make a step proportional to it, so the scaled step is
 * exactly the step of a second optimizer at `backboneLearningRate` (as PyTorch's parameter groups), with one
 * optimizer state to checkpoint.
 */
export function backboneScale(c: TrainingConfig): number | undefined {
  if (c.backboneLearningRate === undefined || c.backboneLearningRate === c.learningRate) return undefined;
  if (c.learningRate === 0)
    throw new Error(
      'training.backboneLearningRate needs a training.learningRate above 0 (the classifier does not train at 0): raise learningRate, or remove backboneLearningRate.',
    );
  return c.backboneLearningRate / c.learningRate;
}

/**
 * Loss, correct decisions, the weight the loss is a mean over (see Scored in ./objective) and the gradient of
 * every trainable weight (by variable name) of one batch.
 */
export interface Gradients {
  loss: Scalar;
  correct: Scalar;
  weight: Scalar;
  grads: Record<string, Tensor>;
}

/** Height, width and channels of the model's input. */
function inputShape(model: LayersModel): [number, number, number] {
  const [h, w, ch] = (model.inputs[0].shape as number[]).slice(1);
  return [h, w, ch];
}

/** A task's objective, or the classes of a classification (the bench and older callers). */
export type ObjectiveLike = Objective | number;

export function asObjective(o: ObjectiveLike): Objective {
  return typeof o === 'number' ? { task: 'classification', classes: o } : o;
}

/**
 * Forward and backward pass of one batch (or one shard of it), without touching the weights. The caller owns
 * the returned tensors.
 */
export function computeGradients(
  model: LayersModel,
  forward: Forward,
  batch: Batch,
  objective: ObjectiveLike,
): Gradients {
  const o = asObjective(objective);
  const [h, w, ch] = inputShape(model);
  const variables = model.trainableWeights.map((v) => v.read() as Variable);
  let correct: Scalar | undefined;
  let weight: Scalar | undefined;
  const { value, grads } = tf.tidy(() => {
    const xs = tf.tensor4d(batch.x, [batch.size, h, w, ch]);
    return tf.variableGrads(() => {
      const scored = scoreOutput(forward(xs), batch.y, batch.size, o);
      correct = tf.keep(scored.correct);
      weight = tf.keep(scored.weight);
      return scored.loss;
    }, variables) as unknown as { value: Scalar; grads: Record<string, Tensor> };
  }) as { value: Scalar; grads: Record<string, Tensor> };
  return { loss: value as Scalar, correct: correct as Scalar, weight: weight as Scalar, grads };
}

/** Applies gradients (by variable name) with the optimizer and the weight decay of the config; disposes them. */
export function applyGradients(
  model: LayersModel,
  optimizer: Optimizer,
  grads: Record<string, Tensor>,
  c: TrainingConfig,
  lr: number,
): void {
  const variables = model.trainableWeights.map((v) => v.read() as Variable);
  const scale = backboneScale(c);
  const head =
    scale === undefined
      ? new Set<string>()
      : new Set(model.getLayer(CLASSIFIER_LAYER).trainableWeights.map((w) => (w.read() as Variable).name));
  const backbone = scale === undefined ? [] : variables.filter((v) => !head.has(v.name));
  tf.tidy(() => {
    const g = { ...grads };
    if (c.weightDecay > 0 && c.optimizer !== 'adamw') {
      // L2 weight decay coupled to the gradient, as PyTorch's SGD(weight_decay) and the paper.
      for (const v of variables) g[v.name] = tf.add(g[v.name], tf.mul(v, c.weightDecay));
    }
    const before = backbone.map((v) => tf.clone(v));
    optimizer.applyGradients(g);
    // The backbone's step at its own rate: w = before + scale·(after - before) (see backboneScale).
    backbone.forEach((v, i) => v.assign(tf.add(before[i], tf.mul(tf.sub(v, before[i]), scale as number))));
    if (c.weightDecay > 0 && c.optimizer === 'adamw') {
      // Decoupled weight decay (Loshchilov & Hutter): w -= lr·wd·w after the Adam step.
      const scaled = new Set(backbone);
      for (const v of variables)
        v.assign(tf.sub(v, tf.mul(v, lr * (scaled.has(v) ? (scale as number) : 1) * c.weightDecay)));
    }
  });
  tf.dispose(grads);
}

/** One optimisation step on a batch; returns the batch loss and its correct and counted decisions. */
export function trainStep(
  model: LayersModel,
  optimizer: Optimizer,
  batch: Batch,
  objective: ObjectiveLike,
  c: TrainingConfig,
  lr: number,
  forward: Forward = layersForward(model),
): Step {
  const o = asObjective(objective);
  const g = computeGradients(model, forward, batch, o);
  applyGradients(model, optimizer, g.grads, c, lr);
  const result = {
    loss: g.loss.dataSync()[0],
    correct: g.correct.dataSync()[0],
    decisions: decisionsIn(batch.y, batch.size, o),
  };
  tf.dispose([g.loss, g.correct, g.weight]);
  return result;
}

/** Inference on a batch (or a shard of one): its mean loss, the weight it is a mean over, and its predictions. */
export function evaluateBatch(model: LayersModel, batch: Batch, objective: ObjectiveLike): BatchScore {
  const [h, w, ch] = inputShape(model);
  return tidyPlain(() =>
    scoreProbabilities(model.predict(tf.tensor4d(batch.x, [batch.size, h, w, ch])) as Tensor, batch, objective),
  );
}

/** The mean loss and the predictions of a batch's probabilities (the model's output). */
export function scoreProbabilities(probs: Tensor, batch: Batch, objective: ObjectiveLike): BatchScore {
  const o = asObjective(objective);
  return tidyPlain(() => {
    const scored = scoreOutput(probs, batch.y, batch.size, o);
    return { loss: scored.loss.dataSync()[0], weight: scored.weight.dataSync()[0], ...predictionsOf(probs, o) };
  });
}

/** Stops an evaluation (or a training) at the next batch boundary once `cancelled` is set. */
export interface TrainControl {
  cancelled: boolean;
}

/** The Evaluation of a model over batches, on this thread; stops after the batch during which `control` was cancelled. */
export async function evaluate(
  model: LayersModel,
  batches: AsyncIterable<Batch>,
  objective: ObjectiveLike,
  control?: TrainControl,
): Promise<Evaluation> {
  const tally = new EvaluationTally(asObjective(objective));
  for await (const b of batches) {
    tally.add(b.y, b.size, evaluateBatch(model, b, objective));
    if (control?.cancelled) break;
  }
  return tally.result();
}
