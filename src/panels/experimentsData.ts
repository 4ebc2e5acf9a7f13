/**
 * What Compare Runs shows of the runs on disk: the runs of a spec or of every spec of a folder, each as a table
 * row (run.json, the hyperparameters of the spec snapshot the run trained with, final and best metrics from
 * metrics.jsonl, the latest evaluation from evaluations.jsonl) and its curves. Every value read from disk is
 * type-checked before it is used; the webview renders them as text. No vscode here, so it is tested as plain
 * Node code.
 */
import * as fs from 'fs';
import * as path from 'path';
import { trainingConfig, validateSpec } from '../core';
import { downsample } from '../metrics/dashboardMath';
import {
  type CurvePoint,
  type ExperimentRow,
  type ResolvedParams,
  flattenSpec,
  summarizeMetrics,
  withDefaults,
} from '../metrics/experimentTable';
import { readEvaluations } from '../runs/evaluations';
import { METRICS_FILE, readMetrics, type MetricRecord } from '../runs/metricsLog';
import { listRuns, newestFirst, type RunListing, runsRoot, SPEC_SNAPSHOT } from '../runs/runFolder';

/** Most batch points sent per run for the overlays (the charts stay fast on long runs). */
const MAX_BATCH_POINTS = 2000;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The runs of every spec under `baseFolder`'s runs folder, newest first. */
export function allRuns(baseFolder: string): RunListing[] {
  const root = runsRoot(baseFolder);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  const runs: RunListing[] = [];
  for (const e of entries) if (e.isDirectory()) runs.push(...listRuns(path.join(root, e.name)));
  return runs.sort(newestFirst);
}

const isInside = (file: string, folder: string): boolean => {
  const rel = path.relative(folder, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

/**
 * The runs of the specs in `folder` (at any depth), from `baseFolder`'s runs: those whose run.json names a spec
 * file inside it. For the base folder itself, every run (imported runs name no spec file).
 */
export function folderRuns(baseFolder: string, folder: string): RunListing[] {
  const all = allRuns(baseFolder);
  if (path.resolve(folder) === path.resolve(baseFolder)) return all;
  return all.filter((r) => typeof r.specFile === 'string' && isInside(path.resolve(r.specFile), path.resolve(folder)));
}

/** The hyperparameters of a spec snapshot's text: its fields flattened, completed with resolved defaults. */
export function snapshotParams(specText: string): { params: ExperimentRow['params']; defaulted: string[] } {
  const result = validateSpec(specText);
  const params = flattenSpec(result.parsed.value);
  const resolved: ResolvedParams = {};
  const r = result.resolved;
  if (r) {
    const { growthRate, blockConfig, bnSize, compression, numInitFeatures, dropRate } = r.model;
    resolved.model = { growthRate, blockConfig, bnSize, compression, numInitFeatures, dropRate };
  }
  const value = result.parsed.value;
  try {
    const t = trainingConfig(
      typeof value === 'object' && value !== null ? (value as { training?: unknown }).training : {},
    );
    resolved.training = {
      epochs: t.epochs,
      batchSize: t.batchSize,
      optimizer: t.optimizer,
      learningRate: t.learningRate,
      weightDecay: t.weightDecay,
      scheduleType: t.schedule.type,
      freeze: t.freeze,
    };
  } catch {
    // an invalid training section: only the fields as written
  }
  return { params, defaulted: withDefaults(params, resolved) };
}

/** A file's size and modification time, or '' when it is missing: what a cached row depends on. */
function stamp(file: string): string {
  try {
    const s = fs.statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return '';
  }
}

interface CachedRun {
  key: string;
  params: ExperimentRow['params'];
  defaulted: string[];
  problems: string[];
  metrics: ExperimentRow['metrics'];
  lastTime?: number;
}

/** Rows of runs, re-reading a run's files only when they changed (a live training appends every batch). */
export class ExperimentReader {
  private readonly cache = new Map<string, CachedRun>();

  private files(runDir: string): CachedRun {
    const snapshot = path.join(runDir, SPEC_SNAPSHOT);
    const metricsFile = path.join(runDir, METRICS_FILE);
    const evaluationsFile = path.join(runDir, 'evaluations.jsonl');
    const key = [snapshot, metricsFile, evaluationsFile].map(stamp).join('|');
    const cached = this.cache.get(runDir);
    if (cached?.key === key) return cached;
    const problems: string[] = [];
    let params: ExperimentRow['params'] = {};
    let defaulted: string[] = [];
    try {
      ({ params, defaulted } = snapshotParams(fs.readFileSync(snapshot, 'utf8')));
    } catch (e) {
      problems.push(`${snapshot}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : String(e)}`);
    }
    let records: MetricRecord[] = [];
    try {
      records = readMetrics(metricsFile);
    } catch (e) {
      problems.push(`${metricsFile}: ${String(e)}`);
    }
    const metrics = summarizeMetrics(records);
    const evaluations = readEvaluations(runDir);
    problems.push(...evaluations.problems);
    const lastEvaluate = [...evaluations.records].reverse().find((r) => r.kind === 'evaluate');
    if (lastEvaluate && Number.isFinite(lastEvaluate.accuracy)) {
      metrics.evalAcc = lastEvaluate.accuracy;
      metrics.evalSplit = lastEvaluate.split;
    }
    const times = records.map((r) => num(r.time)).filter((t): t is number => t !== undefined);
    const entry: CachedRun = { key, params, defaulted, problems, metrics };
    if (times.length) entry.lastTime = Math.max(...times);
    this.cache.set(runDir, entry);
    return entry;
  }

  /** The row of a listed run; `now` (ms) ends a running run's duration. */
  row(r: RunListing, now: number): ExperimentRow {
    const f = this.files(r.runDir);
    const runId = text(r.runId) ?? path.basename(r.runDir);
    const displayName = text(r.displayName)?.trim() || undefined;
    const started = Date.parse(text(r.startedAt) ?? '');
    const ended = Date.parse(text(r.endedAt) ?? '');
    const end = Number.isFinite(ended) ? ended : r.status === 'running' ? now : (f.lastTime ?? Date.parse(r.updatedAt));
    const metrics = { ...f.metrics };
    const best = num(r.bestValAccuracy);
    if (metrics.bestValAcc === undefined && best !== undefined) {
      metrics.bestValAcc = best;
      const bestEpoch = num(r.bestEpoch);
      if (bestEpoch !== undefined) metrics.bestEpoch = bestEpoch;
    }
    const row: ExperimentRow = {
      runDir: r.runDir,
      runId,
      name: displayName ?? runId,
      spec: text(r.specName) ?? path.basename(path.dirname(r.runDir)),
      status: text(r.status) ?? 'unknown',
      startedAt: text(r.startedAt) ?? '',
      epochsDone: num(r.epochsCompleted) ?? 0,
      epochsPlanned: num(r.epochs) ?? 0,
      params: { ...f.params },
      defaulted: f.defaulted,
      metrics,
    };
    // The epochs the run was started for (`--epochs` overrides the snapshot's).
    const planned = num(r.epochs);
    if (planned !== undefined && planned > 0 && row.params['training.epochs'] !== planned) {
      row.params['training.epochs'] = planned;
      row.defaulted = row.defaulted.filter((k) => k !== 'training.epochs');
    }
    if (displayName) row.displayName = displayName;
    const notes = text(r.notes);
    if (notes) row.notes = notes;
    if (Number.isFinite(started) && Number.isFinite(end) && end >= started) row.durationSec = (end - started) / 1000;
    const problems = [...(r.problems ?? []), ...f.problems];
    if (problems.length) row.problems = problems;
    return row;
  }

  /** Forgets the runs not in `runDirs` (deleted folders). */
  keepOnly(runDirs: readonly string[]): void {
    const keep = new Set(runDirs);
    for (const k of [...this.cache.keys()]) if (!keep.has(k)) this.cache.delete(k);
  }
}

/** A run's curves from its metrics.jsonl: batches (downsampled) and epoch ends, `t` in seconds since the first record. */
export function readCurves(runDir: string): CurvePoint[] {
  let records: MetricRecord[];
  try {
    records = readMetrics(path.join(runDir, METRICS_FILE));
  } catch {
    return [];
  }
  const t0 = Math.min(...records.map((r) => num(r.time) ?? Infinity));
  const toPoint = (r: MetricRecord): CurvePoint | undefined => {
    const epoch = num(r.epoch);
    const step = num(r.step);
    const time = num(r.time);
    if (epoch === undefined || step === undefined || time === undefined) return undefined;
    const p: CurvePoint = { kind: r.kind, epoch, step, t: (time - t0) / 1000 };
    const fields = { loss: r.loss, acc: r.acc, valLoss: r.val_loss, valAcc: r.val_acc } as const;
    for (const [k, v] of Object.entries(fields)) {
      const n = num(v);
      if (n !== undefined) p[k as 'loss' | 'acc' | 'valLoss' | 'valAcc'] = n;
    }
    return p;
  };
  const batches = downsample(
    records.filter((r) => r.kind === 'batch'),
    MAX_BATCH_POINTS,
  );
  const epochs = records.filter((r) => r.kind === 'epoch');
  return [...batches, ...epochs]
    .map(toPoint)
    .filter((p): p is CurvePoint => p !== undefined)
    .sort((a, b) => a.step - b.step || (a.kind === 'batch' ? -1 : 1));
}

/** The `tensorboard` executable on `PATH` (with Windows' PATHEXT), or undefined. */
export function findOnPath(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? '').split(path.delimiter).filter(Boolean);
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      const file = path.join(dir, command + ext);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        if (fs.statSync(file).isFile()) return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** A path quoted for a POSIX shell or PowerShell/cmd, for a command the user copies or a terminal runs. */
export function shellQuote(p: string, platform: NodeJS.Platform = process.platform): string {
  if (/^[\w./:\\-]+$/.test(p)) return p;
  return platform === 'win32' ? `"${p.replace(/"/g, '""')}"` : `'${p.replace(/'/g, `'\\''`)}'`;
}

/** `tensorboard --logdir <folder>`: the command that shows the runs of `logdir` (each run has a tensorboard/ folder). */
export const tensorboardCommand = (logdir: string): string => `tensorboard --logdir ${shellQuote(logdir)}`;
