/**
 * The training loop, shared by the engine process and the CLI: spec -> data -> model -> epochs of SGD/Adam/
 * AdamW steps with the learning-rate schedule, validation with a confusion matrix, checkpoints (`latest` every
 * epoch and on cancel, `best`), metrics.jsonl, TensorBoard scalars, early stopping, resume.
 */
import * as path from 'path';
import type { LayersModel, Optimizer, Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import type { BatchMetrics, EpochMetrics, TrainingFinished, TrainingStarted, TrainRequest } from '../protocol/engine';
import {
  type Analysis,
  type Monitor,
  learningRateAt,
  type TrainingConfig,
  trainingConfig,
  validateBuildable,
} from '../core';
import { nodeFileProbe } from '../core/nodeFs';
import { type Batch, type DataPipeline, type DataSpec, openData, Rng } from './data/open';
import { trainingForward } from './forward';
import { buildModel } from './model';
import { ParallelTrainer, resolveThreads } from './parallel/pool';
import { writeJsonAtomicSync } from '../runs/atomic';
import { checkpointDir } from '../runs/checkpointFiles';
import { METRICS_FILE, MetricsWriter, rewriteMetrics } from '../runs/metricsLog';
import { PREPROCESSING_JSON, type Preprocessing } from '../runs/preprocessing';
import { createRun, finishRun, readRunInfo, updateRunInfo } from '../runs/runFolder';
import { TensorBoardLogger } from '../runs/tensorboard';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { tf } from './tf';

export interface TrainObserver {
  started(info: TrainingStarted): void;
  batch(metrics: BatchMetrics): void;
  epochEnd(metrics: EpochMetrics): void;
  skipped(file: string, reason: string, total: number): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export interface TrainControl {
  cancelled: boolean;
}

/** The random state saved with a checkpoint: the data RNG at the start of the epoch, and the batches done. */
interface RngCheckpoint {
  epochStart: number;
  stepInEpoch: number;
}

const BATCH_MESSAGE_INTERVAL_MS = 250;

/** Loss and accuracy of one batch as the running mean of an epoch. */
class Mean {
  private sum = 0;
  private n = 0;
  add(value: number, weight: number): void {
    this.sum += value * weight;
    this.n += weight;
  }
  get value(): number {
    return this.n > 0 ? this.sum / this.n : NaN;
  }
}

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

function setLearningRate(optimizer: Optimizer, lr: number): void {
  const o = optimizer as Optimizer & { setLearningRate?: (lr: number) => void; learningRate: number };
  if (o.setLearningRate) o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** Categorical cross-entropy of softmax outputs (clipped as Keras does). */
function crossEntropy(probs: Tensor, oneHot: Tensor): Tensor {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(tf.clipByValue(probs, 1e-7, 1 - 1e-7))), -1)));
}

function specErrors(req: TrainRequest) {
  const v = validateBuildable(req.specText, {
    specPath: req.specPath,
    fs: nodeFileProbe,
    maxTrainingMemoryBytes: Infinity,
    file: path.basename(req.specPath),
    purpose: 'before training',
  });
  return { resolved: v.resolved, analysis: v.analysis, doc: v.parsed.value as Record<string, unknown> };
}

export interface Step {
  loss: number;
  correct: number;
}

/** The training-mode forward pass of a model: images -> class probabilities, updating batch-norm moving statistics. */
export type Forward = (x: Tensor) => Tensor;

/** The forward pass of the layers model itself (tfjs-layers, every intermediate stored for the backward pass). */
export function layersForward(model: LayersModel): Forward {
  return (x) => model.apply(x, { training: true }) as Tensor;
}

/**
 * The training forward pass the spec asks for. `analysis` is the model's layer list (names, types, wiring);
 * `c.memoryEfficient` chooses between storing and recomputing the dense blocks' intermediates.
 */
export function makeForward(model: LayersModel, analysis: Analysis, c: TrainingConfig): Forward {
  return trainingForward(model, analysis, { memoryEfficient: c.memoryEfficient });
}

/** Loss, correct predictions and the gradient of every trainable weight (by variable name) of one batch. */
export interface Gradients {
  loss: Scalar;
  correct: Scalar;
  grads: Record<string, Tensor>;
}

/**
 * Forward and backward pass of one batch (or one shard of it), without touching the weights. The caller owns
 * the returned tensors.
 */
export function computeGradients(model: LayersModel, forward: Forward, batch: Batch, classes: number): Gradients {
  const [h, w, ch] = (model.inputs[0].shape as number[]).slice(1);
  const variables = model.trainableWeights.map((v) => v.read() as Variable);
  let correct: Scalar | undefined;
  const { value, grads } = tf.tidy(() => {
    const xs = tf.tensor4d(batch.x, [batch.size, h, w, ch]);
    const labels = tf.tensor1d(batch.y, 'int32');
    const ys = tf.oneHot(labels, classes);
    return tf.variableGrads(() => {
      const probs = forward(xs);
      correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), labels), 'float32'))) as Scalar;
      return crossEntropy(probs, ys) as Scalar;
    }, variables) as unknown as { value: Scalar; grads: Record<string, Tensor> };
  }) as { value: Scalar; grads: Record<string, Tensor> };
  return { loss: value as Scalar, correct: correct as Scalar, grads };
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
  tf.tidy(() => {
    const g = { ...grads };
    if (c.weightDecay > 0 && c.optimizer !== 'adamw') {
      // L2 weight decay coupled to the gradient, as PyTorch's SGD(weight_decay) and the paper.
      for (const v of variables) g[v.name] = tf.add(g[v.name], tf.mul(v, c.weightDecay));
    }
    optimizer.applyGradients(g);
    if (c.weightDecay > 0 && c.optimizer === 'adamw') {
      // Decoupled weight decay (Loshchilov & Hutter): w -= lr·wd·w after the Adam step.
      for (const v of variables) v.assign(tf.sub(v, tf.mul(v, lr * c.weightDecay)));
    }
  });
  tf.dispose(grads);
}

/** One optimisation step on a batch; returns the batch loss and the number of correct predictions. */
export function trainStep(
  model: LayersModel,
  optimizer: Optimizer,
  batch: Batch,
  classes: number,
  c: TrainingConfig,
  lr: number,
  forward: Forward = layersForward(model),
): Step {
  const g = computeGradients(model, forward, batch, classes);
  applyGradients(model, optimizer, g.grads, c, lr);
  const result = { loss: g.loss.dataSync()[0], correct: g.correct.dataSync()[0] };
  g.loss.dispose();
  g.correct.dispose();
  return result;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  confusion: number[][];
  examples: number;
}

/** Inference on a batch (or a shard of one): its mean loss and the predicted class of each example. */
export function evaluateBatch(
  model: LayersModel,
  batch: Batch,
  classes: number,
): { loss: number; predicted: Int32Array } {
  const [h, w, ch] = (model.inputs[0].shape as number[]).slice(1);
  return tf.tidy(() => {
    const probs = model.predict(tf.tensor4d(batch.x, [batch.size, h, w, ch])) as Tensor;
    const ys = tf.oneHot(tf.tensor1d(batch.y, 'int32'), classes);
    return { loss: crossEntropy(probs, ys).dataSync()[0], predicted: Int32Array.from(tf.argMax(probs, -1).dataSync()) };
  });
}

/** Accumulates evaluated examples into the loss, accuracy and confusion matrix of an Evaluation. */
export class EvaluationTally {
  private readonly confusion: number[][];
  private lossSum = 0;
  private n = 0;
  private correct = 0;

  constructor(classes: number) {
    this.confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  }

  /** Examples with true classes `labels`, predicted classes `predicted` and mean loss `loss`. */
  add(labels: ArrayLike<number>, predicted: ArrayLike<number>, loss: number): void {
    for (let i = 0; i < labels.length; i++) {
      this.confusion[labels[i]][predicted[i]]++;
      if (labels[i] === predicted[i]) this.correct++;
    }
    this.lossSum += loss * labels.length;
    this.n += labels.length;
  }

  result(): Evaluation {
    const n = this.n;
    return {
      loss: n ? this.lossSum / n : NaN,
      accuracy: n ? this.correct / n : NaN,
      confusion: this.confusion,
      examples: n,
    };
  }
}

/** Loss, accuracy and confusion matrix (rows: true class, columns: predicted) of a model over batches. */
export async function evaluate(
  model: LayersModel,
  batches: AsyncIterable<Batch>,
  classes: number,
  control?: TrainControl,
): Promise<Evaluation> {
  const tally = new EvaluationTally(classes);
  for await (const b of batches) {
    const { loss, predicted } = evaluateBatch(model, b, classes);
    tally.add(b.y.subarray(0, b.size), predicted, loss);
    if (control?.cancelled) break;
  }
  return tally.result();
}

function improved(monitor: Monitor, value: number, best: number | null, minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === null) return true;
  return monitor.endsWith('loss') ? value < best - minDelta : value > best + minDelta;
}

export async function train(req: TrainRequest, obs: TrainObserver, control: TrainControl): Promise<TrainingFinished> {
  const { resolved, analysis, doc } = specErrors(req);
  const c = trainingConfig(doc.training);
  const epochs = req.epochs ?? c.epochs;
  const backend = tf.getBackend();
  const seed = c.seed ?? Math.floor(Math.random() * 2 ** 31);
  let skipped = 0;
  const data: DataPipeline = await openData(doc.data as DataSpec | undefined, {
    baseDir: path.dirname(req.specPath),
    input: resolved.input,
    classes: resolved.classes,
    seed,
    onSkip: (file, reason) => {
      skipped++;
      obs.skipped(file, reason, skipped);
    },
  });

  let model: LayersModel | undefined;
  let optimizer: Optimizer | undefined;
  let tb: TensorBoardLogger | undefined;
  let metrics: MetricsWriter | undefined;
  let pool: ParallelTrainer | undefined;
  let runDir = '';
  try {
    optimizer = makeOptimizer(c);
    let startEpoch = 0;
    let globalStep = 0;
    let best: number | null = null;
    let bestEpoch: number | null = null;
    let rng = new Rng(seed);
    let skipInFirstEpoch = 0;
    if (req.resumeRunDir) {
      runDir = path.resolve(req.resumeRunDir);
      const info = readRunInfo(runDir);
      if (!info)
        throw new Error(
          `${runDir} is not a run folder (no run.json): resume takes a folder under .densenet/runs/<spec>/.`,
        );
      const loaded = await loadCheckpoint(checkpointDir(runDir, 'latest'), { optimizer });
      model = loaded.model;
      const st = loaded.state;
      startEpoch = st.epoch;
      globalStep = st.step;
      best = st.bestMetric;
      bestEpoch = st.bestEpoch;
      const r = st.rngState as RngCheckpoint;
      rng = Rng.fromState(r.epochStart);
      skipInFirstEpoch = r.stepInEpoch;
      // A killed process may have logged batches past its last checkpoint: the curve continues from the checkpoint.
      rewriteMetrics(path.join(runDir, METRICS_FILE), (m) => m.step <= globalStep);
      updateRunInfo(runDir, {
        status: 'running',
        epochs,
        backend,
        pid: process.pid,
        endedAt: undefined,
        error: undefined,
        exitCode: undefined,
        signal: undefined,
        stderrTail: undefined,
      });
      obs.log(
        'info',
        `Resuming ${runDir} at epoch ${startEpoch + 1}${skipInFirstEpoch ? `, batch ${skipInFirstEpoch + 1}` : ''} (step ${globalStep})`,
      );
    } else {
      const created = createRun({
        baseFolder: req.workspaceDir,
        specName: resolved.name,
        specText: req.specText,
        specFile: req.specPath,
        epochs,
        backend,
        pid: process.pid,
      });
      runDir = created.runDir;
      model = buildModel(analysis, { seed: c.seed });
    }
    const classNames = [...data.classNames];
    const preprocessing: Preprocessing = { input: resolved.input, classNames, normalization: data.normalization };
    writeJsonAtomicSync(path.join(runDir, PREPROCESSING_JSON), preprocessing);
    tb = new TensorBoardLogger(runDir);
    metrics = new MetricsWriter(path.join(runDir, METRICS_FILE));

    const forward = makeForward(model, analysis, c);
    const stepsPerEpoch = Math.ceil(data.train.length / c.batchSize);
    // Data-parallel threads: the main thread and threads - 1 workers with replicas (src/engine/parallel/).
    const { threads, note } = resolveThreads(req.threads, backend, c.batchSize);
    if (note) obs.log('info', note);
    if (threads > 1) {
      pool = await ParallelTrainer.start({ threads, backend: backend as 'wasm' | 'cpu', analysis, config: c, model });
    }
    obs.log(
      'info',
      threads > 1
        ? `Training on ${threads} threads (this one and ${threads - 1} worker${threads > 2 ? 's' : ''}, each with a replica of the model; batch norm uses per-shard statistics)`
        : 'Training on 1 thread',
    );
    obs.started({
      runDir,
      runId: path.basename(runDir),
      backend: backend as TrainingStarted['backend'],
      backendReason: '',
      startEpoch,
      epochs,
      stepsPerEpoch,
      trainExamples: data.train.length,
      validationExamples: data.validation?.length ?? 0,
      classNames,
      threads,
    });

    const monitorBest: Monitor = data.validation ? 'val_accuracy' : 'accuracy';
    const es = c.earlyStopping;
    let esBest: number | null = null;
    let esWait = 0;
    let status: TrainingFinished['status'] = 'completed';
    const sessionStart = Date.now();
    let firstStepDone = sessionStart;
    let sessionSteps = 0;
    let epochsCompleted = startEpoch;

    const save = async (kind: 'latest' | 'best', epochDone: number, rngState: RngCheckpoint) => {
      await saveCheckpoint(checkpointDir(runDir, kind), {
        model: model as LayersModel,
        optimizer,
        state: { epoch: epochDone, step: globalStep, bestMetric: best, bestEpoch, rngState },
      });
    };

    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const epochStartRng = rng.state();
      const epochStart = Date.now();
      const lossMean = new Mean();
      const accMean = new Mean();
      let stepInEpoch = 0;
      let images = 0;
      let lastMessage = 0;
      let lr = learningRateAt(c, epoch);
      const iterator = data.trainBatches(c.batchSize, rng);
      for await (const batch of iterator) {
        if (skipInFirstEpoch > 0) {
          skipInFirstEpoch--;
          stepInEpoch++;
          continue;
        }
        lr = learningRateAt(c, epoch + stepInEpoch / stepsPerEpoch);
        setLearningRate(optimizer, lr);
        const step = pool
          ? await pool.step(model, forward, optimizer, batch, classNames.length, c, lr)
          : trainStep(model, optimizer, batch, classNames.length, c, lr, forward);
        stepInEpoch++;
        globalStep++;
        sessionSteps++;
        images += batch.size;
        lossMean.add(step.loss, batch.size);
        accMean.add(step.correct / batch.size, batch.size);
        metrics.append({
          kind: 'batch',
          epoch: epoch + 1,
          step: globalStep,
          loss: step.loss,
          acc: step.correct / batch.size,
          lr,
        });
        const now = Date.now();
        if (sessionSteps === 1) firstStepDone = now;
        if (now - lastMessage >= BATCH_MESSAGE_INTERVAL_MS || stepInEpoch === stepsPerEpoch) {
          lastMessage = now;
          // The first step also compiles kernels and warms caches: the rate comes from the steps after it.
          const perStep = (sessionSteps > 1 ? (now - firstStepDone) / (sessionSteps - 1) : now - sessionStart) / 1000;
          const remaining = stepsPerEpoch - stepInEpoch + (epochs - epoch - 1) * stepsPerEpoch;
          const mem = tf.memory();
          obs.batch({
            epoch: epoch + 1,
            step: stepInEpoch,
            stepsPerEpoch,
            globalStep,
            loss: lossMean.value,
            accuracy: accMean.value,
            learningRate: lr,
            imagesPerSecond: images / Math.max(1e-3, (now - epochStart) / 1000),
            etaSeconds: remaining * perStep,
            numTensors: mem.numTensors,
            memoryMB: process.memoryUsage().rss / 2 ** 20,
          });
          tb.addScalar('train', 'batch_loss', step.loss, globalStep);
          tb.addScalar('train', 'batch_acc', step.correct / batch.size, globalStep);
        }
        if (control.cancelled) break;
      }
      if (control.cancelled && stepInEpoch < stepsPerEpoch) {
        await save('latest', epoch, { epochStart: epochStartRng, stepInEpoch });
        status = 'cancelled';
        obs.log(
          'info',
          `Stopped at epoch ${epoch + 1}, batch ${stepInEpoch}/${stepsPerEpoch}; checkpoint saved (resume continues from there).`,
        );
        break;
      }

      const trainSeconds = (Date.now() - epochStart) / 1000;
      const valBatches = data.validation ? data.evalBatches(data.validation, c.batchSize) : undefined;
      const val = valBatches
        ? await (pool
            ? pool.evaluate(model, valBatches, classNames.length)
            : evaluate(model, valBatches, classNames.length))
        : undefined;
      const seconds = (Date.now() - epochStart) / 1000;
      const monitored = monitorBest === 'val_accuracy' ? (val?.accuracy ?? NaN) : accMean.value;
      const isBest = improved(monitorBest, monitored, best);
      if (isBest) {
        best = monitored;
        bestEpoch = epoch + 1;
      }
      epochsCompleted = epoch + 1;
      const rngNext: RngCheckpoint = { epochStart: rng.state(), stepInEpoch: 0 };
      await save('latest', epoch + 1, rngNext);
      if (isBest) await save('best', epoch + 1, rngNext);

      const epochMetrics: EpochMetrics = {
        epoch: epoch + 1,
        epochs,
        loss: lossMean.value,
        accuracy: accMean.value,
        valLoss: val?.loss,
        valAccuracy: val?.accuracy,
        learningRate: lr,
        imagesPerSecond: images / Math.max(1e-3, trainSeconds),
        seconds,
        confusion: val?.confusion,
        classNames,
        best: isBest,
      };
      metrics.append({
        kind: 'epoch',
        epoch: epoch + 1,
        step: globalStep,
        loss: epochMetrics.loss,
        acc: epochMetrics.accuracy,
        val_loss: val?.loss ?? null,
        val_acc: val?.accuracy ?? null,
        lr,
        imagesPerSec: epochMetrics.imagesPerSecond,
        seconds,
      });
      metrics.flush();
      tb.addScalar('train', 'epoch_loss', epochMetrics.loss, epoch + 1);
      tb.addScalar('train', 'epoch_acc', epochMetrics.accuracy, epoch + 1);
      tb.addScalar('train', 'epoch_lr', lr, epoch + 1);
      if (val) {
        tb.addScalar('validation', 'epoch_loss', val.loss, epoch + 1);
        tb.addScalar('validation', 'epoch_acc', val.accuracy, epoch + 1);
      }
      tb.flush();
      updateRunInfo(runDir, {
        epochsCompleted,
        bestValAccuracy: data.validation && best !== null ? best : undefined,
        bestEpoch: bestEpoch ?? undefined,
      });
      obs.epochEnd(epochMetrics);

      if (es) {
        const value =
          es.monitor === 'val_loss'
            ? val?.loss
            : es.monitor === 'val_accuracy'
              ? val?.accuracy
              : es.monitor === 'loss'
                ? lossMean.value
                : accMean.value;
        if (value !== undefined && improved(es.monitor, value, esBest, es.minDelta)) {
          esBest = value;
          esWait = 0;
        } else if (++esWait >= es.patience) {
          status = 'early-stopped';
          obs.log('info', `Early stopping: ${es.monitor} has not improved for ${es.patience} epoch(s).`);
          break;
        }
      }
      if (control.cancelled) {
        status = 'cancelled';
        break;
      }
    }
    const bestValAccuracy = data.validation && best !== null ? best : undefined;
    finishRun(runDir, status, { epochsCompleted, bestValAccuracy, bestEpoch: bestEpoch ?? undefined });
    return { status, runDir, epochsCompleted, bestValAccuracy, skippedFiles: skipped };
  } catch (e) {
    if (runDir) finishRun(runDir, 'failed', { error: e instanceof Error ? e.message : String(e) });
    throw e;
  } finally {
    await pool?.dispose();
    metrics?.close();
    tb?.close();
    if (optimizer) disposeOptimizer(optimizer);
    model?.dispose();
    await data.close();
  }
}
