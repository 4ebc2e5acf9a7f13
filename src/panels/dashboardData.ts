/**
 * What the dashboard shows of a run on disk, checked: its summary from a run listing, its history from
 * metrics.jsonl, its saved evaluations (confusion matrices) from evaluations.jsonl. Every value has its type checked here (a run.json or a metrics line may hold anything); the
 * webview renders them as text. No vscode here, so it is tested as plain Node code.
 */
import * as path from 'path';
import type { HistoryPoint, RunSummary, SavedEvaluation } from '../protocol/dashboard';
import { downsample } from '../metrics/dashboardMath';
import { bestOrLatestCheckpoint, isResumable } from '../runs/checkpointFiles';
import { evaluationsToShow, readEvaluations } from '../runs/evaluations';
import { METRICS_FILE, readMetrics, type MetricRecord } from '../runs/metricsLog';
import { epochsTrained, type RunListing } from '../runs/runFolder';

/** Most batch points sent for one run's history (the charts stay fast on long runs). */
const MAX_BATCH_POINTS = 3000;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** One metrics record as a history point; undefined when its epoch or step is not a number. */
function toPoint(r: MetricRecord): HistoryPoint | undefined {
  const epoch = num(r.epoch);
  const step = num(r.step);
  if (epoch === undefined || step === undefined) return undefined;
  const p: HistoryPoint = { kind: r.kind, epoch, step, loss: num(r.loss) ?? NaN, acc: num(r.acc) ?? NaN };
  const valLoss = num(r.val_loss);
  const valAcc = num(r.val_acc);
  const lr = num(r.lr);
  const ips = num(r.imagesPerSec);
  if (valLoss !== undefined) p.valLoss = valLoss;
  if (valAcc !== undefined) p.valAcc = valAcc;
  if (lr !== undefined) p.lr = lr;
  if (ips !== undefined) p.imagesPerSec = ips;
  return p;
}

const defined = <T>(v: T | undefined): v is T => v !== undefined;

/** metrics.jsonl records -> history points (batches downsampled, epochs all kept; records without a step dropped). */
export function historyFromRecords(records: readonly MetricRecord[]): HistoryPoint[] {
  const batches = downsample(
    records.filter((r) => r.kind === 'batch'),
    MAX_BATCH_POINTS,
  )
    .map(toPoint)
    .filter(defined);
  const epochs = records
    .filter((r) => r.kind === 'epoch')
    .map(toPoint)
    .filter(defined);
  return [...batches, ...epochs].sort((a, b) => a.step - b.step || (a.kind === 'batch' ? -1 : 1));
}

/** The history of the run in `runDir` ([] when its metrics cannot be read). */
export function readHistory(runDir: string): HistoryPoint[] {
  try {
    return historyFromRecords(readMetrics(path.join(runDir, METRICS_FILE)));
  } catch {
    return [];
  }
}

/** A run listing as the dashboard shows it: strings and numbers only, whatever run.json held. */
export function runSummary(r: RunListing): RunSummary {
  const s: RunSummary = {
    runDir: r.runDir,
    runId: text(r.runId) ?? path.basename(r.runDir),
    status: text(r.status) ?? 'unknown',
    startedAt: text(r.startedAt) ?? '',
    epochs: num(r.epochs) ?? 0,
    resumable: isResumable(r),
    evaluable: r.status !== 'running' && bestOrLatestCheckpoint(r.runDir) !== undefined,
  };
  const backend = text(r.backend);
  const epochsCompleted = num(r.epochsCompleted);
  const bestValAccuracy = num(r.bestValAccuracy);
  if (backend !== undefined) s.backend = backend;
  if (epochsCompleted !== undefined) s.epochsCompleted = epochsCompleted;
  const trained = num(epochsTrained(r));
  if (trained !== undefined) s.epochsTrained = trained;
  if (bestValAccuracy !== undefined) s.bestValAccuracy = bestValAccuracy;
  const bestValue = num(r.bestValue);
  if (typeof r.bestMonitor === 'string' && bestValue !== undefined) {
    s.bestMonitor = r.bestMonitor;
    s.bestValue = bestValue;
  }
  if (r.problems?.length) s.problems = r.problems.filter((p) => typeof p === 'string');
  return s;
}

/** The saved evaluations the dashboard shows for the run in `runDir` ([] when they cannot be read). */
export function readSavedEvaluations(runDir: string): SavedEvaluation[] {
  try {
    return evaluationsToShow(readEvaluations(runDir).records);
  } catch {
    return [];
  }
}
