/**
 * Which epoch is the best so far, and when to stop early: pure bookkeeping over each epoch's metrics (no
 * tensors, no files), so that the epoch loop only asks and the rules are tested on their own.
 */
import type { Monitor, TrainingConfig } from '../../core';

/** The figures of an epoch a monitor can watch (validation ones are absent without validation data). */
export interface EpochFigures {
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
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
  }
}

/**
 * The best epoch so far by validation accuracy, or by training accuracy when there is no validation data:
 * the epoch of the `best` checkpoint. Starts from a resumed run's best.
 */
export class BestEpoch {
  readonly monitor: Monitor;

  constructor(
    hasValidation: boolean,
    public value: number | null = null,
    public epoch: number | null = null,
  ) {
    this.monitor = hasValidation ? 'val_accuracy' : 'accuracy';
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
