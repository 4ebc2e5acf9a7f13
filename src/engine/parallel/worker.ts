/**
 * A data-parallel training worker (worker_threads; bundled as dist/engine-worker.js). Holds its own tfjs
 * backend (the main thread's kind) and its own replica of the model, built from the same analysis. Computes
 * the gradients of the shards it is sent on the weights it was last sent; never updates weights itself.
 * Requests are answered in order; a failed request answers with an error message.
 */
import { parentPort, workerData } from 'worker_threads';
import type { LayersModel, Variable } from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { buildModel } from '../model';
import { tf } from '../tf';
import { computeGradients, evaluateBatch, type Forward, makeForward } from '../training/step';
import type { FromWorker, ToWorker, WorkerInit } from '../../protocol/worker';
import { readFlat, shapesOf, writeAllWeights } from './replica';

const port = parentPort;
if (!port) throw new Error('engine-worker.js runs as a worker thread of the training engine');
const init = workerData as WorkerInit;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sameShapes(what: string, mine: number[][], theirs: number[][]): void {
  const a = JSON.stringify(mine);
  const b = JSON.stringify(theirs);
  if (a !== b)
    throw new Error(
      `the replica's ${what} weights (${mine.length}) differ from the main model's (${theirs.length}): the model does not match the spec`,
    );
}

let model: LayersModel | undefined;
let forward: Forward | undefined;
let version = 0;

async function start(): Promise<void> {
  await initBackend(init.backend, { wasmDir: init.wasmDir });
  // A seed of its own (dropout masks must not repeat the main replica's); the weights come from the main thread.
  model = buildModel(init.analysis, {
    seed: init.config.seed === undefined ? undefined : init.config.seed + init.index,
  });
  sameShapes('trainable', shapesOf(model.trainableWeights), init.trainableShapes);
  sameShapes('non-trainable', shapesOf(model.nonTrainableWeights), init.nonTrainableShapes);
  forward = makeForward(model, init.analysis, init.config);
}

function handle(msg: ToWorker): void {
  const m = model as LayersModel;
  switch (msg.type) {
    case 'weights':
      writeAllWeights(m, msg.data);
      version = msg.version;
      return;
    case 'step': {
      if (msg.version !== version) throw new Error(`weights version ${version} is not the step's ${msg.version}`);
      const g = computeGradients(m, forward as Forward, { x: msg.x, y: msg.y, size: msg.size }, init.analysis.classes);
      try {
        const names = m.trainableWeights.map((w) => (w.read() as Variable).name);
        const grads = new Float32Array(m.trainableWeights.reduce((n, w) => n + w.read().size, 0));
        let offset = 0;
        for (const name of names) {
          const t = g.grads[name];
          if (!t) throw new Error(`no gradient for ${name}`);
          const v = t.dataSync() as Float32Array;
          grads.set(v, offset);
          offset += v.length;
        }
        const stats = readFlat(m.nonTrainableWeights);
        const loss = g.loss.dataSync()[0];
        const correct = g.correct.dataSync()[0];
        post({ type: 'grads', id: msg.id, loss, correct, grads, stats }, [
          grads.buffer as ArrayBuffer,
          stats.buffer as ArrayBuffer,
        ]);
      } finally {
        tf.dispose([g.loss, g.correct, ...Object.values(g.grads)]);
      }
      return;
    }
    case 'predict': {
      if (msg.version !== version) throw new Error(`weights version ${version} is not the request's ${msg.version}`);
      const r = evaluateBatch(m, { x: msg.x, y: msg.y, size: msg.size }, init.analysis.classes);
      post({ type: 'predicted', id: msg.id, loss: r.loss, predicted: r.predicted }, [
        r.predicted.buffer as ArrayBuffer,
      ]);
      return;
    }
  }
}

start().then(
  () => {
    port.on('message', (msg: ToWorker) => {
      try {
        handle(msg);
      } catch (e) {
        post({ type: 'error', id: msg.type === 'weights' ? undefined : msg.id, message: message(e) });
      }
    });
    post({ type: 'ready' });
  },
  (e) => post({ type: 'error', message: `start failed: ${message(e)}` }),
);
