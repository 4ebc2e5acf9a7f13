/**
 * Messages between the extension host and the training dashboard webview. The webview sends `ready` when it
 * has loaded; the host answers with the full `state` (the spec, the run being shown with its history, the
 * spec's past runs), then forwards the engine's training messages live.
 */
import type { BatchMetrics, EpochMetrics, TrainingStarted } from './engine';

/** One point of a run's history (a line of metrics.jsonl, or a live message). `step` is the global step. */
export interface HistoryPoint {
  kind: 'batch' | 'epoch';
  epoch: number;
  step: number;
  loss: number;
  acc: number;
  valLoss?: number;
  valAcc?: number;
  lr?: number;
  imagesPerSec?: number;
}

/** A past (or the running) run of the spec, as listed on disk. */
export interface RunSummary {
  runDir: string;
  runId: string;
  status: string;
  backend?: string;
  startedAt: string;
  epochs: number;
  epochsCompleted?: number;
  bestValAccuracy?: number;
  /** Has a checkpoint and is neither running nor completed: Resume can continue it. */
  resumable: boolean;
}

/** The run the dashboard shows: the running one (live), else the newest on disk. */
export interface CurrentRun {
  runDir: string;
  runId: string;
  live: boolean;
  status: 'starting' | 'running' | 'stopping' | string;
  started?: TrainingStarted;
  lastBatch?: BatchMetrics;
  /** Epoch ends seen live (with the confusion matrix); empty for a run only read from disk. */
  epochs: EpochMetrics[];
  history: HistoryPoint[];
}

export interface DashboardState {
  specUri?: string;
  specName?: string;
  current?: CurrentRun;
  runs: RunSummary[];
  /** A training of another spec is running. */
  busyElsewhere?: string;
}

/** Host -> webview. */
export type ToDashboard =
  | { type: 'state'; state: DashboardState }
  | { type: 'started'; info: TrainingStarted }
  | { type: 'batch'; metrics: BatchMetrics }
  | { type: 'epochEnd'; metrics: EpochMetrics }
  | { type: 'status'; status: string }
  | { type: 'runs'; runs: RunSummary[] }
  | { type: 'runHistory'; runDir: string; history: HistoryPoint[] };

/** Webview -> host. */
export type FromDashboard =
  | { type: 'ready' }
  | { type: 'stop' }
  | { type: 'resume'; runDir?: string }
  | { type: 'train' }
  | { type: 'loadRun'; runDir: string }
  | { type: 'refresh' };

/** What the webview keeps with setState (also what the serializer restores the panel from). */
export interface DashboardUiState {
  specUri?: string;
  overlays: string[];
  smoothing: number;
}
