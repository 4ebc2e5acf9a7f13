import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs';
import { loadCheckpoint, loadCheckpointModel, saveCheckpoint, saveModel } from '../../src/engine/checkpoint';
import { tf } from '../../src/engine/tf';
import { checkpointDir, readTrainingState, type TrainingState } from '../../src/runs/checkpointFiles';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-checkpoint-');
const tmpDir = (): string => temp.make();

// ---- small models ----

function functionalModel(seed: number): LayersModel {
  const input = tf.input({ shape: [6, 6, 2], name: 'input' });
  const c1 = tf.layers
    .conv2d({
      name: 'conv',
      filters: 3,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      kernelInitializer: tf.initializers.heNormal({ seed }),
    })
    .apply(input) as ReturnType<typeof tf.input>;
  const bn = tf.layers.batchNormalization({ name: 'bn', epsilon: 1.001e-5 }).apply(c1) as ReturnType<typeof tf.input>;
  const relu = tf.layers.activation({ name: 'relu', activation: 'relu' }).apply(bn) as ReturnType<typeof tf.input>;
  const cat = tf.layers.concatenate({ name: 'concat', axis: -1 }).apply([input, relu]) as ReturnType<typeof tf.input>;
  const gap = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(cat) as ReturnType<typeof tf.input>;
  const out = tf.layers
    .dense({
      name: 'predictions',
      units: 3,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
    })
    .apply(gap) as ReturnType<typeof tf.input>;
  return tf.model({ inputs: input, outputs: out, name: 'tiny_densenet' });
}

function sequentialModel(seed: number): LayersModel {
  const m = tf.sequential({ name: 'tiny_seq' });
  m.add(
    tf.layers.dense({
      inputShape: [5],
      units: 8,
      useBias: false,
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
    }),
  );
  m.add(tf.layers.batchNormalization({ epsilon: 1.001e-5 }));
  m.add(tf.layers.activation({ activation: 'relu' }));
  m.add(
    tf.layers.dense({
      units: 3,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
    }),
  );
  return m;
}

function batch(i: number, shape: number[]): { x: Tensor; y: Tensor } {
  const x = tf.randomNormal([4, ...shape], 0, 1, 'float32', 1000 + i);
  const y = tf.oneHot(tf.tensor1d([i % 3, (i + 1) % 3, (i + 2) % 3, i % 3], 'int32'), 3);
  return { x, y };
}

async function trainSteps(model: LayersModel, from: number, count: number, shape: number[]): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const { x, y } = batch(i, shape);
    await model.trainOnBatch(x, y);
    tf.dispose([x, y]);
  }
}

const weightBytes = (m: LayersModel): Buffer[] =>
  m.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).slice().buffer));

function assertSameWeights(a: LayersModel, b: LayersModel): void {
  const wa = weightBytes(a);
  const wb = weightBytes(b);
  assert.strictEqual(wa.length, wb.length);
  wa.forEach((w, i) => assert.ok(w.equals(wb[i]), `weight ${a.weights[i].name} differs`));
}

const state = (over: Partial<TrainingState> = {}): Omit<TrainingState, 'time' | 'optimizer'> => ({
  epoch: 2,
  step: 20,
  bestMetric: 0.5,
  bestEpoch: 2,
  rngState: { seed: 7, draws: [1, 2, 3] },
  lrScheduleState: { lr: 0.1 },
  specHash: 'abc',
  ...over,
});

describe('engine/checkpoint', function () {
  this.timeout(20000);
  before(async () => {
    await tf.setBackend('cpu');
  });
  after(() => temp.removeAll());

  it('round-trips a functional model with BatchNormalization in the tfjs-node file layout', async () => {
    const model = functionalModel(11);
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    await trainSteps(model, 0, 2, [6, 6, 2]); // moving mean/variance away from their initial values
    const dir = checkpointDir(tmpDir(), 'latest');
    await saveCheckpoint(dir, { model, state: state() });

    const modelJson = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    assert.deepStrictEqual(Object.keys(modelJson), [
      'modelTopology',
      'weightsManifest',
      'format',
      'generatedBy',
      'convertedBy',
    ]);
    assert.strictEqual(modelJson.format, 'layers-model');
    assert.match(modelJson.generatedBy, /^TensorFlow\.js tfjs-layers v4\./);
    assert.strictEqual(modelJson.convertedBy, null);
    assert.strictEqual(modelJson.modelTopology.class_name, 'Model');
    assert.strictEqual(modelJson.weightsManifest.length, 1);
    assert.deepStrictEqual(modelJson.weightsManifest[0].paths, ['weights.bin']);
    const specs = modelJson.weightsManifest[0].weights as { name: string; shape: number[]; dtype: string }[];
    assert.deepStrictEqual(
      specs.map((s) => s.name),
      model.weights.map((w) => w.originalName),
    );
    assert.ok(specs.some((s) => s.name === 'bn/moving_variance'));
    assert.strictEqual(
      fs.statSync(path.join(dir, 'weights.bin')).size,
      specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0),
    );
    assert.ok(!fs.existsSync(path.join(dir, 'optimizer.bin')));

    const loaded = await loadCheckpoint(dir);
    assert.strictEqual(loaded.dir, dir);
    assert.strictEqual(loaded.optimizerRestored, false);
    assert.deepStrictEqual(loaded.state.rngState, { seed: 7, draws: [1, 2, 3] });
    assert.strictEqual(loaded.state.epoch, 2);
    assertSameWeights(model, loaded.model);
    const x = tf.randomNormal([3, 6, 6, 2], 0, 1, 'float32', 5);
    const pa = model.predict(x) as Tensor;
    const pb = loaded.model.predict(x) as Tensor;
    assert.ok(
      Buffer.from((pa.dataSync() as Float32Array).buffer).equals(Buffer.from((pb.dataSync() as Float32Array).buffer)),
    );
    tf.dispose([x, pa, pb]);

    // Plain model folder and model.json path, as tfjs-node's file:// handler takes them.
    const plain = path.join(tmpDir(), 'export');
    await saveModel(model, plain);
    assert.deepStrictEqual(fs.readdirSync(plain).sort(), ['model.json', 'weights.bin']);
    const viaJson = await loadCheckpointModel(path.join(plain, 'model.json'));
    assertSameWeights(model, viaJson);
    [model, loaded.model, viaJson].forEach((m) => m.dispose());
  });

  const optimizers: [string, () => Optimizer][] = [
    ['SGD with Nesterov momentum', () => tf.train.momentum(0.05, 0.9, true)],
    ['Adam', () => tf.train.adam(0.01)],
  ];
  for (const [label, make] of optimizers) {
    it(`restores ${label} state so one more step matches an uninterrupted run bit for bit`, async () => {
      const shape = [5];
      const a = sequentialModel(3);
      const optA = make();
      a.compile({ optimizer: optA, loss: 'categoricalCrossentropy' });
      // 5 steps: there Adam's beta^(t+1) as tfjs's setWeights recomputes it (pow) differs in the last bit from
      // the running product and changes the next steps, so the saved `accBeta1`/`accBeta2` are what makes the
      // continuation exact (without them this test fails).
      await trainSteps(a, 0, 5, shape);
      const dir = checkpointDir(tmpDir(), 'latest');
      await saveCheckpoint(dir, { model: a, optimizer: optA, state: state({ step: 5 }) });
      assert.ok(fs.existsSync(path.join(dir, 'optimizer.bin')));
      await trainSteps(a, 5, 2, shape);

      const optB = make();
      const b = await loadCheckpoint(dir, { optimizer: optB });
      assert.strictEqual(b.optimizerRestored, true);
      assert.strictEqual(b.state.optimizer?.className, optA.getClassName());
      b.model.compile({ optimizer: optB, loss: 'categoricalCrossentropy' });
      assert.strictEqual(optB.iterations, 5);
      if (optA.getClassName() === 'Adam')
        assert.deepStrictEqual(Object.keys(b.state.optimizer?.extra ?? {}), ['accBeta1', 'accBeta2']);
      await trainSteps(b.model, 5, 2, shape);
      assertSameWeights(a, b.model);

      // Control: the same resume with a fresh optimizer diverges, so the restored state is what matters.
      const optC = make();
      const c = await loadCheckpoint(dir);
      c.model.compile({ optimizer: optC, loss: 'categoricalCrossentropy' });
      await trainSteps(c.model, 5, 2, shape);
      const differs = weightBytes(a).some((w, i) => !w.equals(weightBytes(c.model)[i]));
      assert.ok(differs, 'a fresh optimizer should not reproduce the uninterrupted run');
      [a, b.model, c.model].forEach((m) => m.dispose());
      [optA, optB, optC].forEach((o) => o.dispose());
    });
  }

  it('refuses to restore into an optimizer of another class', async () => {
    const m = sequentialModel(4);
    const opt = tf.train.adam(0.01);
    m.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    await trainSteps(m, 0, 1, [5]);
    const dir = checkpointDir(tmpDir(), 'best');
    await saveCheckpoint(dir, { model: m, optimizer: opt, state: state() });
    await assert.rejects(
      loadCheckpoint(dir, { optimizer: tf.train.momentum(0.1, 0.9) }),
      /checkpoint optimizer is Adam, cannot restore it into Momentum/,
    );
    m.dispose();
  });

  it('refuses weight paths outside the checkpoint, trailing or missing bytes, and a malformed training state', async () => {
    const model = sequentialModel(6);
    const opt = tf.train.adam(0.01);
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    await trainSteps(model, 0, 1, [5]);
    const runDir = tmpDir();
    const dir = checkpointDir(runDir, 'latest');
    await saveCheckpoint(dir, { model, optimizer: opt, state: state() });
    const modelJsonFile = path.join(dir, 'model.json');
    const original = fs.readFileSync(modelJsonFile, 'utf8');
    const weights = fs.readFileSync(path.join(dir, 'weights.bin'));
    fs.writeFileSync(path.join(runDir, 'outside.bin'), weights);

    // A manifest path leading out of the checkpoint, even to a file of the right size.
    const json = JSON.parse(original);
    json.weightsManifest[0].paths = ['../../outside.bin'];
    fs.writeFileSync(modelJsonFile, JSON.stringify(json));
    await assert.rejects(loadCheckpointModel(dir), /weight path "\.\.\/\.\.\/outside\.bin" leads out of the folder/);
    json.weightsManifest[0].paths = [path.join(runDir, 'outside.bin')];
    fs.writeFileSync(modelJsonFile, JSON.stringify(json));
    await assert.rejects(loadCheckpointModel(dir), /is absolute or empty/);
    fs.symlinkSync(path.join(runDir, 'outside.bin'), path.join(dir, 'linked.bin'));
    json.weightsManifest[0].paths = ['linked.bin'];
    fs.writeFileSync(modelJsonFile, JSON.stringify(json));
    await assert.rejects(loadCheckpointModel(dir), /is a link to .*outside\.bin, outside the folder/);
    fs.writeFileSync(modelJsonFile, original);
    assertSameWeights(model, await loadCheckpointModel(dir));

    // Trailing bytes, then a truncated file.
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat([weights, Buffer.alloc(3)]));
    await assert.rejects(
      loadCheckpointModel(dir),
      new RegExp(
        `weights\\.bin in .*: ${weights.length + 3} bytes, but the weights listed in .*model\\.json take ${weights.length} bytes`,
      ),
    );
    fs.writeFileSync(path.join(dir, 'weights.bin'), weights.subarray(0, weights.length - 4));
    await assert.rejects(loadCheckpointModel(dir), /truncated or corrupt/);
    fs.writeFileSync(path.join(dir, 'weights.bin'), weights);

    // The optimizer's file is held to the same rules.
    const optimizerBin = fs.readFileSync(path.join(dir, 'optimizer.bin'));
    fs.writeFileSync(path.join(dir, 'optimizer.bin'), Buffer.concat([optimizerBin, Buffer.alloc(1)]));
    await assert.rejects(
      loadCheckpoint(dir, { optimizer: tf.train.adam(0.01) }),
      /optimizer\.bin in .*training_state\.json take/,
    );
    fs.writeFileSync(path.join(dir, 'optimizer.bin'), optimizerBin);

    // Every field of training_state.json and model.json is type-checked.
    const stateFile = path.join(dir, 'training_state.json');
    const savedState = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    fs.writeFileSync(stateFile, JSON.stringify({ ...savedState, step: '20' }));
    await assert.rejects(
      loadCheckpoint(dir),
      /training_state\.json: "step" must be a whole number ≥ 0, found the string "20"/,
    );
    assert.throws(() => readTrainingState(dir), /"step" must be a whole number/);
    const badPaths = {
      ...savedState,
      optimizer: { ...savedState.optimizer, weightsManifest: [{ paths: ['../x'], weights: [] }] },
    };
    fs.writeFileSync(stateFile, JSON.stringify(badPaths));
    await assert.rejects(loadCheckpoint(dir, { optimizer: tf.train.adam(0.01) }), /leads out of the folder/);
    fs.writeFileSync(stateFile, JSON.stringify(savedState));
    fs.writeFileSync(modelJsonFile, JSON.stringify({ ...json, modelTopology: 'x' }));
    await assert.rejects(
      loadCheckpointModel(dir),
      /model\.json: "modelTopology" must be an object, found the string "x"/,
    );
    fs.writeFileSync(modelJsonFile, '{"modelTopology": ');
    await assert.rejects(loadCheckpointModel(dir), /model\.json is not valid JSON/);
    fs.writeFileSync(modelJsonFile, original);
    const loaded = await loadCheckpoint(dir, { optimizer: tf.train.adam(0.01) });
    assert.ok(loaded.optimizerRestored);
    loaded.model.dispose();
    model.dispose();
  });

  it('survives a crash at every step of replacing a checkpoint', async () => {
    const model = sequentialModel(5);
    const runDir = tmpDir();
    const dir = checkpointDir(runDir, 'latest');
    await saveCheckpoint(dir, { model, state: state({ epoch: 1 }) });
    const crashAt = async (step: string, epoch: number) => {
      await assert.rejects(
        saveCheckpoint(
          dir,
          { model, state: state({ epoch }) },
          {
            onStep: (s) => {
              if (s === step) throw new Error(`crash after ${s}`);
            },
          },
        ),
        /crash/,
      );
    };
    const listing = () =>
      fs
        .readdirSync(path.dirname(dir))
        .map((n) => n.replace(/\.tmp-.*/, '.tmp'))
        .sort();

    await crashAt('filled', 2); // temp folder written, old checkpoint untouched
    assert.deepStrictEqual(listing(), ['latest', 'latest.tmp']);
    assert.strictEqual((await loadCheckpoint(dir)).state.epoch, 1);

    await crashAt('old-moved-away', 3); // only latest.old is complete
    assert.deepStrictEqual(listing(), ['latest.old', 'latest.tmp']);
    assert.strictEqual(readTrainingState(dir)?.epoch, 1);
    const fromOld = await loadCheckpoint(dir);
    assert.strictEqual(fromOld.dir, dir + '.old');
    assert.strictEqual(fromOld.state.epoch, 1);
    assertSameWeights(model, fromOld.model);
    assertSameWeights(model, await loadCheckpointModel(dir));

    await saveCheckpoint(dir, { model, state: state({ epoch: 4 }) }); // recovers from latest.old
    assert.deepStrictEqual(listing(), ['latest']);
    assert.strictEqual((await loadCheckpoint(dir)).state.epoch, 4);

    await crashAt('new-moved-in', 5); // both present: the new one wins
    assert.deepStrictEqual(listing(), ['latest', 'latest.old']);
    assert.strictEqual((await loadCheckpoint(dir)).state.epoch, 5);
    await saveCheckpoint(dir, { model, state: state({ epoch: 6 }) });
    assert.deepStrictEqual(listing(), ['latest']);
    assert.strictEqual(readTrainingState(dir)?.epoch, 6);
    assert.strictEqual(readTrainingState(checkpointDir(runDir, 'best')), undefined);
    await assert.rejects(loadCheckpoint(checkpointDir(runDir, 'best')), /no checkpoint/);
  });
});
