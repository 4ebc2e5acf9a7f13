/**
 * The contract between the training thread and its data-parallel workers (worker_threads), spoken through
 * `RpcEndpoint` (./rpc) over the worker's port. Plain data and typed arrays only; the arrays are transferred,
 * never copied twice.
 *
 * Weights travel as one flat Float32Array: every trainable weight in `model.trainableWeights` order, then
 * every non-trainable one (batch-norm moving mean and variance) in `model.nonTrainableWeights` order, each
 * flattened row-major. Gradients travel the same way (trainable part only), moving statistics as the
 * non-trainable part only. Replicas are built from the same analysis, so the orders match; the shapes are
 * checked when a worker starts.
 *
 * A worker answers its requests in the order they arrive, so `weights` followed by `step` computes on those
 * weights; each `step` and `predict` names the weights version it expects and fails if the worker holds another.
 */
import type { Analysis, TrainingConfig } from '../core';
import type { NoContract } from './rpc';

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
  /** The main model's batch-norm epsilon (that of the weights it started from); the analysis' when absent. */
  batchNormEpsilon?: number;
}

/** A shard of a batch, on the weights of `version`. */
export interface ShardParams {
  version: number;
  x: Float32Array;
  y: Int32Array;
  size: number;
}

/** `loss` is the shard's mean loss; `grads` the flat trainable gradients; `stats` the replica's updated moving statistics. */
export interface ShardGradients {
  loss: number;
  correct: number;
  /** What the shard's loss is a mean over (examples, or the weights of its labelled pixels). */
  weight: number;
  grads: Float32Array;
  stats: Float32Array;
}

export interface ShardPrediction {
  loss: number;
  weight: number;
  /** Per example the class, per label the decision at 0.5, or per pixel the class. */
  predicted: Int32Array;
  /** Multi-label: each label's probability. */
  scores?: Float32Array;
}

/** What a worker answers. */
export interface WorkerContract {
  requests: {
    /** Answers once the worker has its backend and its replica (a failed start rejects it). */
    ready: { params: null; result: null };
    /** New weights of every replica; `version` increases by one per optimizer step. */
    weights: { params: { version: number; data: Float32Array }; result: null };
    /** Gradients of a shard (training-mode forward, updating the replica's moving statistics). */
    step: { params: ShardParams; result: ShardGradients };
    /** Inference on a shard: mean loss and predicted classes. */
    predict: { params: ShardParams; result: ShardPrediction };
  };
  events: Record<never, unknown>;
}

/** The training thread answers nothing and announces nothing to its workers. */
export type TrainerContract = NoContract;
