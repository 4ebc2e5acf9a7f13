/**
 * A data-parallel training worker (worker_threads; bundled as dist/engine-worker.js): its own tfjs backend
 * (the main thread's kind) and its own replica of the model, answering the training thread over the worker's
 * port (./replicaServer, src/protocol/worker.ts).
 */
import { parentPort, workerData } from 'worker_threads';
import { RpcEndpoint, portPipe } from '../../protocol/rpc';
import type { TrainerContract, WorkerContract, WorkerInit } from '../../protocol/worker';
import { initBackend } from '../backend';
import { serveReplica } from './replicaServer';

if (!parentPort) throw new Error('engine-worker.js runs as a worker thread of the training engine');
const init = workerData as WorkerInit;
serveReplica(new RpcEndpoint<WorkerContract, TrainerContract>(portPipe(parentPort)), init, () =>
  initBackend(init.backend, { wasmDir: init.wasmDir }),
);
