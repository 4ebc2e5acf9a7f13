/**
 * Run folders: `<workspace or spec folder>/.densenet/runs/<spec name>/<run id>/` holding
 *   run.json             status and summary (replaced atomically on every update)
 *   spec.densenet.json   the spec text the run was started with
 *   metrics.jsonl        see metricsLog.ts
 *   preprocessing.json   see preprocessing.ts
 *   split.json           see runSplit.ts: the effective seed and the validation split, written once
 *   writer.lock          see runLock.ts: the process training the run, while it does
 *   engine.json          see runEngine.ts: the socket of the detached engine training the run, while it does
 *   engine.log           the detached engine's stdout and stderr
 *   checkpoints/         see checkpointFiles.ts (the tensors: src/engine/checkpoint.ts)
 *   tensorboard/         see tensorboard.ts
 *
 * No tfjs here: the extension host lists runs and marks a run failed when the engine process dies.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { RunStatus, StopPosition } from '../protocol/engine';
import { readJsonSync, writeFileAtomicSync, writeJsonAtomicSync } from './atomic';
import type { WeightsOrigin } from '../core/weightsOrigin';
import { JsonFileError, JsonObject } from './jsonCheck';
import { effectiveStatus } from './runLock';

export const RUN_JSON = 'run.json';
export const SPEC_SNAPSHOT = 'spec.densenet.json';

export const TERMINAL_STATUSES: readonly RunStatus[] = ['completed', 'stopped', 'cancelled', 'failed', 'early-stopped'];

export interface RunInfo {
  runId: string;
  specName: string;
  /** Path of the spec file the run was started from, if any. */
  specFile?: string;
  status: RunStatus;
  /** 'tensorflow' | 'wasm' | 'cpu' once chosen. */
  backend?: string;
  /** ISO times. */
  startedAt: string;
  updatedAt: string;
  endedAt?: string;
  /** Epochs planned (the spec's training.epochs or its override). */
  epochs: number;
  epochsCompleted?: number;
  /** A `stopped` run: the epoch it was in, the batches of it trained (its checkpoint continues from there). */
  stoppedAt?: StopPosition;
  /** The best epoch's validation accuracy, when that chose it (one class per image). */
  bestValAccuracy?: number;
  /** What chose the best epoch (`val_accuracy`, `val_mean_auroc` for multi-label, `val_mean_iou` for segmentation), and its value. */
  bestMonitor?: string;
  bestValue?: number;
  /** 1-based epoch of the best checkpoint. */
  bestEpoch?: number;
  /** Run id (or folder) whose checkpoint this run resumed from. */
  resumedFrom?: string;
  /** Process id of the engine that is training it. */
  pid?: number;
  error?: string;
  exitCode?: number | null;
  signal?: string | null;
  /** Last lines the engine wrote to stderr before it died. */
  stderrTail?: string;
  /** Where the model's weights came from when the run started (`model.weights`); absent: random initialisation. */
  initialWeights?: WeightsOrigin;
  /** The name the user gave the run (Compare Runs: Rename); the folder keeps its run id. */
  displayName?: string;
  /** The user's free-text notes on the run (Compare Runs: Notes). */
  notes?: string;
}

/**
 * A run as listed: its run.json with each field checked. A field of the wrong type is replaced (`runId` by the
 * folder's name, `specName` by its parent's, `status` by `unknown`, `startedAt`/`updatedAt` by '', `epochs` by
 * 0) or dropped (the optional ones), and named in `problems`; one bad field does not hide the run.
 */
export type RunListing = Omit<RunInfo, 'status'> & {
  status: RunStatus | 'unknown';
  runDir: string;
  /** The fields of run.json that had the wrong type, with what was wrong. */
  problems?: string[];
};

/** Every run status, once (the compiler checks the list is complete). */
export const RUN_STATUSES = Object.keys({
  running: true,
  completed: true,
  stopped: true,
  cancelled: true,
  failed: true,
  'early-stopped': true,
  interrupted: true,
} satisfies Record<RunStatus, true>) as RunStatus[];

type FieldCheck = (o: JsonObject, field: string) => unknown;
const str: FieldCheck = (o, f) => o.string(f);
const count: FieldCheck = (o, f) => o.int(f);
const strOrNull: FieldCheck = (o, f) => (o.raw(f) === null ? null : o.string(f));
const intOrNull: FieldCheck = (o, f) => (o.raw(f) === null ? null : o.int(f, -(2 ** 31)));

/** The fields of run.json a reader relies on, with their check; required ones have their listing default. */
const RUN_FIELDS: readonly { field: keyof RunInfo; check: FieldCheck; fallback?: (runDir: string) => unknown }[] = [
  { field: 'runId', check: str, fallback: (runDir) => path.basename(runDir) },
  { field: 'specName', check: str, fallback: (runDir) => path.basename(path.dirname(runDir)) },
  { field: 'status', check: (o, f) => o.oneOf(f, RUN_STATUSES), fallback: () => 'unknown' },
  { field: 'startedAt', check: str, fallback: () => '' },
  { field: 'updatedAt', check: str, fallback: () => '' },
  { field: 'epochs', check: count, fallback: () => 0 },
  { field: 'specFile', check: str },
  { field: 'backend', check: str },
  { field: 'endedAt', check: str },
  { field: 'epochsCompleted', check: count },
  { field: 'stoppedAt', check: (o, f) => checkStopPosition(o.object(f)) },
  { field: 'bestValAccuracy', check: (o, f) => o.number(f) },
  { field: 'bestMonitor', check: str },
  { field: 'bestValue', check: (o, f) => o.number(f) },
  { field: 'bestEpoch', check: count },
  { field: 'resumedFrom', check: str },
  { field: 'pid', check: count },
  { field: 'error', check: str },
  { field: 'exitCode', check: intOrNull },
  { field: 'signal', check: strOrNull },
  { field: 'stderrTail', check: str },
  { field: 'initialWeights', check: (o, f) => checkWeightsOrigin(o.object(f)) },
];

/**
 * The user's labels of a run: checked in a listing (a wrong one is dropped and named) but not by
 * `checkRunInfo`, so a hand-edited label never stops the engine from updating its run.
 */
const LABEL_FIELDS: readonly { field: keyof RunInfo; check: FieldCheck }[] = [
  { field: 'displayName', check: str },
  { field: 'notes', check: str },
];

const WEIGHTS_FORMATS = ['pytorch', 'safetensors', 'keras-h5', 'onnx', 'tfjs'] as const;

/** A WeightsOrigin read back from a file, checked field by field. */
export function checkWeightsOrigin(o: JsonObject): WeightsOrigin {
  o.string('ref');
  o.oneOf('format', WEIGHTS_FORMATS);
  o.string('path');
  o.optString('sha256');
  o.optString('pretrained');
  o.number('batchNormEpsilon', 0);
  o.optInt('replacedClassifierClasses', 1);
  return o.value as unknown as WeightsOrigin;
}

/** A StopPosition read back from run.json: whole numbers, the step within its epoch. */
export function checkStopPosition(o: JsonObject): StopPosition {
  o.int('epoch', 1);
  const steps = o.int('stepsPerEpoch', 1);
  if (o.int('step') > steps) o.fail('step', `at most stepsPerEpoch (${steps})`, o.raw('step'));
  return o.value as unknown as StopPosition;
}

/**
 * The epochs a run has trained, with the fraction of the epoch it stopped in: 1.93 for a run stopped at batch
 * 118/127 of epoch 2. Undefined when run.json does not tell.
 */
export function epochsTrained(r: { epochsCompleted?: number; stoppedAt?: StopPosition }): number | undefined {
  const s = r.stoppedAt;
  if (s && s.stepsPerEpoch > 0) return s.epoch - 1 + s.step / s.stepsPerEpoch;
  return r.epochsCompleted;
}

/** `Stopped at epoch 2, batch 118/127; checkpoint saved`: what a stop tells the user. */
export function describeStop(at: StopPosition | undefined, epochsCompleted: number): string {
  return at
    ? `Stopped at epoch ${at.epoch}, batch ${at.step}/${at.stepsPerEpoch}; checkpoint saved`
    : `Stopped after ${epochsCompleted} epoch(s); checkpoint saved`;
}

/** `value` (the content of the run.json `file`) type-checked; throws naming the file and the field otherwise. */
export function checkRunInfo(file: string, value: unknown): RunInfo {
  const o = JsonObject.of(file, value);
  for (const { field, check, fallback } of RUN_FIELDS) {
    if (fallback !== undefined || o.has(field)) check(o, field);
  }
  return o.value as unknown as RunInfo;
}

/** `value` (the content of `runDir`'s run.json) as a listing: wrong fields replaced or dropped, and named. */
export function runListing(runDir: string, value: unknown): RunListing | undefined {
  let o: JsonObject;
  try {
    o = JsonObject.of(path.join(runDir, RUN_JSON), value);
  } catch {
    return undefined;
  }
  const listing: Record<string, unknown> = { ...o.value };
  const problems: string[] = [];
  for (const { field, check, fallback } of [...RUN_FIELDS, ...LABEL_FIELDS] as typeof RUN_FIELDS) {
    if (fallback === undefined && !o.has(field)) continue;
    try {
      check(o, field);
    } catch (e) {
      if (!(e instanceof JsonFileError)) throw e;
      problems.push(e.message);
      if (fallback) listing[field] = fallback(runDir);
      else delete listing[field];
    }
  }
  listing.runDir = runDir;
  if (problems.length) listing.problems = problems;
  return listing as RunListing;
}

export const runsRoot = (baseFolder: string): string => path.join(baseFolder, '.densenet', 'runs');

/** A spec name usable as one folder name on every platform. */
export function safeFolderName(name: string): string {
  const cleaned = name
    // Control characters are exactly what this must remove.
    // eslint-disable-next-line no-control-regex
    .replace(/[<>:"/\\|?*\u0000-\u001f]/g, '_')
    .replace(/^[\s.]+|[\s.]+$/g, '')
    .slice(0, 100);
  return cleaned === '' || /^(con|prn|aux|nul|com\d|lpt\d)$/i.test(cleaned) ? `_${cleaned}` : cleaned;
}

/** `<baseFolder>/.densenet/runs/<spec name>`: the folder holding the runs of one spec. */
export const runsDirFor = (baseFolder: string, specName: string): string =>
  path.join(runsRoot(baseFolder), safeFolderName(specName));

/** `2026-11-29T07-30-12-abc`: UTC time to the second, then three random base-36 characters. Sorts by time. */
export function newRunId(date: Date = new Date()): string {
  const stamp = date.toISOString().slice(0, 19).replace(/:/g, '-');
  let suffix = '';
  for (let i = 0; i < 3; i++) suffix += '0123456789abcdefghijklmnopqrstuvwxyz'[Math.floor(Math.random() * 36)];
  return `${stamp}-${suffix}`;
}

export interface CreateRunOptions {
  /** Workspace folder, or the spec's folder when there is no workspace. */
  baseFolder: string;
  specName: string;
  specText: string;
  epochs: number;
  specFile?: string;
  backend?: string;
  resumedFrom?: string;
  pid?: number;
  now?: Date;
}

export interface CreatedRun {
  runId: string;
  runDir: string;
  info: RunInfo;
}

/** Creates a new run folder with its spec snapshot and a `running` run.json. */
export function createRun(options: CreateRunOptions): CreatedRun {
  const parent = runsDirFor(options.baseFolder, options.specName);
  fs.mkdirSync(parent, { recursive: true });
  const now = options.now ?? new Date();
  for (let attempt = 0; ; attempt++) {
    const runId = newRunId(now);
    const runDir = path.join(parent, runId);
    try {
      fs.mkdirSync(runDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
      throw e;
    }
    const time = now.toISOString();
    const info: RunInfo = {
      runId,
      specName: options.specName,
      status: 'running',
      startedAt: time,
      updatedAt: time,
      epochs: options.epochs,
    };
    if (options.specFile !== undefined) info.specFile = options.specFile;
    if (options.backend !== undefined) info.backend = options.backend;
    if (options.resumedFrom !== undefined) info.resumedFrom = options.resumedFrom;
    if (options.pid !== undefined) info.pid = options.pid;
    writeFileAtomicSync(path.join(runDir, SPEC_SNAPSHOT), options.specText);
    writeJsonAtomicSync(path.join(runDir, RUN_JSON), info);
    return { runId, runDir, info };
  }
}

/** The run.json of `runDir` type-checked; undefined when it is missing. Throws naming the field when it is malformed. */
export function readRunInfoChecked(runDir: string): RunInfo | undefined {
  const file = path.join(runDir, RUN_JSON);
  const value = readJsonSync<unknown>(file);
  return value === undefined ? undefined : checkRunInfo(file, value);
}

/** The run.json of `runDir`, or undefined when it is missing, unreadable or malformed. */
export function readRunInfo(runDir: string): RunInfo | undefined {
  try {
    return readRunInfoChecked(runDir);
  } catch {
    return undefined;
  }
}

/** Read-modify-write of run.json (atomic replacement). `updatedAt` is set. Throws if there is no valid run.json. */
export function updateRunInfo(runDir: string, update: Partial<RunInfo> | ((info: RunInfo) => RunInfo)): RunInfo {
  const current = readRunInfoChecked(runDir);
  if (!current) throw new Error(`${path.join(runDir, RUN_JSON)} is missing`);
  const next: RunInfo = typeof update === 'function' ? update({ ...current }) : { ...current, ...update };
  next.updatedAt = new Date().toISOString();
  writeJsonAtomicSync(path.join(runDir, RUN_JSON), next);
  return next;
}

/** Longest display name and notes a run keeps (characters). */
export const MAX_DISPLAY_NAME = 200;
export const MAX_NOTES = 10_000;

/**
 * Sets (or, with '', removes) the display name and notes of a run in its run.json, keeping every other field as
 * it is on disk (and `updatedAt`: the labels are not the run's progress). Throws when run.json is missing or is
 * not a JSON object, or a label is too long.
 */
export function setRunLabels(
  runDir: string,
  labels: { displayName?: string; notes?: string },
): Record<string, unknown> {
  const file = path.join(runDir, RUN_JSON);
  const current = JsonObject.of(file, readJsonSync<unknown>(file)).value;
  const next: Record<string, unknown> = { ...current };
  const limits = { displayName: MAX_DISPLAY_NAME, notes: MAX_NOTES } as const;
  for (const field of ['displayName', 'notes'] as const) {
    const value = labels[field];
    if (value === undefined) continue;
    const text = field === 'displayName' ? value.trim() : value;
    if (text.length > limits[field])
      throw new Error(
        `The ${field === 'notes' ? 'notes are' : 'name is'} too long: keep it under ${limits[field]} characters.`,
      );
    if (text.trim() === '') delete next[field];
    else next[field] = text;
  }
  writeJsonAtomicSync(file, next);
  return next;
}

/** Sets a final status and `endedAt`. */
export function finishRun(
  runDir: string,
  status: Exclude<RunStatus, 'running' | 'interrupted' | 'cancelled'>,
  extra: Partial<RunInfo> = {},
): RunInfo {
  return updateRunInfo(runDir, { ...extra, status, endedAt: extra.endedAt ?? new Date().toISOString() });
}

export interface FailureInfo {
  error: string;
  exitCode?: number | null;
  signal?: string | null;
  stderrTail?: string;
}

/**
 * For the host when the engine process ended abnormally. A run still `running` becomes `failed` with the error;
 * a run the engine had already finished keeps its status and only gains the exit code and signal. A run folder
 * without a readable run.json gets a minimal one. Returns the new run.json.
 */
export function markRunFailed(runDir: string, failure: FailureInfo): RunInfo {
  const exit: Partial<RunInfo> = {};
  if (failure.exitCode !== undefined) exit.exitCode = failure.exitCode;
  if (failure.signal !== undefined) exit.signal = failure.signal;
  const current = readRunInfo(runDir);
  if (!current) {
    const now = new Date().toISOString();
    const info: RunInfo = {
      runId: path.basename(runDir),
      specName: path.basename(path.dirname(runDir)),
      status: 'failed',
      startedAt: now,
      updatedAt: now,
      endedAt: now,
      epochs: 0,
      error: failure.error,
      ...exit,
    };
    if (failure.stderrTail !== undefined) info.stderrTail = failure.stderrTail;
    writeJsonAtomicSync(path.join(runDir, RUN_JSON), info);
    return info;
  }
  if (current.status !== 'running') return updateRunInfo(runDir, exit);
  const patch: Partial<RunInfo> = {
    ...exit,
    status: 'failed',
    error: failure.error,
    endedAt: new Date().toISOString(),
  };
  if (failure.stderrTail !== undefined) patch.stderrTail = failure.stderrTail;
  return updateRunInfo(runDir, patch);
}

/**
 * The run.json of `runDir` as a listing (see `runListing`: wrong fields replaced and named) with the status a
 * reader should show: `interrupted` for a `running` run whose writer died. Undefined when run.json is missing or
 * is not a JSON object.
 */
export function readRunListing(runDir: string): RunListing | undefined {
  let value: unknown;
  try {
    value = readJsonSync<unknown>(path.join(runDir, RUN_JSON));
  } catch {
    return undefined; // not JSON (a write in progress never leaves one: run.json is replaced atomically)
  }
  const listing = runListing(runDir, value);
  if (listing && listing.status !== 'unknown') listing.status = effectiveStatus(runDir, listing.status, listing.pid);
  return listing;
}

/** The runs of one spec (folders holding a run.json with a JSON object) as `readRunListing` shows them, newest first. */
export function listRuns(specRunsFolder: string): RunListing[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(specRunsFolder, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const runs: RunListing[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const runDir = path.join(specRunsFolder, entry.name);
    const run = readRunListing(runDir);
    if (run) runs.push(run);
  }
  return runs.sort(newestFirst);
}

/** Orders runs newest first: by start time, then by run id (which begins with the start time). */
export function newestFirst(a: Pick<RunInfo, 'startedAt' | 'runId'>, b: Pick<RunInfo, 'startedAt' | 'runId'>): number {
  return a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : b.runId.localeCompare(a.runId);
}
