/**
 * Checkpoint files without tfjs: their layout, the training state, and finding a checkpoint from what a user
 * points at (a run folder, a checkpoint folder, a model.json). The model and optimizer tensors are saved and
 * loaded by `src/engine/checkpoint.ts`.
 *
 *   <runDir>/checkpoints/latest/  model.json, weights.bin, optimizer.bin, training_state.json
 *   <runDir>/checkpoints/best/    the same, for the best validation metric so far
 */
import * as fs from 'fs';
import * as path from 'path';
import { readJsonSync, resolveAtomicDir } from './atomic';
import { JsonObject } from './jsonCheck';
import { listRuns, newestFirst, RUN_JSON, runsRoot, type RunInfo, type RunListing } from './runFolder';
import { checkWeightsManifest, type WeightsGroupJson } from './weightFiles';

export type CheckpointKind = 'latest' | 'best';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const OPTIMIZER_BIN = 'optimizer.bin';
export const TRAINING_STATE_JSON = 'training_state.json';

export type { WeightSpecJson, WeightsGroupJson } from './weightFiles';

export interface OptimizerStateJson {
  /** tfjs class name (`SGDOptimizer`, `MomentumOptimizer`, `AdamOptimizer`, ...). */
  className: string;
  config: Record<string, unknown>;
  /** `optimizer.getWeights()` in order (first `iter`), stored in optimizer.bin. */
  weightsManifest: WeightsGroupJson[];
  /**
   * Scalars some optimizers keep outside `getWeights()` (Adam's `accBeta1`/`accBeta2` products), restored so a
   * resumed run continues bit for bit.
   */
  extra?: Record<string, number>;
}

export interface TrainingState {
  /** Completed epochs. */
  epoch: number;
  /** Global step (batches trained). */
  step: number;
  bestMetric: number | null;
  bestEpoch: number | null;
  /** What bestMetric is (e.g. `val_mean_iou`); absent in checkpoints written before runs chose by the task's figure. */
  bestMonitor?: string;
  /** Opaque state of the caller's random generators (shuffling, augmentation). */
  rngState: unknown;
  lrScheduleState?: unknown;
  specHash?: string;
  /** ISO time the checkpoint was written. */
  time: string;
  optimizer?: OptimizerStateJson;
}

export const checkpointsDir = (runDir: string): string => path.join(runDir, 'checkpoints');
export const checkpointDir = (runDir: string, kind: CheckpointKind): string => path.join(checkpointsDir(runDir), kind);

/**
 * The folder holding the complete checkpoint `dir` (`.../latest` or `.../best`): itself, or its `.old` copy when
 * a crash interrupted a replacement. Undefined when there is none.
 */
export function resolveCheckpointDir(dir: string): string | undefined {
  return resolveAtomicDir(dir);
}

/** `value` (the content of `file`) as optimizer state, type-checked; throws naming the field otherwise. */
function checkOptimizerState(o: JsonObject): OptimizerStateJson {
  const extra = o.optObject('extra');
  const state: OptimizerStateJson = {
    className: o.string('className'),
    config: o.object('config').value,
    weightsManifest: checkWeightsManifest(o.file, o.raw('weightsManifest'), o.path('weightsManifest')),
  };
  if (extra) state.extra = Object.fromEntries(Object.keys(extra.value).map((k) => [k, extra.number(k)]));
  return state;
}

/** `value` (the content of the training_state.json `file`) type-checked; throws naming the field otherwise. */
export function checkTrainingState(file: string, value: unknown): TrainingState {
  const o = JsonObject.of(file, value);
  const state: TrainingState = {
    epoch: o.int('epoch'),
    step: o.int('step'),
    bestMetric: o.numberOrNull('bestMetric'),
    bestEpoch: o.intOrNull('bestEpoch'),
    rngState: o.raw('rngState'),
    time: o.string('time'),
  };
  if (o.has('lrScheduleState')) state.lrScheduleState = o.raw('lrScheduleState');
  const bestMonitor = o.optString('bestMonitor');
  if (bestMonitor !== undefined) state.bestMonitor = bestMonitor;
  const specHash = o.optString('specHash');
  if (specHash !== undefined) state.specHash = specHash;
  const optimizer = o.optObject('optimizer');
  if (optimizer) state.optimizer = checkOptimizerState(optimizer);
  return state;
}

/**
 * The training state of the checkpoint `dir` (with the `.old` fallback), type-checked, or undefined if there is
 * none. Throws naming the file and the field when it is malformed.
 */
export function readTrainingState(dir: string): TrainingState | undefined {
  const found = resolveCheckpointDir(dir);
  if (found === undefined) return undefined;
  const file = path.join(found, TRAINING_STATE_JSON);
  const value = readJsonSync<unknown>(file);
  return value === undefined ? undefined : checkTrainingState(file, value);
}

/** The complete checkpoint of a run folder a prediction should use: its best one, else its latest, else none. */
export function bestOrLatestCheckpoint(runDir: string): string | undefined {
  return resolveCheckpointDir(checkpointDir(runDir, 'best')) ?? resolveCheckpointDir(checkpointDir(runDir, 'latest'));
}

/**
 * What `arg` designates: a run folder (its best checkpoint, else latest), a checkpoint folder, or a model.json.
 * `modelPath` is the folder (or model.json) to load, `runDir` the run folder holding its preprocessing.json.
 * Throws with an explanation when there is no checkpoint there.
 */
export function locateCheckpoint(arg: string): { modelPath: string; runDir: string } {
  const abs = path.resolve(arg);
  if (fs.existsSync(path.join(abs, RUN_JSON))) {
    const dir = bestOrLatestCheckpoint(abs);
    if (!dir) throw new Error(`${arg} has no checkpoint yet: train it for an epoch first`);
    return { modelPath: dir, runDir: abs };
  }
  const dir = abs.endsWith('.json') ? path.dirname(abs) : abs;
  const found = resolveCheckpointDir(dir);
  if (!found)
    throw new Error(
      `No checkpoint at ${arg}: give a run folder, a checkpoint folder (…/checkpoints/best) or its model.json`,
    );
  return { modelPath: abs.endsWith('.json') ? abs : found, runDir: path.resolve(dir, '..', '..') };
}

/**
 * Whether the run can be resumed: it is neither training (`running`) nor finished (`completed`) nor of a status
 * run.json does not state correctly (`unknown` in a listing), and it has a checkpoints folder. A run whose writer
 * died is `interrupted` in `listRuns` and so resumable. The one rule
 * behind the resume command and the dashboard's resume buttons.
 */
export function isResumable(run: { status: RunInfo['status'] | 'unknown'; runDir: string }): boolean {
  return (
    run.status !== 'running' &&
    run.status !== 'completed' &&
    run.status !== 'unknown' &&
    fs.existsSync(checkpointsDir(run.runDir))
  );
}

/** The runs of every spec under the base folders (workspace folders) that have a checkpoint, newest first. */
export function runsWithCheckpoints(baseFolders: readonly string[]): RunListing[] {
  const runs: RunListing[] = [];
  for (const folder of baseFolders) {
    let specDirs: fs.Dirent[];
    try {
      specDirs = fs.readdirSync(runsRoot(folder), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const d of specDirs) {
      if (!d.isDirectory()) continue;
      for (const run of listRuns(path.join(runsRoot(folder), d.name))) {
        if (bestOrLatestCheckpoint(run.runDir) !== undefined) runs.push(run);
      }
    }
  }
  return runs.sort(newestFirst);
}
