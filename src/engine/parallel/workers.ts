/**
 * The worker threads of a data-parallel pool, each spoken to through an `RpcEndpoint` with the
 * `WorkerContract` of src/protocol/worker.ts. The first failure of any worker (an error answering a request,
 * an uncaught exception, an unreadable message, an exit) fails the group: every waiting request rejects with
 * an error that names the worker, every worker is terminated, and every later request rejects with that error.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { portPipe, RpcEndpoint, type TransferList } from '../../protocol/rpc';
import type { TrainerContract, WorkerContract, WorkerInit } from '../../protocol/worker';

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

let workersStarted = 0;
/** Workers started by this process so far (tests check that one thread starts none). */
export function workersStartedCount(): number {
  return workersStarted;
}

type Requests = WorkerContract['requests'];
type Method = keyof Requests & string;

class WorkerHandle {
  alive = true;
  readonly exited: Promise<void>;
  readonly rpc: RpcEndpoint<TrainerContract, WorkerContract>;
  readonly name: string;

  constructor(
    index: number,
    readonly worker: Worker,
  ) {
    this.name = `training worker ${index}`;
    this.rpc = new RpcEndpoint(portPipe(worker));
    this.exited = new Promise((resolve) =>
      worker.once('exit', () => {
        this.alive = false;
        resolve();
      }),
    );
  }
}

export interface WorkerGroupOptions {
  /** Workers to start (numbered from 1: the main thread is 0). */
  count: number;
  /** The worker bundle. */
  script: string;
  /** Each worker's heap limit. */
  heapMB: number;
  /** The `workerData` of worker `index`. */
  init(index: number): WorkerInit;
}

export class WorkerGroup {
  private failure: Error | undefined;
  private disposed = false;
  private readonly workers: WorkerHandle[] = [];

  private constructor() {}

  /** Starts the workers and waits until each has its backend and its replica. */
  static async start(o: WorkerGroupOptions): Promise<WorkerGroup> {
    const group = new WorkerGroup();
    try {
      for (let i = 1; i <= o.count; i++) {
        const worker = new Worker(o.script, {
          workerData: o.init(i),
          execArgv: [],
          resourceLimits: { maxOldGenerationSizeMb: o.heapMB },
          name: `densenet-train-${i}`,
        });
        workersStarted++;
        group.watch(new WorkerHandle(i, worker));
      }
      await Promise.all(group.workers.map((_, k) => group.request(k, 'ready', null)));
      return group;
    } catch (e) {
      await group.dispose();
      throw e;
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Workers still running. */
  get live(): number {
    return this.workers.filter((w) => w.alive).length;
  }

  /** The failure of the group, if it failed. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Throws if the group failed or was disposed. */
  check(): void {
    if (this.failure) throw this.failure;
    if (this.disposed) throw new Error('the parallel trainer is disposed');
  }

  private watch(h: WorkerHandle): void {
    this.workers.push(h);
    const { worker, name } = h;
    worker.on('error', (e) => this.fail(new Error(`${name} crashed: ${e instanceof Error ? e.message : String(e)}`)));
    worker.on('messageerror', (e) => this.fail(new Error(`${name}: a message could not be read (${e.message})`)));
    worker.on('exit', (code) => {
      if (!this.disposed) this.fail(new Error(`${name} exited unexpectedly (exit code ${code})`));
    });
  }

  /**
   * A request to worker `k` (0-based: worker k + 1). Its error fails the group, named after the worker; it
   * rejects with the group's failure once there is one.
   */
  request<K extends Method>(
    k: number,
    method: K,
    params: Requests[K]['params'],
    transfer?: TransferList,
  ): Promise<Requests[K]['result']> {
    if (this.failure) return Promise.reject(this.failure);
    const h = this.workers[k];
    return h.rpc.request(method, params, { transfer }).catch((e: unknown) => {
      if (!this.failure && !this.disposed)
        this.fail(new Error(`${h.name} failed: ${e instanceof Error ? e.message : String(e)}`));
      throw this.failure ?? e;
    });
  }

  /** The first failure wins: every waiting request rejects with it and every worker is terminated. */
  fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const h of this.workers) {
      h.rpc.close(e);
      if (h.alive) void h.worker.terminate();
    }
  }

  /** Waits for the requests, then rethrows the first failure (a worker's, else the main thread's) after the workers ended. */
  async settle<T>(requests: Promise<T>[], mainError: unknown): Promise<T[]> {
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

  /** Terminates the workers (idempotent); requests still waiting reject. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const error = this.failure ?? new Error('the parallel trainer was disposed');
    for (const h of this.workers) h.rpc.close(error);
    await Promise.all(
      this.workers.map(async (h) => {
        if (h.alive) await h.worker.terminate();
        await h.exited;
      }),
    );
  }
}
