/**
 * Training with a fully frozen backbone (`training.freeze: "backbone"`): the backbone's output for an image —
 * the pooled features that feed the classifier — never changes, so it is computed once per image (inference
 * mode, no augmentation), kept in memory, and only the classifier `predictions` trains on it: an epoch is a few
 * matrix products. The epoch loop (./epochs) is unchanged: it gets a data pipeline whose batches are feature
 * rows (shuffled with the same draws as the images would be) and a stepper that trains and evaluates the
 * classifier alone; the checkpoints still hold the whole model.
 */
import type { LayersModel, Optimizer, Scalar, SymbolicTensor, Tensor, Variable } from '@tensorflow/tfjs';
import { type Analysis, CLASSIFIER_LAYER, type TrainingConfig } from '../../core';
import type { Batch, BatchIterator } from '../data/batches';
import type { DataPipeline } from '../data/open';
import type { Dataset } from '../data/dataset';
import type { Rng } from '../data/rng';
import { type InferenceEngine, inferenceNote, type OnnxSession } from '../onnxRuntime';
import { tidyPlain } from '../inspection/tensors';
import { tf } from '../tf';
import type { Stepper } from './epochs';
import { decisionsIn, type Objective, scoreOutput } from './objective';
import { applyGradients, type Evaluation, EvaluationTally, scoreProbabilities } from './step';

/** The pooled features of a dataset's readable images, in its order, and their labels. */
export interface FeatureSet {
  features: Float32Array;
  labels: Int32Array;
  /** Images. */
  n: number;
  /** Features per image. */
  dim: number;
}

/** The name of the layer whose output the classifier takes (`avg_pool`). */
export function featureLayerName(analysis: Analysis): string {
  const head = analysis.layers.find((l) => l.name === CLASSIFIER_LAYER);
  if (!head || head.inputs.length !== 1)
    throw new Error(`The model has no single-input classifier ${CLASSIFIER_LAYER}`);
  return head.inputs[0];
}

/** The pooled features of `n` NHWC images, [n, dim]. */
type Extractor = (x: Float32Array, n: number) => Promise<Float32Array>;

/** The features of a batch on ONNX Runtime when `session` is given (it returns the feature layer), else tfjs. */
function extractor(model: LayersModel, analysis: Analysis, session?: OnnxSession): Extractor {
  const name = featureLayerName(analysis);
  if (session) return async (x, n) => (await session.run(x, n)).layers.get(name)!.data;
  // Shares the model's layers and weights (never disposed: that would dispose them).
  const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer(name).output as SymbolicTensor });
  const [h, w, ch] = (model.inputs[0].shape as number[]).slice(1);
  return async (x, n) => {
    const f = tf.tidy(() => sub.predict(tf.tensor4d(x, [n, h, w, ch])) as Tensor);
    const data = f.dataSync() as Float32Array;
    f.dispose();
    return data;
  };
}

/**
 * The features of every batch (inference mode: batch norms on their moving statistics, no dropout), on ONNX
 * Runtime when `session` is given (with the feature layer among its outputs).
 */
export async function computeFeatures(
  model: LayersModel,
  analysis: Analysis,
  batches: AsyncIterable<Batch>,
  session?: OnnxSession,
): Promise<FeatureSet> {
  const extract = extractor(model, analysis, session);
  const parts: Float32Array[] = [];
  const labels: number[] = [];
  let dim = 0;
  for await (const b of batches) {
    const f = await extract(b.x, b.size);
    dim = f.length / b.size;
    parts.push(f);
    for (let i = 0; i < b.size; i++) labels.push(b.y[i]);
  }
  const features = new Float32Array(labels.length * dim);
  let offset = 0;
  for (const p of parts) {
    features.set(p, offset);
    offset += p.length;
  }
  return { features, labels: Int32Array.from(labels), n: labels.length, dim };
}

/** Batches of feature rows, in `order`. */
function featureBatches(set: FeatureSet, order: Uint32Array, batchSize: number): BatchIterator {
  const expectedBatches = Math.ceil(order.length / batchSize);
  async function* generate(): AsyncGenerator<Batch, void, undefined> {
    for (let start = 0; start < order.length; start += batchSize) {
      const size = Math.min(batchSize, order.length - start);
      const x = new Float32Array(size * set.dim);
      const y = new Int32Array(size);
      for (let i = 0; i < size; i++) {
        const k = order[start + i];
        x.set(set.features.subarray(k * set.dim, (k + 1) * set.dim), i * set.dim);
        y[i] = set.labels[k];
      }
      yield { x, y, size };
    }
  }
  const generator = generate();
  return {
    skipped: 0,
    expectedBatches,
    next: () => generator.next(),
    return: async () => generator.return(undefined),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * `data` with its training and validation batches served from the cached features: a training epoch draws its
 * permutation from `rng` exactly as the image batches do (so a resume and the image path see the same order).
 */
export function cachedPipeline(data: DataPipeline, train: FeatureSet, validation?: FeatureSet): DataPipeline {
  return {
    ...data,
    trainBatches: (batchSize: number, rng: Rng) => {
      const order = Uint32Array.from({ length: train.n }, (_, i) => i);
      rng.shuffle(order);
      return featureBatches(train, order, batchSize);
    },
    evalBatches: (dataset: Dataset, batchSize: number) => {
      if (dataset !== data.validation || !validation)
        throw new Error(`The features of ${dataset.description} are not cached: evaluate it with the whole model`);
      return featureBatches(
        validation,
        Uint32Array.from({ length: validation.n }, (_, i) => i),
        batchSize,
      );
    },
  };
}

/** The classifier's output for feature rows `x` ([n, dim]). */
function headProbs(model: LayersModel, x: Tensor): Tensor {
  return model.getLayer(CLASSIFIER_LAYER).apply(x) as Tensor;
}

/** Trains and evaluates only the classifier of `model` on feature batches. */
export function headStepper(
  model: LayersModel,
  optimizer: Optimizer,
  objective: Objective,
  c: TrainingConfig,
): Stepper {
  const layer = model.getLayer(CLASSIFIER_LAYER);
  const dim = (layer.getWeights()[0].shape as number[])[0];
  return {
    step: (batch, lr) => {
      const variables = layer.trainableWeights.map((v) => v.read() as Variable);
      let correct: Scalar | undefined;
      const { value, grads } = tf.tidy(() => {
        const x = tf.tensor2d(batch.x, [batch.size, dim]);
        return tf.variableGrads(() => {
          const scored = scoreOutput(headProbs(model, x), batch.y, batch.size, objective);
          correct = tf.keep(scored.correct);
          return scored.loss;
        }, variables);
      });
      applyGradients(model, optimizer, grads as Record<string, Tensor>, c, lr);
      const result = {
        loss: value.dataSync()[0],
        correct: (correct as Scalar).dataSync()[0],
        decisions: decisionsIn(batch.y, batch.size, objective),
      };
      tf.dispose([value, correct as Scalar]);
      return result;
    },
    evaluate: async (batches): Promise<Evaluation> => {
      const tally = new EvaluationTally(objective);
      for await (const b of batches) {
        const score = tidyPlain(() =>
          scoreProbabilities(headProbs(model, tf.tensor2d(b.x, [b.size, dim])), b, objective),
        );
        tally.add(b.y, b.size, score);
      }
      return tally.result();
    },
  };
}

/**
 * The features of the training and validation data, computed once with `model` (on ONNX Runtime when `inference`
 * gives a session, else tfjs), and the pipeline that serves them; `say` reports what was cached, how long it
 * took and on which engine.
 */
export async function cacheFeatures(
  model: LayersModel,
  analysis: Analysis,
  data: DataPipeline,
  batchSize: number,
  say: (message: string) => void,
  inference?: { engine: InferenceEngine; threads: number },
): Promise<DataPipeline> {
  const started = Date.now();
  const session = await inference?.engine.open(analysis, model, {
    threads: inference.threads,
    outputs: [featureLayerName(analysis)],
  });
  let train: FeatureSet;
  let validation: FeatureSet | undefined;
  try {
    train = await computeFeatures(model, analysis, data.evalBatches(data.train, batchSize), session);
    validation = data.validation
      ? await computeFeatures(model, analysis, data.evalBatches(data.validation, batchSize), session)
      : undefined;
  } finally {
    await session?.release();
  }
  const images = train.n + (validation?.n ?? 0);
  say(
    `Frozen backbone: the pooled features (${featureLayerName(analysis)}, ${train.dim} per image) of ${images} images computed once (${inferenceNote(session, inference?.threads)}) in ${((Date.now() - started) / 1000).toFixed(1)} s and cached (${((images * train.dim * 4) / 2 ** 20).toFixed(1)} MB); only the classifier ${CLASSIFIER_LAYER} trains on them.`,
  );
  return cachedPipeline(data, train, validation);
}
