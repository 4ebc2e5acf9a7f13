/**
 * Which epoch is the best so far, and when to stop early: pure bookkeeping over each epoch's metrics (no
 * tensors, no files), so that the epoch loop only asks and the rules are tested on their own.
 */
import type { Monitor, Task, TrainingConfig } from '../../core';

/** The figures of an epoch a monitor can watch (validation ones are absent without validation data). */
export interface EpochFigures {
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** A multi-label run's mean AUROC over the labels (absent when no label has both positives and negatives). */
  valMeanAuroc?: number;
  /** A segmentation run's mean IoU over the classes. */
  valMeanIou?: number;
}

/** Whether `value` improves on `best` by more than `minDelta`: lower for a loss, higher for an accuracy. */
export function improved(monitor: Monitor, value: number, best: number | null, minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === null) return true;
  return monitor.endsWith('loss') ? value < best - minDelta : value > best + minDelta;
}

/** The value a monitor watches in an epoch's figures. */
export function monitored(monitor: Monitor, f: EpochFigures): number | undefined {
  switch (monitor) {
    case 'val_loss':
      return f.valLoss;
    case 'val_accuracy':
      return f.valAccuracy;
    case 'loss':
      return f.loss;
    case 'accuracy':
      return f.accuracy;
    case 'val_mean_auroc':
      return f.valMeanAuroc;
    case 'val_mean_iou':
      return f.valMeanIou;
  }
}

/**
 * What the `best` checkpoint is chosen by: the validation figure a task is judged by (accuracy for one class per
 * image, mean AUROC for multi-label, mean IoU for segmentation: their accuracies count label decisions at 0.5 or
 * pixels, mostly background), or the training accuracy when there is no validation data.
 */
export function bestMonitor(hasValidation: boolean, task: Task): Monitor {
  if (!hasValidation) return 'accuracy';
  return task === 'multilabel' ? 'val_mean_auroc' : task === 'segmentation' ? 'val_mean_iou' : 'val_accuracy';
}

/**
 * The best epoch so far by `monitor` (bestMonitor): the epoch of the `best` checkpoint. Starts from a resumed run's
 * best when it was chosen by the same monitor (a checkpoint written before runs chose by the task's figure was
 * chosen by val_accuracy, or accuracy without validation).
 */
export class BestEpoch {
  value: number | null = null;
  epoch: number | null = null;

  constructor(
    readonly monitor: Monitor,
    resumed?: { value: number | null; epoch: number | null; monitor?: string },
  ) {
    const resumedMonitor = resumed?.monitor ?? (monitor === 'accuracy' ? 'accuracy' : 'val_accuracy');
    if (resumed && resumedMonitor === monitor) {
      this.value = resumed.value;
      this.epoch = resumed.epoch;
    }
  }

  /** Records epoch `epoch` (1-based); true when it is the new best. */
  update(epoch: number, f: EpochFigures): boolean {
    const value = monitored(this.monitor, f) ?? NaN;
    if (!improved(this.monitor, value, this.value)) return false;
    this.value = value;
    this.epoch = epoch;
    return true;
  }
}

/** What run.json records of the best epoch: its monitor and value (with validation data) and its number. */
export interface BestRecord {
  /** The best epoch's validation accuracy when that is what chose it (one class per image). */
  bestValAccuracy?: number;
  bestMonitor?: Monitor;
  bestValue?: number;
  bestEpoch?: number;
}

/** run.json's record of `best`: the figure only when it is a validation one. */
export function bestRecord(best: BestEpoch, hasValidation: boolean): BestRecord {
  const r: BestRecord = {};
  if (hasValidation && best.value !== null) {
    r.bestMonitor = best.monitor;
    r.bestValue = best.value;
    if (best.monitor === 'val_accuracy') r.bestValAccuracy = best.value;
  }
  if (best.epoch !== null) r.bestEpoch = best.epoch;
  return r;
}

/**
 * `training.earlyStopping`: stops once the monitored value has not improved by more than `minDelta` for
 * `patience` epochs in a row. Counts from the start of this session (a resumed run starts afresh).
 */
export class EarlyStopping {
  private best: number | null = null;
  private wait = 0;

  constructor(readonly config: NonNullable<TrainingConfig['earlyStopping']>) {}

  /** Records an epoch; true when training should stop after it. */
  update(f: EpochFigures): boolean {
    const value = monitored(this.config.monitor, f);
    if (value !== undefined && improved(this.config.monitor, value, this.best, this.config.minDelta)) {
      this.best = value;
      this.wait = 0;
      return false;
    }
    return ++this.wait >= this.config.patience;
  }

  /** Why training stopped, for the log. */
  get reason(): string {
    return `Early stopping: ${this.config.monitor} has not improved for ${this.config.patience} epoch(s).`;
  }
}
