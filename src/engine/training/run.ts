/**
 * The run folder of a training: a new one with a freshly built model, or an existing one resumed from its
 * latest checkpoint; the position in the training (epochs and steps done, the best epoch, the data RNG) that a
 * resume starts from and that every checkpoint saves.
 */
import * as path from 'path';
import type { LayersModel, Optimizer } from '@tensorflow/tfjs';
import type { Analysis } from '../../core';
import type { TrainRequest } from '../../protocol/engine';
import { Rng } from '../data/open';
import { buildModel } from '../model';
import { writeJsonAtomicSync } from '../../runs/atomic';
import { checkpointDir } from '../../runs/checkpointFiles';
import { METRICS_FILE, rewriteMetrics } from '../../runs/metricsLog';
import { PREPROCESSING_JSON, type Preprocessing } from '../../runs/preprocessing';
import { createRun, finishRun, readRunInfo, updateRunInfo } from '../../runs/runFolder';
import { loadCheckpoint, saveCheckpoint } from '../checkpoint';
import { trimLogsAfterCheckpoint } from './runLog';

/** The random state saved with a checkpoint: the data RNG at the start of the epoch, and the batches done. */
export interface RngCheckpoint {
  epochStart: number;
  stepInEpoch: number;
}

/** Where a training stands between two batches. */
export interface RunPosition {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken since the run began. */
  globalStep: number;
  /** The best epoch's monitored value and number (1-based), if any epoch ended. */
  best: number | null;
  bestEpoch: number | null;
  /** The data RNG at the start of the next epoch (the one `epoch` counts to). */
  rng: Rng;
  /** Batches of that epoch already trained (a run stopped mid-epoch): they are drawn and skipped. */
  skipInFirstEpoch: number;
}

/** An open run: its folder (run.json says `running`), its model (the caller disposes it), where it starts. */
export interface OpenedRun {
  runDir: string;
  model: LayersModel;
  position: RunPosition;
}

export interface OpenRunOptions {
  /** The spec's name and analysis (a new run builds its model from it). */
  specName: string;
  analysis: Analysis;
  /** The epoch the training ends after, the backend and the seed of the data RNG and of the new model's weights. */
  epochs: number;
  backend: string;
  seed: number;
  /** `training.seed`: the weights of a new model are random when it is unset. */
  modelSeed: number | undefined;
  /** The optimizer of the training: a resume restores its state from the checkpoint. */
  optimizer: Optimizer;
  info(message: string): void;
}

/**
 * Opens the run `req` asks for: `req.resumeRunDir` continued from its latest checkpoint, or a new run under
 * `req.workspaceDir`. A failure once the folder is known marks the run failed.
 */
export async function openRun(req: TrainRequest, o: OpenRunOptions): Promise<OpenedRun> {
  const runDir = req.resumeRunDir ? existingRun(req.resumeRunDir) : newRun(req, o);
  try {
    if (req.resumeRunDir) return { runDir, ...(await resumeRun(runDir, o)) };
    const model = buildModel(o.analysis, { seed: o.modelSeed });
    return { runDir, model, position: freshPosition(o.seed) };
  } catch (e) {
    failRun(runDir, e);
    throw e;
  }
}

/** The position of a new run: nothing done, the data RNG seeded with `seed`. */
export function freshPosition(seed: number): RunPosition {
  return { epoch: 0, globalStep: 0, best: null, bestEpoch: null, rng: new Rng(seed), skipInFirstEpoch: 0 };
}

function newRun(req: TrainRequest, o: OpenRunOptions): string {
  return createRun({
    baseFolder: req.workspaceDir,
    specName: o.specName,
    specText: req.specText,
    specFile: req.specPath,
    epochs: o.epochs,
    backend: o.backend,
    pid: process.pid,
  }).runDir;
}

/** The absolute path of a run folder to resume; throws when it has no run.json. */
function existingRun(resumeRunDir: string): string {
  const runDir = path.resolve(resumeRunDir);
  if (!readRunInfo(runDir))
    throw new Error(`${runDir} is not a run folder (no run.json): resume takes a folder under .densenet/runs/<spec>/.`);
  return runDir;
}

/**
 * Loads the latest checkpoint of `runDir` (model, optimizer state, position), trims metrics.jsonl back to it
 * and marks the run running again.
 */
async function resumeRun(runDir: string, o: OpenRunOptions): Promise<{ model: LayersModel; position: RunPosition }> {
  const { model, state } = await loadCheckpoint(checkpointDir(runDir, 'latest'), { optimizer: o.optimizer });
  try {
    const r = state.rngState as RngCheckpoint;
    const position: RunPosition = {
      epoch: state.epoch,
      globalStep: state.step,
      best: state.bestMetric,
      bestEpoch: state.bestEpoch,
      rng: Rng.fromState(r.epochStart),
      skipInFirstEpoch: r.stepInEpoch,
    };
    // A killed process may have logged batches past its last checkpoint: the curve continues from the checkpoint.
    rewriteMetrics(path.join(runDir, METRICS_FILE), (m) => m.step <= position.globalStep);
    trimLogsAfterCheckpoint(runDir, position);
    updateRunInfo(runDir, {
      status: 'running',
      epochs: o.epochs,
      backend: o.backend,
      pid: process.pid,
      endedAt: undefined,
      error: undefined,
      exitCode: undefined,
      signal: undefined,
      stderrTail: undefined,
    });
    const skip = position.skipInFirstEpoch;
    o.info(
      `Resuming ${runDir} at epoch ${position.epoch + 1}${skip ? `, batch ${skip + 1}` : ''} (step ${position.globalStep})`,
    );
    return { model, position };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** What a checkpoint records besides the weights and the optimizer. */
export interface CheckpointPosition {
  /** Epochs completed. */
  epoch: number;
  globalStep: number;
  best: number | null;
  bestEpoch: number | null;
  rng: RngCheckpoint;
}

/** Saves the `latest` or `best` checkpoint of a run. */
export async function saveRunCheckpoint(
  runDir: string,
  kind: 'latest' | 'best',
  model: LayersModel,
  optimizer: Optimizer,
  at: CheckpointPosition,
): Promise<void> {
  await saveCheckpoint(checkpointDir(runDir, kind), {
    model,
    optimizer,
    state: { epoch: at.epoch, step: at.globalStep, bestMetric: at.best, bestEpoch: at.bestEpoch, rngState: at.rng },
  });
}

/** Writes preprocessing.json beside the checkpoints. */
export function writePreprocessing(runDir: string, preprocessing: Preprocessing): void {
  writeJsonAtomicSync(path.join(runDir, PREPROCESSING_JSON), preprocessing);
}

/** Marks a run failed with the error that ended it. */
export function failRun(runDir: string, e: unknown): void {
  finishRun(runDir, 'failed', { error: e instanceof Error ? e.message : String(e) });
}
