/**
 * Messages between the training thread and its data-parallel workers (worker_threads). Plain data and
 * typed arrays only; the arrays are transferred, never copied twice.
 *
 * Weights travel as one flat Float32Array: every trainable weight in `model.trainableWeights` order, then
 * every non-trainable one (batch-norm moving mean and variance) in `model.nonTrainableWeights` order, each
 * flattened row-major. Gradients travel the same way (trainable part only), moving statistics as the
 * non-trainable part only. Replicas are built from the same analysis, so the orders match; the shapes are
 * checked when a worker starts.
 */
import type { Analysis, TrainingConfig } from '../core';

/** `workerData` of a worker: what it needs to build its backend and its replica. */
export interface WorkerInit {
  /** 1-based worker number (the main thread is 0), for messages. */
  index: number;
  backend: 'wasm' | 'cpu';
  /** Folder of the tfjs-backend-wasm .wasm files. */
  wasmDir: string;
  analysis: Analysis;
  config: TrainingConfig;
  /** Shapes of the main replica's trainable weights, then of its non-trainable ones. */
  trainableShapes: number[][];
  nonTrainableShapes: number[][];
}

/** Main thread -> worker. */
export type ToWorker =
  /** New weights of every replica; `version` increases by one per optimizer step. */
  | { type: 'weights'; version: number; data: Float32Array }
  /** Gradients of a shard (training-mode forward, updating the replica's moving statistics). */
  | { type: 'step'; id: number; version: number; x: Float32Array; y: Int32Array; size: number }
  /** Inference on a shard: mean loss and predicted classes. */
  | { type: 'predict'; id: number; version: number; x: Float32Array; y: Int32Array; size: number };

/** Worker -> main thread. */
export type FromWorker =
  | { type: 'ready' }
  /** `loss` is the shard's mean loss; `grads` the flat trainable gradients; `stats` the replica's updated moving statistics. */
  | { type: 'grads'; id: number; loss: number; correct: number; grads: Float32Array; stats: Float32Array }
  | { type: 'predicted'; id: number; loss: number; predicted: Int32Array }
  /** A failure: of a request (`id`) or of the worker's start (no id). */
  | { type: 'error'; id?: number; message: string };
