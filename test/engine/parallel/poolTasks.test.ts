/**
 * Data-parallel training of the tasks beyond one class per image, on real worker threads: a multi-label
 * classifier and a small FC-DenseNet. The batch's gradient is the shards' gradients weighted by what each
 * shard's loss is a mean over (its examples; for segmentation the weights of its labelled pixels, which differ
 * between shards when some pixels are ignored); validation on the pool gives the single thread's figures.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { LayersModel, Tensor, Variable } from '@tensorflow/tfjs';
import { type Analysis, trainingConfig, validateSpec } from '../../../src/core';
import type { Batch } from '../../../src/engine/data/open';
import { registerWasmTrainingKernels } from '../../../src/engine/kernels/register';
import { buildModel } from '../../../src/engine/model';
import { ParallelTrainer } from '../../../src/engine/parallel/pool';
import { readAllWeights, writeAllWeights } from '../../../src/engine/parallel/replica';
import { shardSizes } from '../../../src/engine/parallel/shards';
import { tf } from '../../../src/engine/tf';
import { computeGradients, evaluate, makeForward, objectiveOf } from '../../../src/engine/training/step';
import { relError, values } from '../../support/backends';

const root = path.resolve(__dirname, '../../../..');
const workerPath = path.join(root, 'dist', 'engine-worker.js');
const SIDE = 8;

function analysisOf(spec: Record<string, unknown>): Analysis {
  const v = validateSpec(
    JSON.stringify({ version: 1, name: 'tasks', input: { height: SIDE, width: SIDE, channels: 1 }, ...spec }),
  );
  const errors = v.diagnostics.filter((d) => d.severity === 'error');
  assert.deepStrictEqual(errors, [], 'the spec has no error');
  assert.ok(v.analysis);
  return v.analysis;
}

const MULTILABEL = {
  task: 'multilabel',
  classes: 3,
  model: {
    growthRate: 4,
    blockConfig: [2],
    bnSize: 2,
    numInitFeatures: 8,
    stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
  },
};
const SEGMENTATION = {
  task: 'segmentation',
  classes: 3,
  model: {
    growthRate: 4,
    blockConfig: [2],
    bottleneckLayers: 2,
    upBlockConfig: [2],
    numInitFeatures: 8,
    stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
  },
};

/** `size` images with targets for `a`'s task; segmentation: the first examples have many ignored pixels. */
function makeBatch(a: Analysis, size: number, seed: number): Batch {
  const x = values(size * SIDE * SIDE, seed, 0);
  if (a.task === 'multilabel')
    return { x, y: Int32Array.from({ length: size * a.classes }, (_, i) => ((i * 5 + seed) % 3 === 0 ? 1 : 0)), size };
  const y = Int32Array.from({ length: size * SIDE * SIDE }, (_, i) => {
    const example = Math.floor(i / (SIDE * SIDE));
    return example < 2 && i % 3 !== 0 ? -1 : (i + seed) % a.classes;
  });
  return { x, y, size };
}

const gradArrays = (model: LayersModel, grads: Record<string, Tensor>): Float32Array[] =>
  model.trainableWeights.map((v) => grads[(v.read() as Variable).name].dataSync() as Float32Array);

/** The shards' gradients (computed one by one here), averaged by the weight of each shard's loss. */
function reference(ref: LayersModel, a: Analysis, weights: Float32Array, batch: Batch) {
  const c = trainingConfig({ optimizer: 'sgd' });
  const o = objectiveOf(a, c);
  const forward = makeForward(ref, a, c);
  const per = SIDE * SIDE;
  const stride = a.task === 'multilabel' ? a.classes : per;
  const parts: { w: number; loss: number; grads: Float32Array[] }[] = [];
  let start = 0;
  for (const size of shardSizes(batch.size, 2)) {
    writeAllWeights(ref, weights);
    const shard = {
      x: batch.x.slice(start * per, (start + size) * per),
      y: batch.y.slice(start * stride, (start + size) * stride),
      size,
    };
    const g = computeGradients(ref, forward, shard, o);
    parts.push({
      w: g.weight.dataSync()[0],
      loss: g.loss.dataSync()[0],
      grads: gradArrays(ref, g.grads).map((t) => Float32Array.from(t)),
    });
    tf.dispose([g.loss, g.correct, g.weight, ...Object.values(g.grads)]);
    start += size;
  }
  const total = parts.reduce((t, p) => t + p.w, 0);
  return {
    shares: parts.map((p) => p.w / total),
    loss: parts.reduce((t, p) => t + (p.w / total) * p.loss, 0),
    grads: parts[0].grads.map((g, i) => g.map((_, j) => parts.reduce((t, p) => t + (p.w / total) * p.grads[i][j], 0))),
  };
}

describe('engine: data-parallel training of multi-label and segmentation models', function () {
  this.timeout(180_000);
  let previous: string | undefined;

  before(async function () {
    if (!fs.existsSync(workerPath)) execFileSync(process.execPath, [path.join(root, 'esbuild.mjs')], { cwd: root });
    previous = tf.getBackend();
    assert.ok(await tf.setBackend('wasm'));
    registerWasmTrainingKernels();
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  for (const [name, spec] of [
    ['multi-label', MULTILABEL],
    ['segmentation', SEGMENTATION],
  ] as const) {
    it(`${name}: the pool's gradients are the shards' weighted by their loss weights; validation equals one thread's`, async () => {
      const a = analysisOf(spec);
      const c = trainingConfig({ optimizer: 'sgd', learningRate: 0.1 });
      const model = buildModel(a, { seed: 3 });
      const ref = buildModel(a, { seed: 4 });
      const forward = makeForward(model, a, c);
      const pool = await ParallelTrainer.start({
        threads: 2,
        backend: 'wasm',
        analysis: a,
        config: c,
        model,
        workerScript: workerPath,
      });
      try {
        const batch = makeBatch(a, 7, 1);
        const expected = reference(ref, a, readAllWeights(model), batch);
        if (a.task === 'segmentation')
          assert.ok(
            Math.abs(expected.shares[0] - 4 / 7) > 0.05,
            `the shards' weights (${expected.shares}) are not their sizes`,
          );
        const got = await pool.computeGradients(model, forward, batch);
        pool.syncWeights(model); // the replicas take the moving statistics the step averaged
        gradArrays(model, got.grads).forEach((g, i) => {
          const err = relError(g, expected.grads[i]);
          assert.ok(err < 1e-4, `gradient of ${model.trainableWeights[i].name}: relative error ${err}`);
        });
        assert.ok(
          Math.abs(got.loss - expected.loss) < 1e-5 * Math.max(1, expected.loss),
          `loss ${got.loss} vs ${expected.loss}`,
        );
        tf.dispose(Object.values(got.grads));

        const batches = [makeBatch(a, 6, 2), makeBatch(a, 5, 3)];
        async function* iterate() {
          yield* batches;
        }
        const parallel = await pool.evaluate(model, iterate());
        const single = await evaluate(model, iterate(), objectiveOf(a, c));
        assert.strictEqual(parallel.examples, 11);
        assert.deepStrictEqual(parallel.confusion, single.confusion);
        assert.deepStrictEqual(parallel.multilabel, single.multilabel);
        assert.deepStrictEqual(parallel.segmentation, single.segmentation);
        assert.ok(
          Math.abs(parallel.loss - single.loss) < 1e-5 * Math.max(1, single.loss),
          `${parallel.loss} vs ${single.loss}`,
        );
        if (a.task === 'multilabel') assert.strictEqual(single.multilabel?.labels.length, 3);
        else assert.strictEqual(single.segmentation?.classes.length, 3);
      } finally {
        await pool.dispose();
        model.dispose();
        ref.dispose();
      }
    });
  }
});
