/**
 * Data-parallel training (src/engine/parallel/): real worker_threads running the built dist/engine-worker.js,
 * on WASM as the engine trains. The reference of a parallel step is computed here on the main thread: each
 * shard's gradients with a copy of the model (batch norm with per-shard statistics), averaged by shard size.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LayersModel, Tensor, Variable } from '@tensorflow/tfjs';
import { type Analysis, trainingConfig, validateSpec } from '../../../src/core';
import type { Batch } from '../../../src/engine/data/open';
import { registerWasmTrainingKernels } from '../../../src/engine/kernels/register';
import { buildModel } from '../../../src/engine/model';
import { ParallelTrainer } from '../../../src/engine/parallel/pool';
import { readAllWeights, readFlat, writeAllWeights, writeFlat } from '../../../src/engine/parallel/replica';
import { shardSizes } from '../../../src/engine/parallel/shards';
import { resolveThreads } from '../../../src/engine/parallel/threads';
import { workersStartedCount } from '../../../src/engine/parallel/workers';
import { tf } from '../../../src/engine/tf';
import {
  applyGradients,
  computeGradients,
  disposeOptimizer,
  evaluate,
  makeForward,
  makeOptimizer,
} from '../../../src/engine/training/step';
import { train, type TrainObserver } from '../../../src/engine/training/train';
import type { TrainingStarted } from '../../../src/protocol/engine';
import { relError, values } from '../../support/backends';
import { makeDataset } from '../../support/barsDataset';

const root = path.resolve(__dirname, '../../../..');
const workerPath = path.join(root, 'dist', 'engine-worker.js');

const MODEL = {
  growthRate: 4,
  blockConfig: [2, 2],
  bnSize: 2,
  compression: 0.5,
  numInitFeatures: 8,
  stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
};
const CLASSES = 3;

function smallAnalysis(classes = CLASSES): Analysis {
  const v = validateSpec(
    JSON.stringify({
      version: 1,
      name: 'par',
      input: { height: 16, width: 16, channels: 3 },
      classes,
      model: MODEL,
    }),
  );
  assert.ok(v.analysis, 'the spec analyses');
  return v.analysis;
}

/** A batch of `size` 16x16x3 images: noise, plus a bright channel that is the class (learnable). */
function makeBatch(size: number, seed: number): Batch {
  const x = values(size * 16 * 16 * 3, seed, 0);
  const y = Int32Array.from({ length: size }, (_, i) => (i * 7 + seed) % CLASSES);
  for (let i = 0; i < size; i++) {
    for (let p = 0; p < 256; p++) x[(i * 256 + p) * 3 + y[i]] += 2;
  }
  return { x, y, size };
}

/** Trainable gradients as flat arrays in trainableWeights order. */
function gradArrays(model: LayersModel, grads: Record<string, Tensor>): Float32Array[] {
  return model.trainableWeights.map((v) => grads[(v.read() as Variable).name].dataSync() as Float32Array);
}

/**
 * The reference of a parallel step from `weights` (flat, replica.ts layout): per shard, computeGradients
 * with a copy of the model; the shard-size-weighted averages of gradients, losses and moving statistics.
 */
function reference(ref: LayersModel, analysis: Analysis, weights: Float32Array, batch: Batch, threads: number) {
  const c = trainingConfig({ optimizer: 'sgd' });
  const forward = makeForward(ref, analysis, c);
  const per = 16 * 16 * 3;
  let start = 0;
  let loss = 0;
  let correct = 0;
  let grads: Float64Array[] | undefined;
  let stats: Float64Array | undefined;
  for (const size of shardSizes(batch.size, threads)) {
    if (size === 0) continue;
    writeAllWeights(ref, weights);
    const g = computeGradients(
      ref,
      forward,
      { x: batch.x.slice(start * per, (start + size) * per), y: batch.y.slice(start, start + size), size },
      CLASSES,
    );
    const w = size / batch.size;
    const ga = gradArrays(ref, g.grads);
    const st = readFlat(ref.nonTrainableWeights);
    grads ??= ga.map((a) => new Float64Array(a.length));
    stats ??= new Float64Array(st.length);
    ga.forEach((a, i) => a.forEach((v, j) => (grads![i][j] += w * v)));
    st.forEach((v, j) => (stats![j] += w * v));
    loss += w * g.loss.dataSync()[0];
    correct += g.correct.dataSync()[0];
    tf.dispose([g.loss, g.correct, ...Object.values(g.grads)]);
    start += size;
  }
  return { loss, correct, grads: grads!.map((g) => Float32Array.from(g)), stats: Float32Array.from(stats!) };
}

describe('engine: data-parallel training on worker threads', function () {
  this.timeout(180_000);
  let previous: string;
  let analysis: Analysis;

  before(async function () {
    if (!fs.existsSync(workerPath)) execFileSync(process.execPath, [path.join(root, 'esbuild.mjs')], { cwd: root });
    previous = tf.getBackend();
    assert.ok(await tf.setBackend('wasm'), 'the WASM backend initialises');
    registerWasmTrainingKernels();
    analysis = smallAnalysis();
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it('splits batches into contiguous shards as equal as possible', () => {
    assert.deepStrictEqual(shardSizes(32, 2), [16, 16]);
    assert.deepStrictEqual(shardSizes(7, 2), [4, 3]);
    assert.deepStrictEqual(shardSizes(10, 4), [3, 3, 2, 2]);
    assert.deepStrictEqual(shardSizes(1, 2), [1, 0]);
  });

  it('resolves the thread count: 0 is one per core, native TensorFlow and absent are 1, the batch caps it', () => {
    assert.strictEqual(resolveThreads(undefined, 'wasm').threads, 1);
    assert.strictEqual(
      resolveThreads(0, 'wasm').threads,
      Math.min(64, os.availableParallelism?.() ?? os.cpus().length),
    );
    assert.strictEqual(resolveThreads(3, 'cpu').threads, 3);
    const native = resolveThreads(4, 'tensorflow');
    assert.strictEqual(native.threads, 1);
    assert.match(native.note ?? '', /native TensorFlow/);
    assert.strictEqual(resolveThreads(8, 'wasm', 2).threads, 2);
    assert.strictEqual(resolveThreads(1000, 'wasm').threads, 64);
  });

  it("averages the shards' gradients and moving statistics as the reference does, and applies them once (2 threads)", async () => {
    const c = trainingConfig({ optimizer: 'sgd', learningRate: 0.1 });
    const model = buildModel(analysis, { seed: 3 });
    const ref = buildModel(analysis, { seed: 4 });
    const forward = makeForward(model, analysis, c);
    const optimizer = makeOptimizer(c);
    const refOptimizer = makeOptimizer(c);
    const pool = await ParallelTrainer.start({
      threads: 2,
      backend: 'wasm',
      analysis,
      config: c,
      model,
      workerScript: workerPath,
    });
    try {
      assert.strictEqual(pool.threads, 2);
      assert.strictEqual(pool.liveWorkers, 1);
      // 1) gradients of an odd batch (shards of 4 and 3).
      const batch = makeBatch(7, 1);
      const initial = readAllWeights(model);
      const expected = reference(ref, analysis, initial, batch, 2);
      const got = await pool.computeGradients(model, forward, batch);
      gradArrays(model, got.grads).forEach((g, i) => {
        const err = relError(g, expected.grads[i]);
        assert.ok(err < 1e-5, `gradient of ${model.trainableWeights[i].name}: relative error ${err}`);
      });
      assert.ok(
        Math.abs(got.loss - expected.loss) < 1e-5 * Math.abs(expected.loss),
        `loss ${got.loss} vs ${expected.loss}`,
      );
      assert.strictEqual(got.correct, expected.correct);
      const stats = readFlat(model.nonTrainableWeights);
      assert.ok(
        relError(stats, expected.stats) < 1e-5,
        `moving statistics: relative error ${relError(stats, expected.stats)}`,
      );
      tf.dispose(Object.values(got.grads));

      // 2) a whole step from the initial weights: the same weights as the reference's averaged gradients applied once.
      writeAllWeights(model, initial);
      pool.syncWeights(model);
      const step = await pool.step(model, forward, optimizer, batch, c, c.learningRate);
      assert.ok(Math.abs(step.loss - expected.loss) < 1e-5 * Math.abs(expected.loss));
      writeAllWeights(ref, initial);
      const refGrads: Record<string, Tensor> = {};
      ref.trainableWeights.forEach((v, i) => {
        refGrads[(v.read() as Variable).name] = tf.tensor(expected.grads[i], v.shape as number[]);
      });
      applyGradients(ref, refOptimizer, refGrads, c, c.learningRate);
      writeFlat(ref.nonTrainableWeights, expected.stats);
      const after = readAllWeights(model);
      const refAfter = readAllWeights(ref);
      assert.ok(
        relError(after, refAfter) < 1e-5,
        `weights after the step: relative error ${relError(after, refAfter)}`,
      );
      assert.ok(relError(after, initial) > 1e-4, 'the step changed the weights');

      // 3) the workers now hold the new weights: the next batch's gradients match a reference from them.
      const batch2 = makeBatch(8, 2);
      const expected2 = reference(ref, analysis, after, batch2, 2);
      const got2 = await pool.computeGradients(model, forward, batch2);
      gradArrays(model, got2.grads).forEach((g, i) => {
        const err = relError(g, expected2.grads[i]);
        assert.ok(err < 1e-5, `second batch, gradient of ${model.trainableWeights[i].name}: relative error ${err}`);
      });
      tf.dispose(Object.values(got2.grads));
    } finally {
      await pool.dispose();
      disposeOptimizer(optimizer);
      disposeOptimizer(refOptimizer);
      model.dispose();
      ref.dispose();
    }
    assert.strictEqual(pool.liveWorkers, 0);
    // Only the pool's state is read: a disposed pool refuses before it touches the (disposed) model.
    await assert.rejects(pool.computeGradients(model, forward, makeBatch(2, 1)), /disposed/);
  });

  it('learns with 2 threads, evaluates in parallel like evaluate(), and leaves no tensor behind', async () => {
    const baseline = tf.memory().numTensors;
    const c = trainingConfig({ optimizer: 'sgd', learningRate: 0.05, weightDecay: 0 });
    const model = buildModel(analysis, { seed: 5 });
    const forward = makeForward(model, analysis, c);
    const optimizer = makeOptimizer(c);
    const pool = await ParallelTrainer.start({
      threads: 2,
      backend: 'wasm',
      analysis,
      config: c,
      model,
      workerScript: workerPath,
    });
    const batches = [makeBatch(12, 10), makeBatch(12, 11), makeBatch(11, 12)];
    const losses: number[] = [];
    const counts: number[] = [];
    try {
      for (let i = 0; i < 15; i++) {
        const s = await pool.step(model, forward, optimizer, batches[i % 3], c, c.learningRate);
        losses.push(s.loss);
        counts.push(tf.memory().numTensors);
      }
      const first = (losses[0] + losses[1] + losses[2]) / 3;
      const last = (losses[12] + losses[13] + losses[14]) / 3;
      assert.ok(last < first * 0.7, `loss ${first.toFixed(4)} -> ${last.toFixed(4)}`);
      assert.deepStrictEqual(
        counts.slice(3),
        new Array(counts.length - 3).fill(counts[3]),
        'tensor count flat across steps',
      );
      // A last batch smaller than the threads: the worker's empty shard is skipped.
      const one = await pool.step(model, forward, optimizer, makeBatch(1, 13), c, c.learningRate);
      assert.ok(Number.isFinite(one.loss));
      assert.strictEqual(tf.memory().numTensors, counts[3]);
      async function* iterate() {
        yield* batches;
      }
      const parallel = await pool.evaluate(model, iterate());
      const single = await evaluate(model, iterate(), CLASSES);
      assert.strictEqual(parallel.examples, 35);
      assert.deepStrictEqual(parallel.confusion, single.confusion);
      assert.strictEqual(parallel.accuracy, single.accuracy);
      assert.ok(
        Math.abs(parallel.loss - single.loss) < 1e-5 * Math.max(1, single.loss),
        `${parallel.loss} vs ${single.loss}`,
      );
    } finally {
      await pool.dispose();
      disposeOptimizer(optimizer);
      model.dispose();
    }
    assert.strictEqual(tf.memory().numTensors, baseline, 'no tensor left on the main thread');
  });

  it('a failing worker rejects the step with its message and every worker ends', async () => {
    const c = trainingConfig({ optimizer: 'sgd' });
    const model = buildModel(analysis, { seed: 6 });
    const forward = makeForward(model, analysis, c);
    const optimizer = makeOptimizer(c);
    const pool = await ParallelTrainer.start({
      threads: 2,
      backend: 'wasm',
      analysis,
      config: c,
      model,
      workerScript: workerPath,
    });
    try {
      await pool.step(model, forward, optimizer, makeBatch(4, 1), c, 0.1);
      const before = tf.memory().numTensors;
      // 8 labels but 5 images: the main thread's shard (4) is whole, the worker's has 1 image for 4 labels.
      const full = makeBatch(8, 2);
      const broken = { x: full.x.slice(0, 5 * 16 * 16 * 3), y: full.y, size: 8 };
      await assert.rejects(
        pool.step(model, forward, optimizer, broken, c, 0.1),
        /training worker 1 failed: .*(shape|values)/,
      );
      assert.strictEqual(pool.liveWorkers, 0, 'every worker terminated');
      assert.strictEqual(tf.memory().numTensors, before, "the main shard's gradients are disposed");
      await assert.rejects(pool.step(model, forward, optimizer, makeBatch(4, 3), c, 0.1), /training worker 1 failed/);
    } finally {
      await pool.dispose();
      disposeOptimizer(optimizer);
      model.dispose();
    }
  });

  it("a worker that cannot build its replica fails the start with the worker's reason", async () => {
    const c = trainingConfig({ optimizer: 'sgd' });
    // The workers build their replicas from an analysis with another head than the main model's.
    const model = buildModel(analysis, { seed: 7 });
    const started = workersStartedCount();
    try {
      await assert.rejects(
        ParallelTrainer.start({
          threads: 2,
          backend: 'wasm',
          analysis: smallAnalysis(CLASSES + 1),
          config: c,
          model,
          workerScript: workerPath,
        }),
        /training worker 1 failed: start failed: the replica's trainable weights .* differ from the main model's/,
      );
    } finally {
      model.dispose();
    }
    assert.strictEqual(workersStartedCount(), started + 1);
  });

  describe('train()', () => {
    let dir: string;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-parallel-'));
      await makeDataset(dir, 16);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    async function run(threads: number) {
      const specText = JSON.stringify({
        version: 1,
        name: `tiny${threads}`,
        input: { height: 8, width: 8, channels: 1 },
        classes: 3,
        model: MODEL,
        data: { train: 'train', validation: { split: 0.25 } },
        training: { epochs: 4, batchSize: 8, optimizer: 'sgd', learningRate: 0.05, seed: 11 },
      });
      const specPath = path.join(dir, `tiny${threads}.densenet.json`);
      fs.writeFileSync(specPath, specText);
      let started: TrainingStarted | undefined;
      const logs: string[] = [];
      const losses: number[] = [];
      const obs: TrainObserver = {
        started: (info) => (started = info),
        batch: () => undefined,
        epochEnd: (m) => losses.push(m.loss),
        skipped: () => undefined,
        log: (_level, message) => logs.push(message),
      };
      const tensors = tf.memory().numTensors;
      const result = await train({ specPath, specText, workspaceDir: dir, threads }, obs, { cancelled: false });
      assert.strictEqual(tf.memory().numTensors, tensors, 'a run leaves no tensor behind');
      return { started, logs, losses, result };
    }

    it('trains with threads 2: says so, learns, validates', async () => {
      const workers = workersStartedCount();
      const r = await run(2);
      assert.strictEqual(r.result.status, 'completed');
      assert.strictEqual(r.started?.threads, 2);
      assert.ok(
        r.logs.some((l) => /Training on 2 threads/.test(l)),
        r.logs.join('\n'),
      );
      assert.strictEqual(workersStartedCount(), workers + 1, 'one worker for the training, started once');
      assert.ok(r.losses[3] < r.losses[0], `epoch losses ${r.losses.join(', ')}`);
      assert.ok(r.result.bestValAccuracy !== undefined);
    });

    it('threads 1 starts no worker', async () => {
      const workers = workersStartedCount();
      const r = await run(1);
      assert.strictEqual(r.result.status, 'completed');
      assert.strictEqual(r.started?.threads, 1);
      assert.strictEqual(workersStartedCount(), workers, 'no worker thread');
      assert.ok(r.logs.some((l) => /Training on 1 thread/.test(l)));
    });
  });
});
