/**
 * Data-parallel training on one machine's cores: the engine's thread plus `threads - 1` worker_threads, each
 * with its own tfjs backend and replica of the model (the WASM backend is single-threaded under Node).
 *
 * A step splits the batch into contiguous shards (shards.ts), sends one to each worker (transferring its
 * arrays), computes the first shard on the main thread meanwhile, and averages the gradients weighted by
 * shard size (by the weight of each shard's loss for a weighted or per-pixel loss): the gradient of the batch's
 * mean loss. Batch normalization normalises each shard with its own
 * statistics, as PyTorch's DataParallel/DistributedDataParallel do without SyncBatchNorm; the moving
 * statistics become the shard-size-weighted average of the replicas' (exact for the moving mean, whose update
 * is linear in the batch mean; the moving variance averages the shards' variances). The main optimizer then
 * applies the gradients once, and the new weights (trainable and moving statistics) go to every worker,
 * numbered by a version that each request must match, so that no worker computes on stale weights.
 *
 * The workers are spoken to through ./workers (requests of src/protocol/worker.ts). A failing worker (an error
 * in a request, an uncaught exception, an exit) fails the step with a message that names it, and terminates
 * every worker: the pool is unusable afterwards.
 */
import * as path from 'path';
import * as v8 from 'v8';
import type { LayersModel, Optimizer, Tensor, Variable } from '@tensorflow/tfjs';
import type { Analysis, TrainingConfig } from '../../core';
import type { ShardGradients, ShardPrediction, WorkerContract } from '../../protocol/worker';
import type { Batch } from '../data/open';
import { tf } from '../tf';
import {
  applyGradients,
  computeGradients,
  type Evaluation,
  EvaluationTally,
  evaluateBatch,
  type Forward,
  type Gradients,
  type Objective,
  objectiveOf,
  type Step,
  type TrainControl,
} from '../training/step';
import { decisionsIn, targetStride } from '../training/objective';
import { modelBatchNormEpsilon } from '../training/freeze';
import { readAllWeights, readFlat, shapesOf, writeFlat } from './replica';
import { type Shard, shardBatch } from './shards';
import { findWorkerScript, WorkerGroup } from './workers';

export interface ParallelOptions {
  /** Threads in all, the main thread included (>= 2). */
  threads: number;
  /** The main thread's backend; the workers start the same. */
  backend: 'wasm' | 'cpu';
  analysis: Analysis;
  config: TrainingConfig;
  /** The main replica: the workers start from its weights. */
  model: LayersModel;
  /** Folder of the .wasm files (default: the worker bundle's folder, dist/, where esbuild.mjs copies them). */
  wasmDir?: string;
  /** The worker bundle (default: findWorkerScript()). */
  workerScript?: string;
}

export class ParallelTrainer {
  private version = 0;
  private readonly perExample: number;
  private readonly targets: number;

  private constructor(
    private readonly workers: WorkerGroup,
    model: LayersModel,
    private readonly objective: Objective,
  ) {
    const [h, w, c] = (model.inputs[0].shape as number[]).slice(1);
    this.perExample = h * w * c;
    this.targets = targetStride(objective, (model.outputs[0].shape as number[]).slice(1));
  }

  /** Starts the workers, waits until each has its backend and replica, and sends them the model's weights. */
  static async start(o: ParallelOptions): Promise<ParallelTrainer> {
    if (!Number.isInteger(o.threads) || o.threads < 2)
      throw new Error(`a parallel trainer needs 2 or more threads (got ${o.threads})`);
    const script = o.workerScript ?? findWorkerScript();
    const wasmDir = o.wasmDir ?? path.dirname(script);
    const trainableShapes = shapesOf(o.model.trainableWeights);
    const nonTrainableShapes = shapesOf(o.model.nonTrainableWeights);
    const workers = await WorkerGroup.start({
      count: o.threads - 1,
      script,
      // The engine's heap limit (--max-old-space-size) for each worker's heap too.
      heapMB: Math.ceil(v8.getHeapStatistics().heap_size_limit / 2 ** 20),
      init: (index) => ({
        index,
        backend: o.backend,
        wasmDir,
        analysis: o.analysis,
        config: o.config,
        trainableShapes,
        nonTrainableShapes,
        batchNormEpsilon: modelBatchNormEpsilon(o.model),
      }),
    });
    const trainer = new ParallelTrainer(workers, o.model, objectiveOf(o.analysis, o.config));
    try {
      trainer.syncWeights(o.model);
      return trainer;
    } catch (e) {
      await trainer.dispose();
      throw e;
    }
  }

  /** Threads in all, the main thread included. */
  get threads(): number {
    return this.workers.size + 1;
  }

  /** Workers still running. */
  get liveWorkers(): number {
    return this.workers.live;
  }

  /** Sends the model's weights (trainable and moving statistics) to every worker, as a new version. */
  syncWeights(model: LayersModel): void {
    const failure = this.workers.failed;
    if (failure) throw failure;
    this.version++;
    const data = readAllWeights(model);
    for (let k = 0; k < this.workers.size; k++) {
      const copy = k === this.workers.size - 1 ? data : data.slice();
      // Not awaited: the worker answers in order, so the next request computes on these weights; a failure to
      // take them fails the pool (and so that request) in WorkerGroup.request.
      this.workers
        .request(k, 'weights', { version: this.version, data: copy }, [copy.buffer as ArrayBuffer])
        .catch(() => undefined);
    }
  }

  /** Sends the workers' shards (every shard but the first, empty ones skipped) as `method` requests. */
  private dispatch<K extends 'step' | 'predict'>(method: K, shards: Shard[], transferLabels: boolean) {
    const used: Shard[] = [];
    const requests: Promise<WorkerContract['requests'][K]['result']>[] = [];
    shards.slice(1).forEach((s, k) => {
      if (s.size === 0) return;
      used.push(s);
      const transfer = [s.x.buffer as ArrayBuffer, ...(transferLabels ? [s.y.buffer as ArrayBuffer] : [])];
      const params = { version: this.version, x: s.x, y: s.y, size: s.size };
      requests.push(this.workers.request(k, method, params, transfer));
    });
    return { used, requests };
  }

  /**
   * The gradients of a batch's mean loss (by variable name, as computeGradients; the caller owns them), its
   * mean loss and correct decisions, with the shards computed in parallel; sets the model's moving
   * statistics to the weighted average of the replicas'.
   */
  async computeGradients(
    model: LayersModel,
    forward: Forward,
    batch: Batch,
  ): Promise<{ loss: number; correct: number; grads: Record<string, Tensor> }> {
    this.workers.check();
    const shards = shardBatch(batch, this.threads, this.perExample, this.targets);
    const { used, requests } = this.dispatch('step', shards, true);
    // The main thread's shard, while the workers compute theirs.
    const first = shards[0];
    let mine: Gradients | undefined;
    let mainError: unknown;
    try {
      mine = computeGradients(model, forward, { x: first.x, y: first.y, size: first.size }, this.objective);
    } catch (e) {
      mainError = e;
    }
    let replies: ShardGradients[];
    try {
      replies = await this.workers.settle(requests, mainError);
    } catch (e) {
      if (mine) tf.dispose([mine.loss, mine.correct, mine.weight, ...Object.values(mine.grads)]);
      throw e;
    }
    // Each shard's loss is a mean over its weight (its examples, or its labelled pixels' weights): the batch's
    // mean is the weight-weighted mean of the shards'. Moving statistics average by examples.
    const own = (mine as Gradients).weight.dataSync()[0];
    const total = replies.reduce((t, r) => t + r.weight, own);
    const share = (w: number, size: number) => (total > 0 ? w / total : size / batch.size);
    return combine(
      model,
      mine as Gradients,
      { loss: share(own, first.size), stats: first.size / batch.size },
      replies,
      used.map((u, k) => ({ loss: share(replies[k].weight, u.size), stats: u.size / batch.size })),
    );
  }

  /** One optimisation step: parallel gradients, applied once by the main optimizer, then the new weights to the workers. */
  async step(
    model: LayersModel,
    forward: Forward,
    optimizer: Optimizer,
    batch: Batch,
    c: TrainingConfig,
    lr: number,
  ): Promise<Step> {
    const { loss, correct, grads } = await this.computeGradients(model, forward, batch);
    applyGradients(model, optimizer, grads, c, lr);
    this.syncWeights(model);
    return { loss, correct, decisions: decisionsIn(batch.y, batch.size, this.objective) };
  }

  /** `evaluate` of training/step.ts with each batch's shards predicted in parallel on the current weights. */
  async evaluate(model: LayersModel, batches: AsyncIterable<Batch>, control?: TrainControl): Promise<Evaluation> {
    const tally = new EvaluationTally(this.objective);
    const stride = this.targets;
    for await (const b of batches) {
      this.workers.check();
      const shards = shardBatch(b, this.threads, this.perExample, stride);
      const { used, requests } = this.dispatch('predict', shards, false);
      const first = shards[0];
      let mine: ShardPrediction | undefined;
      let mainError: unknown;
      try {
        mine = evaluateBatch(model, first, this.objective);
      } catch (e) {
        mainError = e;
      }
      const replies = await this.workers.settle(requests, mainError);
      const parts = [{ shard: first, score: mine! }, ...replies.map((r, k) => ({ shard: used[k], score: r }))];
      for (const { shard, score } of parts)
        tally.add(b.y.subarray(shard.start * stride, (shard.start + shard.size) * stride), shard.size, score);
      if (control?.cancelled) break;
    }
    return tally.result();
  }

  /** Terminates the workers (idempotent). */
  dispose(): Promise<void> {
    return this.workers.dispose();
  }
}

/** A shard's share of the batch: of its loss and gradients, and of its moving statistics. */
interface Share {
  loss: number;
  stats: number;
}

/**
 * The main shard's gradients `g` (share `w0`, disposed here) and the workers' `replies` (shares `shares`)
 * averaged: the batch's loss, correct decisions and gradients (new tensors); the model's moving statistics set
 * to the average of the replicas'.
 */
function combine(
  model: LayersModel,
  g: Gradients,
  w0: Share,
  replies: ShardGradients[],
  shares: Share[],
): { loss: number; correct: number; grads: Record<string, Tensor> } {
  let loss = g.loss.dataSync()[0] * w0.loss;
  let correct = g.correct.dataSync()[0];
  replies.forEach((r, k) => {
    loss += r.loss * shares[k].loss;
    correct += r.correct;
  });
  const weights = shares.map((s) => s.loss);
  const grads: Record<string, Tensor> = {};
  try {
    let offset = 0;
    for (const v of model.trainableWeights) {
      const name = (v.read() as Variable).name;
      const t = g.grads[name];
      if (!t) throw new Error(`no gradient for ${name}`);
      const others = replies.map((r) => r.grads);
      grads[name] =
        replies.length === 0
          ? tf.clone(t)
          : tf.tensor(average(t.dataSync() as Float32Array, w0.loss, others, weights, offset), t.shape, 'float32');
      offset += t.size;
    }
    if (replies.length > 0) {
      const own = readFlat(model.nonTrainableWeights);
      const stats = average(
        own,
        w0.stats,
        replies.map((r) => r.stats),
        shares.map((s) => s.stats),
        0,
      );
      writeFlat(model.nonTrainableWeights, stats);
    }
  } catch (e) {
    tf.dispose(Object.values(grads));
    throw e;
  } finally {
    tf.dispose([g.loss, g.correct, g.weight, ...Object.values(g.grads)]);
  }
  return { loss, correct, grads };
}

/** w0·own + Σ wk·others[k][offset..offset+own.length), accumulated in double precision. */
function average(
  own: Float32Array,
  w0: number,
  others: Float32Array[],
  weights: number[],
  offset: number,
): Float32Array {
  const acc = new Float64Array(own.length);
  for (let j = 0; j < own.length; j++) acc[j] = w0 * own[j];
  others.forEach((o, k) => {
    const wk = weights[k];
    if (o.length < offset + own.length) throw new Error(`a worker sent ${o.length} values, fewer than the model has`);
    for (let j = 0; j < own.length; j++) acc[j] += wk * o[offset + j];
  });
  return Float32Array.from(acc);
}
