/**
 * The contract between the extension host and the training dashboard webview (see src/protocol/panel.ts). The
 * webview asks for its full `state` (the spec, the run being shown with its history, the spec's past runs) when it
 * loads; the host announces the engine's training progress live, and the full state again when what the
 * dashboard shows changes. The webview's buttons are requests (stop, resume, train), and so is the history of a
 * past run to overlay.
 */
import type { BatchMetrics, EpochMetrics, TrainingStarted } from './engine';
import type { SavedEvaluation } from './evaluation';
import type { Contract, NoContract } from './rpc';

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
  /** Epochs trained with the fraction of the epoch a stopped run was in (1.93: batch 118/127 of epoch 2). */
  epochsTrained?: number;
  bestValAccuracy?: number;
  /** What chose the best epoch (e.g. `val_mean_iou`) and its value. */
  bestMonitor?: string;
  bestValue?: number;
  /** Has a checkpoint and is neither running nor completed: Resume can continue it. */
  resumable: boolean;
  /** Has a checkpoint: Evaluate can score it. */
  evaluable?: boolean;
  /** What was wrong in its run.json (a field of the wrong type, shown replaced: `unknown`, the folder name). */
  problems?: string[];
}

export type { SavedClassMetrics, SavedEvaluation } from './evaluation';

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
  /**
   * From the run's evaluations.jsonl: its last validation, then the last `evaluate` of each split and checkpoint
   * (what the confusion matrices show after a reload).
   */
  evaluations: SavedEvaluation[];
}

export interface DashboardState {
  specUri?: string;
  specName?: string;
  current?: CurrentRun;
  runs: RunSummary[];
  /** A training of another spec is running. */
  busyElsewhere?: string;
}

/** The host: answers the handshake and the buttons; announces the training live. */
export interface DashboardHost extends Contract {
  requests: {
    state: { params: null; result: DashboardState };
    /** Stops the running training; answers its status then (null when nothing was running). */
    stop: { params: null; result: string | null };
    /** Resumes `runDir` (else the spec's run to resume). Answers once the resume has been asked for. */
    resume: { params: { runDir?: string }; result: void };
    /** Trains the spec shown. Answers once the training has been asked for. */
    train: { params: null; result: void };
    /** The history of one of the spec's runs, to overlay its curves (empty for a folder not in its listing). */
    runHistory: { params: { runDir: string }; result: HistoryPoint[] };
    /** `DenseNet: Evaluate` of one of the spec's runs (else the run shown), which the dashboard then shows. */
    evaluate: { params: { runDir?: string }; result: void };
    /** Opens the examples gallery of a cell of a saved evaluation of the run shown. */
    openExamples: { params: { evaluation: string; true: number; predicted: number }; result: void };
    /** Opens Compare Runs on the spec's runs. */
    compareRuns: { params: null; result: void };
  };
  events: {
    /** The full state again: a training started, the dashboard shows another spec, a run ended. */
    state: DashboardState;
    batch: BatchMetrics;
    epochEnd: EpochMetrics;
    /** The spec's runs after an epoch of the training shown (best accuracy, epochs completed). */
    runs: RunSummary[];
  };
}

/** The webview: answers nothing, announces nothing. */
export type DashboardView = NoContract;

/** What the webview keeps with setState (also what the serializer restores the panel from). */
export interface DashboardUiState {
  specUri?: string;
  overlays: string[];
  smoothing: number;
}
