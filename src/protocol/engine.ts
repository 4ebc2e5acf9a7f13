/**
 * The contract between the extension host and the engine process (child_process.fork, ipc channel, spoken
 * through `RpcEndpoint` of ./rpc): what the engine answers (`EngineContract['requests']`, each with its own
 * result type) and what it announces (`EngineEvents`). The host answers nothing.
 * Plain data only: numbers, strings, arrays, typed arrays (the channel uses 'advanced' serialization, so a
 * Float32Array crosses as one). Tensors never cross.
 */
import type {
  DisplayImage,
  EncodedActivation,
  GradCamResult,
  LayerActivation,
  MaximisationResult,
  MaximiseProgress,
  MaximiseTarget,
  ModelDescription,
  Prediction,
  SaliencyResult,
  TaskPrediction,
} from './features';
import type { EvaluationRequests, MultilabelScores, SegmentationScores } from './evaluation';
import type { NoContract } from './rpc';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
/** Which engine runs inference (densenet.engine.inference): ONNX Runtime, falling back to tfjs under `auto`. */
export type InferencePreference = 'auto' | 'onnxruntime' | 'tfjs';
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
/**
 * What run.json says, except `interrupted`, which is never written: readers show it for a `running` run whose
 * writer died (src/runs/runLock.ts), and such a run resumes from its last checkpoint. `stopped`: the user stopped
 * it (Stop, Ctrl+C, `densenet-lab stop`, SIGTERM) and its checkpoint was saved at a batch boundary. `cancelled` is
 * what runs stopped that way said before `stopped` existed: it is still read, never written.
 */
export type RunStatus = 'running' | 'completed' | 'stopped' | 'cancelled' | 'failed' | 'early-stopped' | 'interrupted';

/** Where a stopped training stood: the epoch it was in (1-based), the batches of it trained, and of how many. */
export interface StopPosition {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
}

/** The `init` request: how the engine picks its backend. */
export interface EngineConfig {
  backend: BackendPreference;
  /** Which engine runs inference (evaluate, validation, inspection); default `auto`. */
  inference?: InferencePreference;
  /** Folders that may hold node_modules/@tensorflow/tfjs-node. */
  nativeSearchPaths: string[];
  /** Folder of the .wasm files. */
  wasmDir?: string;
  /** Where known pretrained models (`torchvision:densenet121`) are downloaded (VS Code's global storage). */
  weightsCacheDir?: string;
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

/** One trained batch, as metrics.jsonl records it: its own loss, accuracy, learning rate and images/s. */
export interface BatchRecord {
  /** Global step. */
  step: number;
  loss: number;
  acc: number;
  lr: number;
  /** The batch's size over the time since the previous batch ended (absent when no time could be measured). */
  imagesPerSec?: number;
}

/**
 * Progress, a few times a second: `batches` are the batches trained since the previous message, exactly as
 * written to metrics.jsonl (what the live charts plot); `loss`, `accuracy` and `imagesPerSecond` are the epoch's
 * running figures so far (what the progress bar and notification show).
 */
export interface BatchMetrics {
  batches: BatchRecord[];
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
  /** confusion[true][predicted] on the validation data (segmentation: of its labelled pixels). */
  confusion?: number[][];
  classNames: string[];
  best: boolean;
  /** Examples validated. */
  validationExamples?: number;
  /** Multi-label: per label AUROC, average precision and F1 on the validation data, thresholds tuned there. */
  multilabel?: MultilabelScores;
  /** Segmentation: per-class IoU, mean IoU and pixel accuracy on the validation data. */
  segmentation?: SegmentationScores;
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
  status: Exclude<RunStatus, 'running' | 'failed' | 'interrupted' | 'cancelled'>;
  runDir: string;
  epochsCompleted: number;
  /** A stopped training: where it stopped (its checkpoint continues from there). */
  stoppedAt?: StopPosition;
  /** The best epoch's validation accuracy, when that chose it (one class per image). */
  bestValAccuracy?: number;
  /** What chose the best epoch (a monitor such as `val_mean_iou`) and its value; absent without validation data. */
  bestMonitor?: string;
  bestValue?: number;
  bestEpoch?: number;
  skippedFiles: number;
}

/** The answer to `init`: the backend chosen, why, and what the user should know about it. */
export interface EngineReady {
  backend: BackendName;
  reason: string;
  warnings: string[];
  /** Why native TensorFlow was not used, in full (the editor says it once per session). */
  note?: string;
}

/* ------------------------------------------------------------------------------------------------------------
 * Inspection of a checkpoint for the panels. `checkpoint` is a run folder, a checkpoint folder, a model.json, or
 * a spec (*.densenet.json) for its untrained model; `image` a file path.
 * ---------------------------------------------------------------------------------------------------------- */

export interface CheckpointParams {
  checkpoint: string;
}

export interface ImageParams extends CheckpointParams {
  image: string;
}

/** An image as the model takes it (`input`: HWC float32, normalised) and as it sees it (`display`). */
export interface ImageInput extends DisplayImage {
  input: Float32Array;
}

/** `predict` answers the decoded image too. */
export interface PredictResult {
  image: ImageInput;
  predictions: Prediction[];
  /** Multi-label and segmentation models: what the task predicts beyond the list. */
  task?: TaskPrediction;
}

/** One request per kind of inspection, each with its own result. */
export type InspectionRequests = {
  describe: { params: CheckpointParams; result: ModelDescription };
  /**
   * The `k` (default 5) most probable classes; a multi-label model's every label, a segmentation model's classes
   * by their share of the mask.
   */
  predict: { params: ImageParams & { k?: number }; result: PredictResult };
  /** The outputs of the named layers, in the order asked. */
  activations: { params: ImageParams & { layers: string[] }; result: LayerActivation[] };
  /** The same, each value as an 8-bit code over its channel's range (what the feature-map page draws). */
  activationCodes: { params: ImageParams & { layers: string[] }; result: EncodedActivation[] };
  gradcam: { params: ImageParams & { layerName?: string; classIndex?: number }; result: GradCamResult };
  saliency: { params: ImageParams & { classIndex?: number; samples?: number }; result: SaliencyResult };
  /** Streams progress; cancelling (the request's signal) stops it at its next step with `cancelled: true`. */
  maximise: {
    params: CheckpointParams & { target: MaximiseTarget; steps?: number; seed?: number };
    result: MaximisationResult;
    progress: MaximiseProgress;
  };
};

export type InspectionKind = keyof InspectionRequests;

/* ------------------------------------------------------------------------------------------------------------
 * Weight interchange: pretrained weights into a run folder, a run's model out to other frameworks.
 * ---------------------------------------------------------------------------------------------------------- */

export type WeightsFileFormat = 'pytorch' | 'safetensors' | 'keras-h5' | 'onnx' | 'tfjs';
export type ExportFormat = 'onnx' | 'safetensors' | 'h5' | 'tfjs';

export interface ImportWeightsParams {
  /** A weights file (absolute path), or a known name such as `torchvision:densenet121`. */
  ref: string;
  /** The preset the weights are for; neither preset nor spec: the preset they fit. */
  preset?: string;
  /** A spec file whose model the weights must fit exactly. */
  spec?: string;
  /** The run folder goes under `<workspace>/.densenet/runs/<name>/`. */
  workspace: string;
  /** Where known pretrained models are downloaded to. */
  cacheDir?: string;
}

export interface ImportWeightsResult {
  runDir: string;
  /** The weights file read (the cached download for a known name). */
  file: string;
  format: WeightsFileFormat;
  preset: string | null;
  classes: number;
  input: { height: number; width: number; channels: number };
  batchNormEpsilon: number;
  parameters: number;
  /** SHA-256 of the weights file (absent for a TensorFlow.js model folder). */
  sha256?: string;
}

export interface ExportModelParams {
  /** A run folder (its best, else latest checkpoint), a checkpoint folder or its model.json. */
  from: string;
  format: ExportFormat;
  outFile: string;
  /** Keras layer names in an .h5: `keras3` (conv1_conv, the default) or `keras2` (conv1/conv). */
  naming?: 'keras2' | 'keras3';
}

export interface ExportModelResult {
  file: string;
  format: ExportFormat;
  classes: number;
  bytes: number;
}

export type InterchangeRequests = {
  /** Streams download progress for a known name; cancelling stops the download (the partial file is kept). */
  importWeights: {
    params: ImportWeightsParams;
    result: ImportWeightsResult;
    progress: { receivedBytes: number; totalBytes?: number };
  };
  exportModel: { params: ExportModelParams; result: ExportModelResult };
};

/** What the long-lived engine process answers besides training: inspections and weight interchange. */
export type ServiceRequests = InspectionRequests & InterchangeRequests & EvaluationRequests;
export type ServiceKind = keyof ServiceRequests;

/** What the engine announces while it trains (and its log lines). */
export type EngineEvents = {
  log: { level: 'info' | 'warn' | 'error'; message: string };
  'training/started': TrainingStarted;
  'training/batch': BatchMetrics;
  'training/epochEnd': EpochMetrics;
  /** An unreadable image was skipped; `total` counts them so far. */
  'training/skipped': { file: string; reason: string; total: number };
};

/** Every event name, once (the host forwards them all; the compiler checks the list is complete). */
export const ENGINE_EVENTS = Object.keys({
  log: true,
  'training/started': true,
  'training/batch': true,
  'training/epochEnd': true,
  'training/skipped': true,
} satisfies Record<keyof EngineEvents, true>) as (keyof EngineEvents)[];

/** One engine event as a tagged value (what the host forwards to its listeners). */
export type EngineEvent = { [K in keyof EngineEvents]: { type: K; payload: EngineEvents[K] } }[keyof EngineEvents];

/** The engine process's side of the channel. */
export interface EngineContract {
  requests: InspectionRequests &
    InterchangeRequests &
    EvaluationRequests & {
      /** First request: start the backend. */
      init: { params: EngineConfig; result: EngineReady };
      /**
       * One training at a time. Cancelling (the request's signal) stops it at the next batch boundary, after
       * saving a checkpoint: the result then has status `stopped`.
       */
      train: { params: TrainRequest; result: TrainingFinished };
      /** Stop the training at its next batch boundary and exit: answered by the process's exit. */
      shutdown: { params: null; result: never };
    };
  events: EngineEvents;
}

/** The host's side: it answers nothing and announces nothing. */
export type HostContract = NoContract;

/* ------------------------------------------------------------------------------------------------------------
 * A detached training engine (its own process group, outliving the window that started it): the host and the
 * command line talk to it over the run's local socket (src/runs/runEngine.ts records where), newline-delimited
 * JSON through `RpcEndpoint` (`socketPipe` of ./rpc). Any number of clients may connect and disconnect; the
 * engine trains and writes the run whether or not one is connected.
 * ---------------------------------------------------------------------------------------------------------- */

/** What the host hands a detached engine when it starts it (a file the engine reads and removes). */
export interface RunLaunch {
  config: EngineConfig;
  request: TrainRequest;
  /** The socket (Unix domain socket path, or Windows named pipe) the engine listens on. */
  socket: string;
  /** The engine's log (its stdout and stderr): moved into the run folder as engine.log once the run exists. */
  log: string;
}

/** How a training ended: its result, or the error it failed with. */
export interface TrainingEnded {
  finished?: TrainingFinished;
  error?: string;
}

/** What a detached engine has done so far (the answer to `attach`). */
export interface RunEngineState {
  ready?: EngineReady;
  started?: TrainingStarted;
  lastBatch?: BatchMetrics;
  epochs: EpochMetrics[];
  /** A stop was asked for (the training ends at its next batch boundary). */
  stopping: boolean;
  ended?: TrainingEnded;
}

export type RunEngineEvents = EngineEvents & {
  'engine/ready': EngineReady;
  'training/ended': TrainingEnded;
};

/** Every event a detached engine announces, once (the compiler checks the list is complete). */
export const RUN_ENGINE_EVENTS = Object.keys({
  log: true,
  'training/started': true,
  'training/batch': true,
  'training/epochEnd': true,
  'training/skipped': true,
  'engine/ready': true,
  'training/ended': true,
} satisfies Record<keyof RunEngineEvents, true>) as (keyof RunEngineEvents)[];

/** A detached engine's side of its socket. */
export interface RunEngineContract {
  requests: {
    /** What it has done so far; its events follow. */
    attach: { params: null; result: RunEngineState };
    /**
     * Stop at the next batch boundary, save a checkpoint, status `stopped`: answered at once (the end follows
     * as `training/ended`).
     */
    stop: { params: null; result: null };
  };
  events: RunEngineEvents;
}
