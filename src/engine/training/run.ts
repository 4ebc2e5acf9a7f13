/**
 * The run folder of a training: a new one with a freshly built model, or an existing one resumed from its
 * latest checkpoint; its lock (one writer per run) and what it recorded when it started (seed, split,
 * preprocessing), which a resume reads back instead of drawing again; the position in the training (epochs and
 * steps done, the best epoch, the data RNG) that a resume starts from and that every checkpoint saves.
 */
import * as path from 'path';
import type { LayersModel, Optimizer } from '@tensorflow/tfjs';
import type { Analysis } from '../../core';
import type { TrainRequest } from '../../protocol/engine';
import { Rng } from '../data/open';
import { CLASSIFIER_LAYER } from '../../core/freeze';
import { describeWeightsOrigin } from '../../core/weightsOrigin';
import { type InitialWeights, loadInitialWeights } from '../initialWeights';
import { buildModel } from '../model';
import { applyLayerWeights } from '../weights';
import { probeWritable, readJsonSync, writeJsonAtomicSync } from '../../runs/atomic';
import { checkpointDir } from '../../runs/checkpointFiles';
import { METRICS_FILE, rewriteMetrics } from '../../runs/metricsLog';
import { PREPROCESSING_JSON, type Preprocessing } from '../../runs/preprocessing';
import { createRun, finishRun, readRunInfo, updateRunInfo } from '../../runs/runFolder';
import { acquireRunLock, type RunLock } from '../../runs/runLock';
import { readRunSplit, type RunSplit, writeRunSplit } from '../../runs/runSplit';
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
  /** What `best` is (a Monitor), as the checkpoint says. */
  bestMonitor?: string;
  /** The data RNG at the start of the next epoch (the one `epoch` counts to). */
  rng: Rng;
  /** Batches of that epoch already trained (a run stopped mid-epoch): they are drawn and skipped. */
  skipInFirstEpoch: number;
}

/** An open run: its folder (run.json says `running`), its lock and model (the caller releases and disposes them), where it starts. */
export interface OpenedRun {
  runDir: string;
  lock: RunLock;
  model: LayersModel;
  position: RunPosition;
}

/** An existing run this process has locked to resume, and what it recorded when it started. */
export interface ClaimedRun {
  runDir: string;
  lock: RunLock;
  /** Absent for a run that started before runs recorded them. */
  split?: RunSplit;
  preprocessing?: Preprocessing;
}

/**
 * Locks the run folder `resumeRunDir` for this process and reads what it recorded. Throws when it is not a run
 * folder, or when another live process trains it (naming that process).
 */
export function claimRun(resumeRunDir: string): ClaimedRun {
  const runDir = existingRun(resumeRunDir);
  const lock = acquireRunLock(runDir);
  try {
    const split = readRunSplit(runDir);
    const preprocessing = readJsonSync<Preprocessing>(path.join(runDir, PREPROCESSING_JSON));
    return { runDir, lock, split, preprocessing };
  } catch (e) {
    lock.release();
    throw e;
  }
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
  /** `model.weights` and the spec's folder (paths in it are relative to that): a new run starts from them. */
  weights?: { ref: string; baseDir: string };
  info(message: string): void;
}

/** The most bytes the writability check writes (a checkpoint's size, up to this). */
const MAX_PROBE_BYTES = 64 * 2 ** 20;

/**
 * Opens the run: `claimed` (from `claimRun`) continued from its latest checkpoint, or a new run under
 * `req.workspaceDir`, locked. Checks that the folder can take a checkpoint before any epoch. A failure once the
 * folder is known marks the run failed (and releases the lock).
 */
export async function openRun(
  req: TrainRequest,
  claimed: ClaimedRun | undefined,
  o: OpenRunOptions,
): Promise<OpenedRun> {
  // Read and checked before a new run's folder exists: weights that do not fit leave no failed run behind.
  // A resume never applies them again: its checkpoint holds the weights it reached.
  const initial =
    !claimed && o.weights ? await loadInitialWeights(o.weights.ref, o.weights.baseDir, o.analysis) : undefined;
  const runDir = claimed ? claimed.runDir : newRun(req, o);
  let lock: RunLock | undefined = claimed?.lock;
  let model: LayersModel | undefined;
  try {
    lock ??= acquireRunLock(runDir);
    let position: RunPosition;
    if (claimed) ({ model, position } = await resumeRun(runDir, o));
    else {
      model = buildModel(o.analysis, { seed: o.modelSeed, batchNormEpsilon: initial?.batchNormEpsilon });
      if (initial) startFromWeights(runDir, model, initial, o);
      position = freshPosition(o.seed);
    }
    // weights, and up to two optimizer slots per weight (Adam), in float32
    await probeWritable(runDir, Math.min(MAX_PROBE_BYTES, model.countParams() * 4 * 3));
    return { runDir, lock, model, position };
  } catch (e) {
    model?.dispose();
    failRun(runDir, e);
    lock?.release();
    throw e;
  }
}

/**
 * Writes what the run keeps from its start (split.json, preprocessing.json) unless it has them already: a
 * resumed run keeps its own, byte for byte.
 */
export function recordRunStart(
  runDir: string,
  claimed: ClaimedRun | undefined,
  split: RunSplit,
  preprocessing: Preprocessing,
): void {
  if (!claimed?.split) writeRunSplit(runDir, split);
  if (!claimed?.preprocessing) writePreprocessing(runDir, preprocessing);
}

/** Applies the initial weights to a new run's model, says so (and whether the classifier starts new), records them. */
function startFromWeights(runDir: string, model: LayersModel, initial: InitialWeights, o: OpenRunOptions): void {
  applyLayerWeights(model, initial.weights, { keep: initial.replacedClassifier ? [CLASSIFIER_LAYER] : [] });
  o.info(`Starting from the weights of ${describeWeightsOrigin(initial.origin, o.analysis.classes)}`);
  const r = initial.replacedClassifier;
  if (r) o.info(replacedClassifierMessage(r.fileShape, r.modelShape));
  updateRunInfo(runDir, { initialWeights: initial.origin });
}

/** "The weights have 1000 classes, the spec 5: the classifier `predictions` starts new (1024×5)". */
export function replacedClassifierMessage(fileShape: number[], modelShape: number[]): string {
  return `The weights have ${fileShape[1]} classes, the spec ${modelShape[1]}: the classifier \`${CLASSIFIER_LAYER}\` starts new (${modelShape.join('×')})`;
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
      ...(state.bestMonitor !== undefined ? { bestMonitor: state.bestMonitor } : {}),
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
      stoppedAt: undefined,
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
  bestMonitor: string;
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
    state: {
      epoch: at.epoch,
      step: at.globalStep,
      bestMetric: at.best,
      bestEpoch: at.bestEpoch,
      bestMonitor: at.bestMonitor,
      rngState: at.rng,
    },
  });
}

/** Writes preprocessing.json beside the checkpoints. */
export function writePreprocessing(runDir: string, preprocessing: Preprocessing): void {
  writeJsonAtomicSync(path.join(runDir, PREPROCESSING_JSON), preprocessing);
}

/**
 * Marks a run failed with the error that ended it. Never throws, so that the error that ended the run is the one
 * reported: when even run.json cannot be written (a full disk), the run reads `interrupted` once this process
 * ends (its lock's holder is gone).
 */
export function failRun(runDir: string, e: unknown): void {
  try {
    finishRun(runDir, 'failed', { error: e instanceof Error ? e.message : String(e) });
  } catch {
    // see above
  }
}
