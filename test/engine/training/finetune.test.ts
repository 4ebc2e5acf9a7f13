/**
 * Fine-tuning on the CPU backend with the bars dataset: a run that starts from another run's weights (the
 * classifier replaced, said and recorded), a frozen backbone (weights and batch-norm statistics untouched, the
 * head trained on cached features with the same losses as the image path), a resume that does not apply the
 * weights again, a partial freeze and the backbone's own learning rate.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LayersModel, Variable } from '@tensorflow/tfjs';
import { type Analysis, trainingConfig, validateSpec } from '../../../src/core';
import { loadCheckpointModel } from '../../../src/engine/checkpoint';
import { openData, Rng, type Batch } from '../../../src/engine/data/open';
import { loadInitialWeights } from '../../../src/engine/initialWeights';
import { loadForInspection } from '../../../src/engine/inspection/service';
import { buildModel } from '../../../src/engine/model';
import { tf } from '../../../src/engine/tf';
import { cacheFeatures, headStepper } from '../../../src/engine/training/featureCache';
import { applyFreeze } from '../../../src/engine/training/freeze';
import { replacedClassifierMessage } from '../../../src/engine/training/run';
import {
  applyGradients,
  computeGradients,
  makeForward,
  makeOptimizer,
  trainStep,
} from '../../../src/engine/training/step';
import { train, type TrainObserver } from '../../../src/engine/training/train';
import { applyLayerWeights, readLayerWeights } from '../../../src/engine/weights';
import { readRunInfo, readRunListing } from '../../../src/runs/runFolder';
import { readAllWeights, shapesOf } from '../../../src/engine/parallel/replica';
import { serveReplica } from '../../../src/engine/parallel/replicaServer';
import { modelBatchNormEpsilon } from '../../../src/engine/training/freeze';
import { pipePair, RpcEndpoint } from '../../../src/protocol/rpc';
import type { TrainerContract, WorkerContract, WorkerInit } from '../../../src/protocol/worker';
import { barsSpec, makeDataset } from '../../support/barsDataset';

/** An observer that keeps the log lines. */
function recorder(): TrainObserver & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    started: () => undefined,
    batch: () => undefined,
    epochEnd: () => undefined,
    skipped: () => undefined,
    log: (_level, message) => lines.push(message),
  };
}

/** The bytes of every layer's weights but `except`'s. */
function bytesOf(model: LayersModel, except: string[] = []): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>();
  for (const [name, ts] of readLayerWeights(model))
    if (!except.includes(name))
      out.set(
        name,
        ts.map((t) => Buffer.from(t.values.buffer)),
      );
  return out;
}

const modelOf = (runDir: string) => loadCheckpointModel(path.join(runDir, 'checkpoints', 'latest', 'model.json'));

describe('engine: fine-tuning from weights with a frozen backbone', function () {
  this.timeout(120_000);
  let dir: string;
  let baseRun: string;
  let ftSpecPath: string;
  let ftText: string;
  let ftRun: string;
  let ftLines: string[];
  let analysis: Analysis;

  before(async () => {
    await tf.setBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-finetune-'));
    await makeDataset(path.join(dir, 'base'), 16);
    // The few-label task: two of the three classes.
    for (const c of ['class0', 'class1'])
      fs.cpSync(path.join(dir, 'base', 'train', c), path.join(dir, 'ft', 'train', c), { recursive: true });
    const baseText = JSON.stringify(barsSpec('base', { training: { epochs: 2, seed: 1 } }));
    const basePath = path.join(dir, 'base', 'base.densenet.json');
    fs.writeFileSync(basePath, baseText);
    const base = await train(
      { specPath: basePath, specText: baseText, workspaceDir: path.join(dir, 'base'), threads: 1 },
      recorder(),
      { cancelled: false },
    );
    baseRun = base.runDir;
    // The weights a relative path from the spec's folder; a copy of the base run, so that a test may remove it.
    fs.cpSync(baseRun, path.join(dir, 'ft', 'base-run'), { recursive: true });
    const spec = barsSpec('ft', {
      model: { weights: 'base-run' },
      training: { epochs: 3, seed: 2, freeze: 'backbone', optimizer: 'adam', learningRate: 0.01 },
    });
    spec.classes = 2;
    ftText = JSON.stringify(spec);
    ftSpecPath = path.join(dir, 'ft', 'ft.densenet.json');
    fs.writeFileSync(ftSpecPath, ftText);
    const v = validateSpec(ftText);
    assert.ok(v.analysis, JSON.stringify(v.diagnostics));
    analysis = v.analysis;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a new run starts from the weights: the classifier replaced and said so, the origin in run.json', async () => {
    const obs = recorder();
    const r = await train({ specPath: ftSpecPath, specText: ftText, workspaceDir: path.join(dir, 'ft') }, obs, {
      cancelled: false,
    });
    assert.strictEqual(r.status, 'completed');
    ftRun = r.runDir;
    ftLines = obs.lines;
    const features = analysis.layers.find((l) => l.name === 'avg_pool')!.outputShape[0];
    const said = `The weights have 3 classes, the spec 2: the classifier \`predictions\` starts new (${features}×2)`;
    assert.strictEqual(replacedClassifierMessage([features, 3], [features, 2]), said);
    assert.ok(obs.lines.includes(said), obs.lines.join('\n'));
    assert.ok(obs.lines.some((l) => l.startsWith('Starting from the weights of base-run (DenseNet Lab checkpoint)')));
    assert.ok(obs.lines.some((l) => /^training\.freeze "backbone": \d+ parameters train/.test(l)));
    assert.ok(obs.lines.some((l) => l.startsWith('Frozen backbone: the pooled features (avg_pool')));
    assert.ok(obs.lines.includes('Training on 1 thread'), 'the head trains on this thread');
    const info = readRunInfo(ftRun)!;
    assert.strictEqual(info.initialWeights?.format, 'tfjs');
    assert.strictEqual(info.initialWeights?.ref, 'base-run');
    assert.strictEqual(info.initialWeights?.replacedClassifierClasses, 3);
    assert.strictEqual(info.initialWeights?.batchNormEpsilon, 1.001e-5);
    const listing = readRunListing(ftRun)!;
    assert.strictEqual(listing.problems, undefined);
    assert.deepStrictEqual(listing.initialWeights, info.initialWeights);
    // A wrong initialWeights is named in the listing and dropped.
    const runJson = path.join(ftRun, 'run.json');
    const saved = fs.readFileSync(runJson, 'utf8');
    fs.writeFileSync(runJson, JSON.stringify({ ...JSON.parse(saved), initialWeights: { ref: 'x', format: 'zip' } }));
    const bad = readRunListing(ftRun)!;
    fs.writeFileSync(runJson, saved);
    assert.strictEqual(bad.initialWeights, undefined);
    assert.match(bad.problems?.[0] ?? '', /initialWeights\.format" must be one of pytorch/);
  });

  it('the frozen layers, batch-norm statistics included, are byte-identical to the weights it started from', async () => {
    const before = await modelOf(baseRun);
    const after = await modelOf(ftRun);
    try {
      const b = bytesOf(before, ['predictions']);
      const a = bytesOf(after, ['predictions']);
      assert.deepStrictEqual([...a.keys()], [...b.keys()]);
      for (const [name, ts] of b) ts.forEach((t, i) => assert.ok(t.equals(a.get(name)![i]), `${name}[${i}] changed`));
      assert.deepStrictEqual(after.getLayer('predictions').getWeights()[0].shape, [b.get('bn')![0].length / 4, 2]);
    } finally {
      before.dispose();
      after.dispose();
    }
  });

  it('with data.augment the features are not cached (each epoch has new images), and the log says so', async () => {
    const spec = JSON.parse(ftText) as {
      data: Record<string, unknown>;
      name: string;
      training: Record<string, unknown>;
    };
    spec.name = 'ft-augmented';
    spec.data.augment = { horizontalFlip: true };
    spec.training.epochs = 1;
    const text = JSON.stringify(spec);
    const specPath = path.join(dir, 'ft', 'ft-augmented.densenet.json');
    fs.writeFileSync(specPath, text);
    const obs = recorder();
    const r = await train({ specPath, specText: text, workspaceDir: path.join(dir, 'ft'), threads: 1 }, obs, {
      cancelled: false,
    });
    assert.strictEqual(r.status, 'completed');
    assert.ok(obs.lines.some((l) => l.startsWith('Frozen backbone, but data.augment draws new images every epoch')));
    assert.ok(!obs.lines.some((l) => l.startsWith('Frozen backbone: the pooled features')));
    const before = await modelOf(baseRun);
    const after = await modelOf(r.runDir);
    try {
      const b = bytesOf(before, ['predictions']);
      const a = bytesOf(after, ['predictions']);
      for (const [name, ts] of b) ts.forEach((t, i) => assert.ok(t.equals(a.get(name)![i]), `${name}[${i}] changed`));
    } finally {
      before.dispose();
      after.dispose();
    }
  });

  it('the inspection of the spec shows the pretrained model, not random weights', async () => {
    const base = await modelOf(baseRun);
    const { model } = await loadForInspection(ftSpecPath);
    try {
      const b = bytesOf(base, ['predictions']);
      const m = bytesOf(model, ['predictions']);
      for (const [name, ts] of b) ts.forEach((t, i) => assert.ok(t.equals(m.get(name)![i]), `${name}[${i}]`));
      assert.strictEqual(model.getLayer('predictions').getWeights()[0].shape[1], 2);
    } finally {
      base.dispose();
      model.dispose();
    }
  });

  it('a resume continues from its checkpoint and never reads the weights again', async () => {
    fs.rmSync(path.join(dir, 'ft', 'base-run'), { recursive: true });
    const obs = recorder();
    const r = await train(
      { specPath: ftSpecPath, specText: ftText, workspaceDir: path.join(dir, 'ft'), resumeRunDir: ftRun, epochs: 4 },
      obs,
      { cancelled: false },
    );
    assert.strictEqual(r.status, 'completed', obs.lines.join('\n'));
    assert.strictEqual(r.epochsCompleted, 4);
    assert.ok(obs.lines.some((l) => l.startsWith('Resuming')));
    assert.ok(!obs.lines.some((l) => l.startsWith('Starting from the weights') || l.startsWith('The weights have')));
    assert.strictEqual(readRunInfo(ftRun)!.initialWeights?.ref, 'base-run', 'run.json keeps the origin');
    assert.ok(ftLines.length > 0);
  });

  it("the head-only path on cached features has the image path's first-epoch losses", async () => {
    const init = await loadInitialWeights(path.join(baseRun), dir, analysis);
    const c = trainingConfig({ freeze: 'backbone', optimizer: 'adam', learningRate: 0.01, weightDecay: 0 });
    const make = () => {
      const m = buildModel(analysis, { seed: 5, batchNormEpsilon: init.batchNormEpsilon });
      applyLayerWeights(m, init.weights, { keep: ['predictions'] });
      applyFreeze(m, analysis, c);
      return m;
    };
    const images = make();
    const cached = make();
    applyLayerWeights(cached, readLayerWeights(images));
    const data = await openData(
      { train: 'train', normalize: 'none' },
      { baseDir: path.join(dir, 'ft'), input: analysis.input, classes: 2, seed: 3 },
    );
    const optA = makeOptimizer(c);
    const optB = makeOptimizer(c);
    try {
      assert.deepStrictEqual(
        images.trainableWeights.map((w) => w.originalName),
        ['predictions/kernel', 'predictions/bias'],
        'only the classifier is trainable',
      );
      const forward = makeForward(images, analysis, c);
      const backboneBefore = bytesOf(images, ['predictions']);
      const a: number[] = [];
      for await (const b of data.trainBatches(8, new Rng(9)))
        a.push(trainStep(images, optA, b, 2, c, 0.01, forward).loss);
      const pipeline = await cacheFeatures(cached, analysis, data, 8, () => undefined);
      const head = headStepper(cached, optB, { task: 'classification', classes: 2 }, c);
      const b: number[] = [];
      for await (const batch of pipeline.trainBatches(8, new Rng(9))) b.push((await head.step(batch, 0.01)).loss);
      const backboneAfter = bytesOf(images, ['predictions']);
      for (const [name, ts] of backboneBefore)
        ts.forEach((t, i) => assert.ok(t.equals(backboneAfter.get(name)![i]), `image path: ${name}[${i}] changed`));
      assert.strictEqual(a.length, b.length);
      a.forEach((loss, i) =>
        assert.ok(Math.abs(loss - b[i]) < 1e-4, `step ${i}: ${loss} (images) vs ${b[i]} (cached)`),
      );
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      assert.ok(Math.abs(mean(a) - mean(b)) < 1e-5);
      // 2 trainable weights: Adam's iterations and two moments each, nothing for the frozen layers.
      assert.strictEqual((await optB.getWeights()).length, 1 + 2 * 2);
    } finally {
      await data.close();
      for (const o of [optA, optB]) o.dispose();
      images.dispose();
      cached.dispose();
    }
  });

  /** `size` 8x8 images with a learnable bright band. */
  const batchOf = (size: number): Batch => {
    const x = new Float32Array(size * 64).map((_, i) => ((i * 7919) % 97) / 970);
    const y = Int32Array.from({ length: size }, (_, i) => i % 3);
    for (let i = 0; i < size; i++) for (let p = y[i] * 16; p < y[i] * 16 + 16; p++) x[i * 64 + p] += 1;
    return { x, y, size };
  };

  it('a partial freeze: frozen layers and their batch-norm statistics stay, the rest trains; no optimizer slots for them', () => {
    const a = validateSpec(JSON.stringify(barsSpec('p'))).analysis!;
    const c = trainingConfig({ freeze: 'pool2', optimizer: 'sgd', momentum: 0.9, learningRate: 0.1 });
    const model = buildModel(a, { seed: 1 });
    const plan = applyFreeze(model, a, c);
    const optimizer = makeOptimizer(c);
    try {
      const frozen = [...plan.layers];
      const before = bytesOf(model);
      trainStep(model, optimizer, batchOf(8), 3, c, 0.1, makeForward(model, a, c));
      const after = bytesOf(model);
      for (const name of frozen)
        before.get(name)?.forEach((t, i) => assert.ok(t.equals(after.get(name)![i]), `${name}[${i}] changed`));
      // conv3's batch norm is not frozen: training mode, its moving statistics move.
      const bn = 'conv3_block1_0_bn';
      assert.ok(!plan.layers.has(bn) && plan.layers.has('pool2_conv'));
      assert.ok(!before.get(bn)![2].equals(after.get(bn)![2]), 'the moving mean of a trained batch norm moves');
      const trainable = model.trainableWeights.map((w) => w.originalName.split('/')[0]);
      assert.ok(trainable.every((n) => !plan.layers.has(n)));
      assert.ok(trainable.includes('conv3_block1_1_conv'));
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  });

  for (const optimizer of ['sgd', 'adam', 'adamw'] as const)
    it(`backboneLearningRate (${optimizer}): the backbone steps at its rate, the classifier at learningRate`, () => {
      const a = validateSpec(JSON.stringify(barsSpec('lr'))).analysis!;
      const common = { optimizer, momentum: 0.9, weightDecay: 0.01 };
      // The split model, a reference at the backbone's rate, a reference at the classifier's rate.
      const configs = [
        trainingConfig({ ...common, learningRate: 0.1, backboneLearningRate: 0.01 }),
        trainingConfig({ ...common, learningRate: 0.01 }),
        trainingConfig({ ...common, learningRate: 0.1 }),
      ];
      const models = configs.map(() => buildModel(a, { seed: 4 }));
      const opts = configs.map((c) => makeOptimizer(c));
      const g = computeGradients(models[0], makeForward(models[0], a, configs[0]), batchOf(6), 3);
      try {
        models.forEach((m, i) => {
          // The same gradients three times: the optimizer's state (velocity, moments) carries over.
          for (let s = 0; s < 3; s++) {
            // Keyed by each model's own variable names (position for position).
            const grads = Object.fromEntries(
              m.trainableWeights.map((w, j) => [
                (w.read() as Variable).name,
                tf.clone(g.grads[(models[0].trainableWeights[j].read() as Variable).name]),
              ]),
            );
            applyGradients(m, opts[i], grads, configs[i], configs[i].learningRate);
          }
        });
        const diff = (x: LayersModel, y: LayersModel, layer: string) => {
          const u = x.getLayer(layer).getWeights()[0].dataSync();
          const v = y.getLayer(layer).getWeights()[0].dataSync();
          let d = 0;
          for (let j = 0; j < u.length; j++) d = Math.max(d, Math.abs(u[j] - v[j]));
          return d;
        };
        const [split, slow, fast] = models;
        for (const layer of ['conv1_conv', 'conv2_block1_1_conv', 'pool2_conv', 'conv3_block1_0_bn'])
          assert.ok(diff(split, slow, layer) < 1e-6, `${layer}: ${diff(split, slow, layer)} from the backbone's rate`);
        assert.ok(diff(split, fast, 'predictions') < 1e-6, 'the classifier at learningRate');
        assert.ok(diff(slow, fast, 'conv1_conv') > 1e-4, 'the two rates make different steps');
      } finally {
        tf.dispose([g.loss, g.correct, ...Object.values(g.grads)]);
        opts.forEach((o) => o.dispose());
        models.forEach((m) => m.dispose());
      }
    });

  it("a worker's replica has the main model's batch-norm epsilon and freeze, and computes the same gradients", async () => {
    const a = validateSpec(JSON.stringify(barsSpec('w'))).analysis!;
    const config = trainingConfig({ freeze: 'pool2', optimizer: 'sgd', seed: 5 });
    // An epsilon far from the analysis' so that a replica built without it would compute other gradients.
    const main = buildModel(a, { seed: 1, batchNormEpsilon: 0.5 });
    applyFreeze(main, a, config);
    const init: WorkerInit = {
      index: 1,
      backend: 'cpu',
      wasmDir: '',
      analysis: a,
      config,
      trainableShapes: shapesOf(main.trainableWeights),
      nonTrainableShapes: shapesOf(main.nonTrainableWeights),
      batchNormEpsilon: modelBatchNormEpsilon(main),
    };
    assert.strictEqual(init.batchNormEpsilon, 0.5);
    const [x, y] = pipePair();
    serveReplica(new RpcEndpoint<WorkerContract, TrainerContract>(x), init, () => Promise.resolve());
    const rpc = new RpcEndpoint<TrainerContract, WorkerContract>(y);
    try {
      await rpc.request('ready', null);
      await rpc.request('weights', { version: 1, data: readAllWeights(main) });
      const shard = batchOf(4);
      const got = await rpc.request('step', { version: 1, x: shard.x.slice(), y: shard.y.slice(), size: 4 });
      const g = computeGradients(main, makeForward(main, a, config), shard, 3);
      const flat = Float32Array.from(
        main.trainableWeights.flatMap((w) => [...g.grads[(w.read() as Variable).name].dataSync()]),
      );
      assert.strictEqual(got.grads.length, flat.length, 'the same trainable weights (the freeze applied)');
      let d = 0;
      for (let j = 0; j < flat.length; j++) d = Math.max(d, Math.abs(got.grads[j] - flat[j]));
      assert.ok(d < 1e-5, `gradients differ by ${d}`);
      assert.ok(Math.abs(got.loss - g.loss.dataSync()[0]) < 1e-6);
      tf.dispose([g.loss, g.correct, ...Object.values(g.grads)]);
    } finally {
      main.dispose();
    }
  });
});
