/**
 * Messages between the extension host and the engine process (child_process.fork, ipc channel).
 * Plain data only: numbers, strings, arrays. Tensors never cross.
 */
import type { DisplayImage } from './features';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type RunStatus = 'running' | 'completed' | 'cancelled' | 'failed' | 'early-stopped';

export interface EngineConfig {
  backend: BackendPreference;
  /** Folders that may hold node_modules/@tensorflow/tfjs-node. */
  nativeSearchPaths: string[];
  /** Folder of the .wasm files. */
  wasmDir?: string;
}

export interface TrainRequest {
  specPath: string;
  /** The spec text as the editor has it (it may be unsaved). */
  specText: string;
  /** Folder under which `.densenet/runs` lives (the workspace folder). */
  workspaceDir: string;
  /** Continue this run directory from its latest checkpoint. */
  resumeRunDir?: string;
  /** Override training.epochs. */
  epochs?: number;
  /**
   * Data-parallel threads (densenet.engine.threads): this many replicas of the model each compute the
   * gradients of a shard of every batch (the engine's thread and threads - 1 worker threads), averaged
   * weighted by shard size. 0: one per core. Absent: 1 (single-threaded). The native TensorFlow backend,
   * multi-threaded itself, always uses 1.
   */
  threads?: number;
}

export interface BatchMetrics {
  epoch: number;
  /** 1-based step within the epoch. */
  step: number;
  stepsPerEpoch: number;
  globalStep: number;
  loss: number;
  accuracy: number;
  learningRate: number;
  imagesPerSecond: number;
  etaSeconds: number;
  numTensors: number;
  memoryMB: number;
}

export interface EpochMetrics {
  epoch: number;
  epochs: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  learningRate: number;
  imagesPerSecond: number;
  seconds: number;
  /** confusion[true][predicted] on the validation data. */
  confusion?: number[][];
  classNames: string[];
  best: boolean;
}

export interface TrainingStarted {
  runDir: string;
  runId: string;
  backend: BackendName;
  backendReason: string;
  startEpoch: number;
  epochs: number;
  stepsPerEpoch: number;
  trainExamples: number;
  validationExamples: number;
  classNames: string[];
  /** Data-parallel threads the training uses (1: no worker threads). */
  threads?: number;
}

export interface TrainingFinished {
  status: Exclude<RunStatus, 'running' | 'failed'>;
  runDir: string;
  epochsCompleted: number;
  bestValAccuracy?: number;
  skippedFiles: number;
}

/**
 * Inspection of a checkpoint for the panels. `checkpoint` is a run folder, a checkpoint folder, a model.json, or a
 * spec (*.densenet.json) for its untrained model;
 * `image` a file path. Results are plain arrays (Float32Array crosses the ipc channel with 'advanced'
 * serialization), never tensors.
 */
export type InspectRequest =
  | { kind: 'describe'; checkpoint: string }
  | { kind: 'predict'; checkpoint: string; image: string; k?: number }
  | { kind: 'activations'; checkpoint: string; image: string; layers: string[] }
  | { kind: 'gradcam'; checkpoint: string; image: string; layerName?: string; classIndex?: number }
  | { kind: 'saliency'; checkpoint: string; image: string; classIndex?: number; samples?: number }
  | {
      kind: 'maximise';
      checkpoint: string;
      target: { layerName: string; channel: number } | { classIndex: number };
      steps?: number;
      seed?: number;
    };

/** An image as the model takes it (`input`: HWC float32, normalised) and as it sees it (`display`). */
export interface ImageInput extends DisplayImage {
  input: Float32Array;
}

export interface InspectProgress {
  step: number;
  value: number;
  image?: Float32Array;
}

/** Host -> engine. */
export type ToEngine =
  | { type: 'init'; config: EngineConfig }
  | { type: 'train'; id: number; request: TrainRequest }
  | { type: 'inspect'; id: number; request: InspectRequest }
  | { type: 'cancel' }
  | { type: 'cancelInspect'; id: number }
  | { type: 'shutdown' };

/** Engine -> host. */
export type FromEngine =
  | { type: 'ready'; backend: BackendName; reason: string; warnings: string[] }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'training/started'; info: TrainingStarted }
  | { type: 'training/batch'; metrics: BatchMetrics }
  | { type: 'training/epochEnd'; metrics: EpochMetrics }
  | { type: 'training/skipped'; file: string; reason: string; total: number }
  | { type: 'inspect/progress'; inReplyTo: number; progress: InspectProgress }
  | { type: 'response'; inReplyTo: number; ok: true; result: unknown }
  | { type: 'response'; inReplyTo: number; ok: false; error: string };
