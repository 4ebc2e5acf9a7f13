/**
 * Data-parallel training on one machine's cores: the engine's thread plus `threads - 1` worker_threads, each
 * with its own tfjs backend and replica of the model (the WASM backend is single-threaded under Node).
 *
 * A step splits the batch into contiguous shards (shards.ts), sends one to each worker (transferring its
 * arrays), computes the first shard on the main thread meanwhile, and averages the gradients weighted by
 * shard size: the gradient of the batch's mean loss. Batch normalization normalises each shard with its own
 * statistics, as PyTorch's DataParallel/DistributedDataParallel do without SyncBatchNorm; the moving
 * statistics become the shard-size-weighted average of the replicas' (exact for the moving mean, whose update
 * is linear in the batch mean; the moving variance averages the shards' variances). The main optimizer then
 * applies the gradients once, and the new weights (trainable and moving statistics) go to every worker,
 * numbered by a version that each request must match, so that no worker computes on stale weights.
 *
 * A failing worker (an error in a request, an uncaught exception, an exit) fails the step with a message
 * that names it, and terminates every worker: the pool is unusable afterwards.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import { Worker } from 'worker_threads';
import type { LayersModel, Optimizer, Tensor, Variable } from '@tensorflow/tfjs';
import type { Analysis, TrainingConfig } from '../../core';
import type { Batch } from '../data/open';
import { tf } from '../tf';
import {
  applyGradients,
  computeGradients,
  type Evaluation,
  EvaluationTally,
  evaluateBatch,
  type Forward,
  type Step,
  type TrainControl,
} from '../training/step';
import type { FromWorker, ToWorker, WorkerInit } from '../../protocol/worker';
import { readAllWeights, readFlat, shapesOf, writeFlat } from './replica';
import { shardBatch } from './shards';

export const WORKER_SCRIPT = 'engine-worker.js';

/** Where the worker bundle is: beside this bundle (dist/), or dist/ of the package when running from out/ or src/. */
export function findWorkerScript(): string {
  const candidates = [
    path.join(__dirname, WORKER_SCRIPT),
    path.resolve(__dirname, '../../../../dist', WORKER_SCRIPT),
    path.resolve(__dirname, '../../../dist', WORKER_SCRIPT),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found)
    throw new Error(
      `the training worker ${WORKER_SCRIPT} is missing (looked in ${candidates.map((c) => path.dirname(c)).join(', ')}); build it with "npm run build"`,
    );
  return found;
}

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

interface Pending {
  resolve: (m: FromWorker) => void;
  reject: (e: Error) => void;
}

class WorkerHandle {
  readonly pending = new Map<number, Pending>();
  alive = true;
  readonly exited: Promise<void>;
  constructor(
    readonly index: number,
    readonly worker: Worker,
  ) {
    this.exited = new Promise((resolve) =>
      worker.once('exit', () => {
        this.alive = false;
        resolve();
      }),
    );
  }
}

let workersStarted = 0;
/** Workers started by this process so far (tests check that one thread starts none). */
export function workersStartedCount(): number {
  return workersStarted;
}

export class ParallelTrainer {
  private nextId = 1;
  private version = 0;
  private failure: Error | undefined;
  private disposed = false;
  private readonly perExample: number;

  private constructor(
    private readonly workers: WorkerHandle[],
    model: LayersModel,
  ) {
    const [h, w, c] = (model.inputs[0].shape as number[]).slice(1);
    this.perExample = h * w * c;
  }

  /** Starts the workers, waits until each has its backend and replica, and sends them the model's weights. */
  static async start(o: ParallelOptions): Promise<ParallelTrainer> {
    if (!Number.isInteger(o.threads) || o.threads < 2)
      throw new Error(`a parallel trainer needs 2 or more threads (got ${o.threads})`);
    const script = o.workerScript ?? findWorkerScript();
    const wasmDir = o.wasmDir ?? path.dirname(script);
    // The engine's heap limit (--max-old-space-size) for each worker's heap too.
    const heapMB = Math.ceil(v8.getHeapStatistics().heap_size_limit / 2 ** 20);
    const handles: WorkerHandle[] = [];
    const trainer = new ParallelTrainer(handles, o.model);
    const ready: Promise<void>[] = [];
    try {
      for (let i = 1; i < o.threads; i++) {
        const init: WorkerInit = {
          index: i,
          backend: o.backend,
          wasmDir,
          analysis: o.analysis,
          config: o.config,
          trainableShapes: shapesOf(o.model.trainableWeights),
          nonTrainableShapes: shapesOf(o.model.nonTrainableWeights),
        };
        const worker = new Worker(script, {
          workerData: init,
          execArgv: [],
          resourceLimits: { maxOldGenerationSizeMb: heapMB },
          name: `densenet-train-${i}`,
        });
        workersStarted++;
        const h = new WorkerHandle(i, worker);
        handles.push(h);
        ready.push(
          new Promise<void>((resolve, reject) => {
            h.pending.set(0, { resolve: () => resolve(), reject });
          }),
        );
        trainer.listen(h);
      }
      await Promise.all(ready);
      trainer.syncWeights(o.model);
      return trainer;
    } catch (e) {
      await trainer.dispose();
      throw e;
    }
  }

  /** Threads in all, the main thread included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /** Workers still running. */
  get liveWorkers(): number {
    return this.workers.filter((w) => w.alive).length;
  }

  private listen(h: WorkerHandle): void {
    const name = `training worker ${h.index}`;
    h.worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') {
        const p = h.pending.get(0);
        h.pending.delete(0);
        p?.resolve(m);
      } else if (m.type === 'error') {
        this.fail(new Error(`${name} failed: ${m.message}`));
      } else {
        const p = h.pending.get(m.id);
        h.pending.delete(m.id);
        p?.resolve(m);
      }
    });
    h.worker.on('error', (e) => this.fail(new Error(`${name} crashed: ${e instanceof Error ? e.message : String(e)}`)));
    h.worker.on('messageerror', (e) => this.fail(new Error(`${name}: a message could not be read (${e.message})`)));
    h.worker.on('exit', (code) => {
      if (!this.disposed) this.fail(new Error(`${name} exited unexpectedly (exit code ${code})`));
    });
  }

  /** The first failure wins: every pending request rejects with it and every worker is terminated. */
  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const h of this.workers) {
      for (const p of h.pending.values()) p.reject(e);
      h.pending.clear();
      if (h.alive) void h.worker.terminate();
    }
  }

  private request(h: WorkerHandle, msg: ToWorker & { id: number }, transfer: ArrayBuffer[]): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      h.pending.set(msg.id, { resolve, reject });
      h.worker.postMessage(msg, transfer);
    });
  }

  /** Waits for the requests, then rethrows the first failure (a worker's, else the main thread's) after the workers ended. */
  private async settle<T>(requests: Promise<T>[], mainError: unknown): Promise<T[]> {
    const settled = await Promise.allSettled(requests);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const error = this.failure ?? (failed ? failed.reason : undefined) ?? mainError;
    if (error !== undefined) {
      if (!this.failure) this.fail(error instanceof Error ? error : new Error(String(error)));
      await Promise.all(this.workers.map((w) => w.exited));
      throw error;
    }
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  }

  /** Sends the model's weights (trainable and moving statistics) to every worker, as a new version. */
  syncWeights(model: LayersModel): void {
    if (this.failure) throw this.failure;
    this.version++;
    const data = readAllWeights(model);
    this.workers.forEach((h, i) => {
      const copy = i === this.workers.length - 1 ? data : data.slice();
      h.worker.postMessage({ type: 'weights', version: this.version, data: copy } satisfies ToWorker, [
        copy.buffer as ArrayBuffer,
      ]);
    });
  }

  /**
   * The gradients of a batch's mean loss (by variable name, as computeGradients; the caller owns them), its
   * mean loss and correct predictions, with the shards computed in parallel; sets the model's moving
   * statistics to the weighted average of the replicas'.
   */
  async computeGradients(
    model: LayersModel,
    forward: Forward,
    batch: Batch,
    classes: number,
  ): Promise<{ loss: number; correct: number; grads: Record<string, Tensor> }> {
    if (this.failure) throw this.failure;
    if (this.disposed) throw new Error('the parallel trainer is disposed');
    const shards = shardBatch(batch, this.threads, this.perExample);
    const requests: Promise<FromWorker>[] = [];
    const used: { size: number; index: number }[] = [];
    shards.slice(1).forEach((s, k) => {
      if (s.size === 0) return;
      const id = this.nextId++;
      used.push({ size: s.size, index: k });
      requests.push(
        this.request(this.workers[k], { type: 'step', id, version: this.version, x: s.x, y: s.y, size: s.size }, [
          s.x.buffer as ArrayBuffer,
          s.y.buffer as ArrayBuffer,
        ]),
      );
    });
    // The main thread's shard, while the workers compute theirs.
    const first = shards[0];
    let mine: ReturnType<typeof computeGradients> | undefined;
    let mainError: unknown;
    try {
      mine = computeGradients(model, forward, { x: first.x, y: first.y, size: first.size }, classes);
    } catch (e) {
      mainError = e;
    }
    let replies: Extract<FromWorker, { type: 'grads' }>[];
    try {
      replies = (await this.settle(requests, mainError)) as Extract<FromWorker, { type: 'grads' }>[];
    } catch (e) {
      if (mine) tf.dispose([mine.loss, mine.correct, ...Object.values(mine.grads)]);
      throw e;
    }
    const g = mine as ReturnType<typeof computeGradients>;
    const n = batch.size;
    const w0 = first.size / n;
    const weights = used.map((u) => u.size / n);
    let loss = g.loss.dataSync()[0] * w0;
    let correct = g.correct.dataSync()[0];
    replies.forEach((r, k) => {
      loss += r.loss * weights[k];
      correct += r.correct;
    });

    const grads: Record<string, Tensor> = {};
    try {
      let offset = 0;
      for (const v of model.trainableWeights) {
        const name = (v.read() as Variable).name;
        const t = g.grads[name];
        if (!t) throw new Error(`no gradient for ${name}`);
        grads[name] =
          replies.length === 0
            ? tf.clone(t)
            : tf.tensor(
                average(
                  t.dataSync() as Float32Array,
                  w0,
                  replies.map((r) => r.grads),
                  weights,
                  offset,
                ),
                t.shape,
                'float32',
              );
        offset += t.size;
      }
      if (replies.length > 0) {
        const stats = average(
          readFlat(model.nonTrainableWeights),
          w0,
          replies.map((r) => r.stats),
          weights,
          0,
        );
        writeFlat(model.nonTrainableWeights, stats);
      }
    } catch (e) {
      tf.dispose(Object.values(grads));
      throw e;
    } finally {
      tf.dispose([g.loss, g.correct, ...Object.values(g.grads)]);
    }
    return { loss, correct, grads };
  }

  /** One optimisation step: parallel gradients, applied once by the main optimizer, then the new weights to the workers. */
  async step(
    model: LayersModel,
    forward: Forward,
    optimizer: Optimizer,
    batch: Batch,
    classes: number,
    c: TrainingConfig,
    lr: number,
  ): Promise<Step> {
    const { loss, correct, grads } = await this.computeGradients(model, forward, batch, classes);
    applyGradients(model, optimizer, grads, c, lr);
    this.syncWeights(model);
    return { loss, correct };
  }

  /** `evaluate` of train.ts with each batch's shards predicted in parallel on the current weights. */
  async evaluate(
    model: LayersModel,
    batches: AsyncIterable<Batch>,
    classes: number,
    control?: TrainControl,
  ): Promise<Evaluation> {
    const tally = new EvaluationTally(classes);
    for await (const b of batches) {
      if (this.failure) throw this.failure;
      const shards = shardBatch(b, this.threads, this.perExample);
      const requests: Promise<FromWorker>[] = [];
      const used: typeof shards = [];
      shards.slice(1).forEach((s, k) => {
        if (s.size === 0) return;
        used.push(s);
        requests.push(
          this.request(
            this.workers[k],
            { type: 'predict', id: this.nextId++, version: this.version, x: s.x, y: s.y, size: s.size },
            [s.x.buffer as ArrayBuffer],
          ),
        );
      });
      const first = shards[0];
      let mine: { loss: number; predicted: Int32Array } | undefined;
      let mainError: unknown;
      try {
        mine = evaluateBatch(model, first, classes);
      } catch (e) {
        mainError = e;
      }
      const replies = (await this.settle(requests, mainError)) as Extract<FromWorker, { type: 'predicted' }>[];
      const parts = [
        { shard: first, loss: mine!.loss, predicted: mine!.predicted },
        ...replies.map((r, k) => ({ shard: used[k], loss: r.loss, predicted: r.predicted })),
      ];
      for (const p of parts) tally.add(b.y.subarray(p.shard.start, p.shard.start + p.shard.size), p.predicted, p.loss);
      if (control?.cancelled) break;
    }
    return tally.result();
  }

  /** Terminates the workers (idempotent). */
  async dispose(): Promise<void> {
    this.disposed = true;
    const error = this.failure ?? new Error('the parallel trainer was disposed');
    for (const h of this.workers) {
      for (const p of h.pending.values()) p.reject(error);
      h.pending.clear();
    }
    await Promise.all(
      this.workers.map(async (h) => {
        if (h.alive) await h.worker.terminate();
        await h.exited;
      }),
    );
  }
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
