/**
 * A worker's side of the data-parallel contract (replicaServer.ts) on an in-memory pipe, on the CPU backend
 * of this thread: readiness, weights by version, gradients and predictions of shards, errors as rejections.
 */
import * as assert from 'assert';
import type { LayersModel, Variable } from '@tensorflow/tfjs';
import { type Analysis, trainingConfig } from '../../../src/core';
import { buildModel } from '../../../src/engine/model';
import { serveReplica } from '../../../src/engine/parallel/replicaServer';
import { readAllWeights, readFlat, shapesOf, writeFlat } from '../../../src/engine/parallel/replica';
import { tf } from '../../../src/engine/tf';
import { computeGradients, evaluateBatch, makeForward } from '../../../src/engine/training/step';
import { pipePair, RpcEndpoint } from '../../../src/protocol/rpc';
import type { TrainerContract, WorkerContract, WorkerInit } from '../../../src/protocol/worker';
import { barsAnalysis } from '../../support/barsDataset';
import { relError, values } from '../../support/backends';

const CLASSES = 3;

describe('engine: a data-parallel worker (replicaServer)', function () {
  this.timeout(60_000);
  let previous: string;
  let analysis: Analysis;
  let main: LayersModel;
  before(async () => {
    previous = tf.getBackend();
    await tf.setBackend('cpu');
    analysis = barsAnalysis({ blockConfig: [2] });
    main = buildModel(analysis, { seed: 1 });
  });
  after(async () => {
    main.dispose();
    if (previous) await tf.setBackend(previous);
  });

  function connect(startBackend: () => Promise<unknown> = () => Promise.resolve()) {
    const init: WorkerInit = {
      index: 1,
      backend: 'cpu',
      wasmDir: '',
      analysis,
      config: trainingConfig({ optimizer: 'sgd', seed: 5 }),
      trainableShapes: shapesOf(main.trainableWeights),
      nonTrainableShapes: shapesOf(main.nonTrainableWeights),
    };
    const [a, b] = pipePair();
    serveReplica(new RpcEndpoint<WorkerContract, TrainerContract>(a), init, startBackend);
    return new RpcEndpoint<TrainerContract, WorkerContract>(b);
  }

  it("computes a shard's gradients and predictions on the weights it was sent, as the main replica does", async () => {
    const rpc = connect();
    assert.strictEqual(await rpc.request('ready', null), null);
    await rpc.request('weights', { version: 1, data: readAllWeights(main) });
    const shard = { x: values(4 * 64, 3), y: Int32Array.from([0, 1, 2, 0]), size: 4 };
    const got = await rpc.request('step', { version: 1, ...shard });

    // The same shard on the main replica (its moving statistics restored afterwards).
    const stats = readFlat(main.nonTrainableWeights);
    const g = computeGradients(main, makeForward(main, analysis, trainingConfig({})), shard, CLASSES);
    const expected = main.trainableWeights.map((w) => g.grads[(w.read() as Variable).name].dataSync());
    const flat = Float32Array.from(expected.flatMap((a) => [...a]));
    assert.ok(relError(got.grads, flat) < 1e-5, `gradients: relative error ${relError(got.grads, flat)}`);
    assert.ok(Math.abs(got.loss - g.loss.dataSync()[0]) < 1e-5);
    assert.strictEqual(got.correct, g.correct.dataSync()[0]);
    assert.ok(relError(got.stats, readFlat(main.nonTrainableWeights)) < 1e-5, 'updated moving statistics');
    tf.dispose([g.loss, g.correct, ...Object.values(g.grads)]);
    writeFlat(main.nonTrainableWeights, stats);
  });

  it('refuses a shard of another weights version, and says why', async () => {
    const rpc = connect();
    await rpc.request('ready', null);
    await rpc.request('weights', { version: 3, data: readAllWeights(main) });
    const shard = { x: values(2 * 64, 4), y: Int32Array.from([0, 1]), size: 2 };
    await assert.rejects(rpc.request('step', { version: 2, ...shard }), /weights version 3 is not the step's 2/);
    await assert.rejects(rpc.request('predict', { version: 4, ...shard }), /weights version 3 is not the request's 4/);
    const p = await rpc.request('predict', { version: 3, ...shard });
    assert.deepStrictEqual(p, evaluateBatch(main, shard, CLASSES));
    await assert.rejects(rpc.request('weights', { version: 4, data: new Float32Array(3) }), /too few/);
  });

  it('a failed start rejects readiness with its cause; later requests fail too', async () => {
    const rpc = connect(() => Promise.reject(new Error('no backend here')));
    await assert.rejects(rpc.request('ready', null), /start failed: no backend here/);
    await assert.rejects(rpc.request('weights', { version: 1, data: new Float32Array(1) }), /not built/);
  });
});
