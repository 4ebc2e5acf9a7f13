/**
 * What a data-parallel worker does (the `WorkerContract` of src/protocol/worker.ts): builds its replica of the
 * model from the same analysis as the main thread's, takes the weights it is sent, and computes the gradients
 * or predictions of the shards it is sent on them; it never updates weights itself. A failed request answers
 * with its error, which fails the pool. Separate from the worker's entry (./worker) so that it runs on an
 * in-memory pipe in tests.
 */
import type { LayersModel, Variable } from '@tensorflow/tfjs';
import { type RpcEndpoint, Transfer } from '../../protocol/rpc';
import type {
  ShardGradients,
  ShardParams,
  ShardPrediction,
  TrainerContract,
  WorkerContract,
  WorkerInit,
} from '../../protocol/worker';
import { buildModel } from '../model';
import { applyFreeze } from '../training/freeze';
import { tf } from '../tf';
import {
  computeGradients,
  evaluateBatch,
  type Forward,
  makeForward,
  type Objective,
  objectiveOf,
} from '../training/step';
import { readFlat, shapesOf, writeAllWeights } from './replica';

function sameShapes(what: string, mine: number[][], theirs: number[][]): void {
  const a = JSON.stringify(mine);
  const b = JSON.stringify(theirs);
  if (a !== b)
    throw new Error(
      `the replica's ${what} weights (${mine.length}) differ from the main model's (${theirs.length}): the model does not match the spec`,
    );
}

/** A worker's replica: its model, training forward pass and the version of the weights it holds. */
class Replica {
  private version = 0;
  private readonly forward: Forward;
  private readonly objective: Objective;

  constructor(
    private readonly model: LayersModel,
    init: WorkerInit,
  ) {
    sameShapes('trainable', shapesOf(model.trainableWeights), init.trainableShapes);
    sameShapes('non-trainable', shapesOf(model.nonTrainableWeights), init.nonTrainableShapes);
    this.forward = makeForward(model, init.analysis, init.config);
    this.objective = objectiveOf(init.analysis, init.config);
  }

  setWeights(version: number, data: Float32Array): void {
    writeAllWeights(this.model, data);
    this.version = version;
  }

  private expect(version: number, what: string): void {
    if (version !== this.version) throw new Error(`weights version ${this.version} is not the ${what}'s ${version}`);
  }

  /** The shard's gradients as one flat array, its loss and correct predictions, and the updated moving statistics. */
  step(p: ShardParams): ShardGradients {
    this.expect(p.version, 'step');
    const m = this.model;
    const g = computeGradients(m, this.forward, { x: p.x, y: p.y, size: p.size }, this.objective);
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
      return {
        loss: g.loss.dataSync()[0],
        correct: g.correct.dataSync()[0],
        weight: g.weight.dataSync()[0],
        grads,
        stats,
      };
    } finally {
      tf.dispose([g.loss, g.correct, g.weight, ...Object.values(g.grads)]);
    }
  }

  predict(p: ShardParams): ShardPrediction {
    this.expect(p.version, 'request');
    return evaluateBatch(this.model, { x: p.x, y: p.y, size: p.size }, this.objective);
  }
}

/**
 * Answers the training thread's requests on `rpc`. `startBackend` initialises this thread's tfjs backend; the
 * replica is built after it. Handlers are registered at once, so that no request arrives unanswered.
 */
export function serveReplica(
  rpc: RpcEndpoint<WorkerContract, TrainerContract>,
  init: WorkerInit,
  startBackend: () => Promise<unknown>,
): void {
  let replica: Replica | undefined;
  const started = (async () => {
    try {
      await startBackend();
      // A seed of its own (dropout masks must not repeat the main replica's); the weights come from the main thread.
      const seed = init.config.seed === undefined ? undefined : init.config.seed + init.index;
      // The main model's epsilon and freeze, so that the weight lists agree; the weights themselves (pretrained
      // ones too) come with the first `weights` request.
      const model = buildModel(init.analysis, { seed, batchNormEpsilon: init.batchNormEpsilon });
      applyFreeze(model, init.analysis, init.config);
      replica = new Replica(model, init);
    } catch (e) {
      throw new Error(`start failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  })();
  // The pool asks `ready` first; a failed start must not also be an unhandled rejection.
  started.catch(() => undefined);
  const built = (): Replica => {
    if (!replica) throw new Error('the replica is not built yet');
    return replica;
  };
  rpc.handle('ready', async () => {
    await started;
    return null;
  });
  rpc.handle('weights', ({ version, data }) => {
    built().setWeights(version, data);
    return null;
  });
  rpc.handle('step', (p) => {
    const r = built().step(p);
    return new Transfer(r, [r.grads.buffer as ArrayBuffer, r.stats.buffer as ArrayBuffer]);
  });
  rpc.handle('predict', (p) => {
    const r = built().predict(p);
    return new Transfer(r, [r.predicted.buffer as ArrayBuffer]);
  });
}
