/**
 * Everything a training tells about itself while it runs: each batch and epoch into metrics.jsonl, each
 * validation (confusion matrix, per-class figures) into evaluations.jsonl, the TensorBoard scalars, run.json's
 * progress figures, and the observer's messages (the engine process forwards
 * them to the dashboard, the CLI prints them). Batch messages are throttled; metrics.jsonl has every batch.
 */
import * as path from 'path';
import type { BatchMetrics, BatchRecord, EpochMetrics, TrainingStarted } from '../../protocol/engine';
import { appendEvaluation, trimEvaluations } from '../../runs/evaluations';
import { METRICS_FILE, MetricsWriter } from '../../runs/metricsLog';
import { updateRunInfo } from '../../runs/runFolder';
import { TensorBoardLogger, trimTensorBoard } from '../../runs/tensorboard';
import { tf } from '../tf';
import { type EpochProgress, remainingSteps, StepClock } from './progress';
import type { Step } from './step';
import type { BestRecord } from './earlyStopping';

/** Who follows a training: the engine process (messages to the host) or the CLI (a progress bar). */
export interface TrainObserver {
  started(info: TrainingStarted): void;
  batch(metrics: BatchMetrics): void;
  epochEnd(metrics: EpochMetrics): void;
  skipped(file: string, reason: string, total: number): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

/** The least time between two batch messages to the observer (the last batch of an epoch always has one). */
export const BATCH_MESSAGE_INTERVAL_MS = 250;

export interface RunLogOptions {
  /** The epoch the training ends after. */
  epochs: number;
  stepsPerEpoch: number;
  /** The clock (ms) of batch messages and their pace (default Date.now). */
  now?: () => number;
}

export class RunLog {
  private readonly tb: TensorBoardLogger;
  private readonly metrics: MetricsWriter;
  private readonly clock: StepClock;
  private readonly now: () => number;
  private lastMessage = 0;
  /** When the previous batch ended (or the epoch started): a batch's images/s is its size over the time since. */
  private lastBatchDone: number | undefined;
  /** The batch records written since the last message: the next message carries them, exactly as written. */
  private pending: BatchRecord[] = [];
  private recordedEpoch: number | undefined;

  constructor(
    readonly runDir: string,
    private readonly obs: TrainObserver,
    private readonly options: RunLogOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.clock = new StepClock(this.now());
    this.tb = new TensorBoardLogger(runDir);
    try {
      this.metrics = new MetricsWriter(path.join(runDir, METRICS_FILE));
    } catch (e) {
      this.tb.close();
      throw e;
    }
  }

  info(message: string): void {
    this.obs.log('info', message);
  }

  started(info: TrainingStarted): void {
    this.obs.started(info);
  }

  /** A new epoch begins: its first batch has a message whenever it ends. */
  startEpoch(): void {
    this.lastMessage = 0;
    this.lastBatchDone = this.now();
  }

  /** A trained batch (`p` already counts it): metrics.jsonl, and at most every 250 ms the observer and TensorBoard. */
  batch(p: EpochProgress, step: Step, size: number, globalStep: number, lr: number): void {
    // Of the batch's decisions: images, label decisions (multi-label) or labelled pixels (segmentation).
    const acc = step.decisions > 0 ? step.correct / step.decisions : NaN;
    const now = this.now();
    const seconds = (now - (this.lastBatchDone ?? now)) / 1000;
    this.lastBatchDone = now;
    const record: BatchRecord = { step: globalStep, loss: step.loss, acc, lr };
    if (seconds > 0) record.imagesPerSec = size / seconds;
    this.metrics.append({ kind: 'batch', epoch: p.epoch + 1, ...record });
    this.pending.push(record);
    this.clock.stepDone(now);
    const { epochs, stepsPerEpoch } = this.options;
    if (now - this.lastMessage < BATCH_MESSAGE_INTERVAL_MS && p.step !== stepsPerEpoch) return;
    this.lastMessage = now;
    const mem = tf.memory();
    this.obs.batch({
      batches: this.pending.splice(0),
      epoch: p.epoch + 1,
      step: p.step,
      stepsPerEpoch,
      globalStep,
      loss: p.loss.value,
      accuracy: p.accuracy.value,
      learningRate: lr,
      imagesPerSecond: p.imagesPerSecond(now),
      etaSeconds: remainingSteps(p.epoch, p.step, epochs, stepsPerEpoch) * this.clock.secondsPerStep(now),
      numTensors: mem.numTensors,
      memoryMB: process.memoryUsage().rss / 2 ** 20,
    });
    this.tb.addScalar('train', 'batch_loss', step.loss, globalStep);
    this.tb.addScalar('train', 'batch_acc', acc, globalStep);
  }

  /**
   * An epoch's record in metrics.jsonl, flushed: written before the epoch's checkpoints, so that a process killed
   * between the two loses no record (resume trims records past its checkpoint and trains that epoch again).
   */
  recordEpoch(m: EpochMetrics, globalStep: number): void {
    this.metrics.append({
      kind: 'epoch',
      epoch: m.epoch,
      step: globalStep,
      loss: m.loss,
      acc: m.accuracy,
      val_loss: m.valLoss ?? null,
      val_acc: m.valAccuracy ?? null,
      ...(m.multilabel ? { val_mean_auroc: m.multilabel.meanAuroc } : {}),
      ...(m.segmentation ? { val_mean_iou: m.segmentation.meanIou } : {}),
      lr: m.learningRate,
      imagesPerSec: m.imagesPerSecond,
      seconds: m.seconds,
    });
    this.metrics.flush();
    this.recordedEpoch = m.epoch;
  }

  /**
   * A finished epoch (its checkpoints saved): its metrics.jsonl record unless `recordEpoch` wrote it,
   * TensorBoard flushed, its validation saved (evaluations.jsonl), run.json's progress (`bestValAccuracy` only with validation data), then the observer.
   */
  epoch(m: EpochMetrics, globalStep: number, best: BestRecord): void {
    if (this.recordedEpoch !== m.epoch) this.recordEpoch(m, globalStep);
    this.tb.addScalar('train', 'epoch_loss', m.loss, m.epoch);
    this.tb.addScalar('train', 'epoch_acc', m.accuracy, m.epoch);
    this.tb.addScalar('train', 'epoch_lr', m.learningRate, m.epoch);
    if (m.valLoss !== undefined && m.valAccuracy !== undefined) {
      this.tb.addScalar('validation', 'epoch_loss', m.valLoss, m.epoch);
      this.tb.addScalar('validation', 'epoch_acc', m.valAccuracy, m.epoch);
    }
    const meanAuroc = m.multilabel?.meanAuroc;
    if (meanAuroc !== undefined && meanAuroc !== null)
      this.tb.addScalar('validation', 'epoch_mean_auroc', meanAuroc, m.epoch);
    const meanIou = m.segmentation?.meanIou;
    if (meanIou !== undefined && meanIou !== null) this.tb.addScalar('validation', 'epoch_mean_iou', meanIou, m.epoch);
    this.tb.flush();
    if (m.confusion && m.valLoss !== undefined && m.valAccuracy !== undefined) {
      const { epoch, valLoss: loss, valAccuracy: accuracy, classNames, confusion } = m;
      appendEvaluation(this.runDir, {
        kind: 'validation',
        split: 'validation',
        epoch,
        step: globalStep,
        loss,
        accuracy,
        classNames,
        confusion,
        ...(m.validationExamples !== undefined ? { examples: m.validationExamples } : {}),
        ...(m.multilabel ? { multilabel: m.multilabel } : {}),
        ...(m.segmentation ? { segmentation: m.segmentation } : {}),
      });
    }
    updateRunInfo(this.runDir, { epochsCompleted: m.epoch, ...best });
    this.obs.epochEnd(m);
  }

  close(): void {
    this.metrics.close();
    this.tb.close();
  }
}

/**
 * For a resume from a checkpoint (`globalStep` batches, `epoch` epochs done): drops what a killed process logged
 * after it from the TensorBoard event files and evaluations.jsonl (metrics.jsonl: `rewriteMetrics`), since
 * those steps are trained again.
 */
export function trimLogsAfterCheckpoint(runDir: string, at: { globalStep: number; epoch: number }): void {
  trimTensorBoard(runDir, at);
  trimEvaluations(runDir, at.epoch);
}
