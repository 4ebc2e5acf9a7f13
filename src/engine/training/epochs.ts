/**
 * The epoch loop: batches through a `Stepper` at the scheduled learning rate, validation at the end of each
 * epoch, the `latest` checkpoint every epoch (and on a stop mid-epoch, so that a resume continues at the next
 * batch), the `best` one when the epoch is the best so far, early stopping. It tells the RunLog what happened;
 * it neither opens the run nor chooses between one thread and a pool of them.
 */
import type { LayersModel, Optimizer } from '@tensorflow/tfjs';
import { learningRateAt, type Task, type TrainingConfig } from '../../core';
import type { EpochMetrics, StopPosition, TrainingFinished } from '../../protocol/engine';
import type { Batch, DataPipeline, Rng } from '../data/open';
import { BestEpoch, bestMonitor, bestRecord, EarlyStopping, type EpochFigures } from './earlyStopping';
import { EpochProgress } from './progress';
import { type RngCheckpoint, type RunPosition, saveRunCheckpoint } from './run';
import type { RunLog } from './runLog';
import { type Evaluation, setLearningRate, type Step, type TrainControl } from './step';
import { namedEvaluation } from './tally';

/** How batches are trained and evaluated: on this thread, or sharded over a pool of workers. */
export interface Stepper {
  /** One optimisation step on a batch at learning rate `lr` (already set on the optimizer). */
  step(batch: Batch, lr: number): Step | Promise<Step>;
  evaluate(batches: AsyncIterable<Batch>): Promise<Evaluation>;
}

export interface EpochLoopOptions {
  config: TrainingConfig;
  /** What the best checkpoint is chosen by (bestMonitor). */
  task: Task;
  /** The epoch the training ends after. */
  epochs: number;
  stepsPerEpoch: number;
  data: DataPipeline;
  classNames: string[];
  runDir: string;
  model: LayersModel;
  optimizer: Optimizer;
  stepper: Stepper;
  log: RunLog;
  control: TrainControl;
}

/** How the loop ended, the epochs completed and the best epoch. */
export interface LoopOutcome {
  status: TrainingFinished['status'];
  epochsCompleted: number;
  best: BestEpoch;
  /** A stop: the epoch it was in and the batches of it trained. */
  stoppedAt?: StopPosition;
}

/** Trains from `start` until the last epoch, a cancel or early stopping. */
export function runEpochs(o: EpochLoopOptions, start: RunPosition): Promise<LoopOutcome> {
  return new EpochLoop(o, start).run();
}

class EpochLoop {
  private globalStep: number;
  private skip: number;
  private readonly rng: Rng;
  private readonly best: BestEpoch;
  private readonly stopping: EarlyStopping | undefined;

  constructor(
    private readonly o: EpochLoopOptions,
    private readonly start: RunPosition,
  ) {
    this.globalStep = start.globalStep;
    this.skip = start.skipInFirstEpoch;
    this.rng = start.rng;
    this.best = new BestEpoch(bestMonitor(Boolean(o.data.validation), o.task), {
      value: start.best,
      epoch: start.bestEpoch,
      monitor: start.bestMonitor,
    });
    this.stopping = o.config.earlyStopping && new EarlyStopping(o.config.earlyStopping);
  }

  async run(): Promise<LoopOutcome> {
    const { epochs, stepsPerEpoch, control, log } = this.o;
    let epochsCompleted = this.start.epoch;
    const end = (status: LoopOutcome['status'], stoppedAt?: StopPosition): LoopOutcome => ({
      status,
      epochsCompleted,
      best: this.best,
      ...(stoppedAt ? { stoppedAt } : {}),
    });
    for (let epoch = this.start.epoch; epoch < epochs; epoch++) {
      const epochStartRng = this.rng.state();
      const { progress, lr } = await this.trainEpoch(epoch);
      if (control.cancelled && progress.step < stepsPerEpoch) {
        await this.save('latest', epoch, { epochStart: epochStartRng, stepInEpoch: progress.step });
        log.info(
          `Stopped at epoch ${epoch + 1}, batch ${progress.step}/${stepsPerEpoch}; checkpoint saved (resume continues from there).`,
        );
        return end('stopped', { epoch: epoch + 1, step: progress.step, stepsPerEpoch });
      }
      const figures = await this.endEpoch(progress, lr);
      epochsCompleted = epoch + 1;
      if (this.stopping?.update(figures)) {
        log.info(this.stopping.reason);
        return end('early-stopped');
      }
      if (control.cancelled) return end('stopped', { epoch: epoch + 1, step: stepsPerEpoch, stepsPerEpoch });
    }
    return end('completed');
  }

  /** The batches of an epoch (those a resumed checkpoint had trained drawn and skipped) until done or cancelled. */
  private async trainEpoch(epoch: number): Promise<{ progress: EpochProgress; lr: number }> {
    const { config: c, stepsPerEpoch, optimizer, stepper, log, control } = this.o;
    const progress = new EpochProgress(epoch);
    log.startEpoch();
    let lr = learningRateAt(c, epoch);
    for await (const batch of this.o.data.trainBatches(c.batchSize, this.rng)) {
      if (this.skip > 0) {
        this.skip--;
        progress.step++;
        continue;
      }
      lr = learningRateAt(c, epoch + progress.step / stepsPerEpoch);
      setLearningRate(optimizer, lr);
      const step = await stepper.step(batch, lr);
      this.globalStep++;
      progress.add(step, batch.size);
      log.batch(progress, step, batch.size, this.globalStep, lr);
      if (control.cancelled) break;
    }
    return { progress, lr };
  }

  /** Validation, checkpoints and the epoch's metrics; returns the figures early stopping watches. */
  private async endEpoch(progress: EpochProgress, lr: number): Promise<EpochFigures> {
    const { data, config: c, classNames, stepper } = this.o;
    const epoch = progress.epoch + 1;
    const trainEnd = Date.now();
    const val = data.validation
      ? namedEvaluation(await stepper.evaluate(data.evalBatches(data.validation, c.batchSize)), classNames)
      : undefined;
    const seconds = (Date.now() - progress.startedAt) / 1000;
    const figures: EpochFigures = {
      loss: progress.loss.value,
      accuracy: progress.accuracy.value,
      valLoss: val?.loss,
      valAccuracy: val?.accuracy,
      valMeanAuroc: val?.multilabel?.meanAuroc ?? undefined,
      valMeanIou: val?.segmentation?.meanIou ?? undefined,
    };
    const isBest = this.best.update(epoch, figures);
    const metrics: EpochMetrics = {
      epoch,
      epochs: this.o.epochs,
      loss: figures.loss,
      accuracy: figures.accuracy,
      valLoss: val?.loss,
      valAccuracy: val?.accuracy,
      learningRate: lr,
      imagesPerSecond: progress.imagesPerSecond(trainEnd),
      seconds,
      confusion: val?.confusion,
      classNames,
      best: isBest,
      ...(val ? { validationExamples: val.examples } : {}),
      ...(val?.multilabel ? { multilabel: val.multilabel } : {}),
      ...(val?.segmentation ? { segmentation: val.segmentation } : {}),
    };
    // The record first: a kill between it and the checkpoints loses nothing (resume trims it and redoes the epoch).
    this.o.log.recordEpoch(metrics, this.globalStep);
    const rngNext: RngCheckpoint = { epochStart: this.rng.state(), stepInEpoch: 0 };
    await this.save('latest', epoch, rngNext);
    if (isBest) await this.save('best', epoch, rngNext);
    this.o.log.epoch(metrics, this.globalStep, bestRecord(this.best, Boolean(data.validation)));
    return figures;
  }

  private async save(kind: 'latest' | 'best', epochsDone: number, rng: RngCheckpoint): Promise<void> {
    await saveRunCheckpoint(this.o.runDir, kind, this.o.model, this.o.optimizer, {
      epoch: epochsDone,
      globalStep: this.globalStep,
      best: this.best.value,
      bestEpoch: this.best.epoch,
      bestMonitor: this.best.monitor,
      rng,
    });
  }
}
