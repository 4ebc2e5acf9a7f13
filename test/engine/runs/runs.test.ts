import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../src/engine/tf';
import {
  readJsonSync,
  replaceDirAtomic,
  resolveAtomicDir,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../../../src/engine/runs/atomic';
import {
  crc32c,
  encodeRecord,
  EventFileWriter,
  maskCrc,
  TensorBoardLogger,
} from '../../../src/engine/runs/tensorboard';
import { MetricsWriter, parseMetrics, readMetrics, rewriteMetrics } from '../../../src/engine/runs/metrics';
import {
  checkpointDir,
  loadCheckpoint,
  loadCheckpointModel,
  readTrainingState,
  saveCheckpoint,
  saveModel,
  type TrainingState,
} from '../../../src/engine/runs/checkpoint';
import {
  createRun,
  finishRun,
  listRuns,
  markRunFailed,
  newRunId,
  readRunInfo,
  runsDirFor,
  updateRunInfo,
} from '../../../src/engine/runs/runDir';

const tempDirs: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-runs-'));
  tempDirs.push(dir);
  return dir;
}

// ---- an independent TFRecord + protobuf reader (bitwise CRC, no table) ----

function crc32cBitwise(data: Uint8Array): number {
  let crc = ~0 >>> 0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return ~crc >>> 0;
}
const mask = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) % 2 ** 32;

function readRecords(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < buf.length) {
    const len = Number(buf.readBigUInt64LE(off));
    assert.strictEqual(buf.readUInt32LE(off + 8), mask(crc32cBitwise(buf.subarray(off, off + 8))), 'length CRC');
    const data = buf.subarray(off + 12, off + 12 + len);
    assert.strictEqual(buf.readUInt32LE(off + 12 + len), mask(crc32cBitwise(data)), 'data CRC');
    out.push(data);
    off += 16 + len;
  }
  assert.strictEqual(off, buf.length);
  return out;
}

type Field = { wire: number; value: bigint | Buffer };
function decodeProto(buf: Buffer): Map<number, Field[]> {
  const fields = new Map<number, Field[]>();
  let off = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[off++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  };
  while (off < buf.length) {
    const key = Number(varint());
    const wire = key & 7;
    let value: bigint | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = buf.subarray(off, off + 8);
      off += 8;
    } else if (wire === 5) {
      value = buf.subarray(off, off + 4);
      off += 4;
    } else if (wire === 2) {
      const n = Number(varint());
      value = buf.subarray(off, off + n);
      off += n;
    } else throw new Error(`wire type ${wire}`);
    const list = fields.get(key >> 3) ?? [];
    list.push({ wire, value });
    fields.set(key >> 3, list);
  }
  return fields;
}

interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values: { tag: string; value: number }[];
}
function decodeEvent(data: Buffer): DecodedEvent {
  const f = decodeProto(data);
  const wall = f.get(1)?.[0];
  const step = f.get(2)?.[0];
  const ev: DecodedEvent = {
    wallTime: wall ? (wall.value as Buffer).readDoubleLE(0) : 0,
    step: step ? Number(BigInt.asIntN(64, step.value as bigint)) : 0,
    values: [],
  };
  const fv = f.get(3)?.[0];
  if (fv) ev.fileVersion = (fv.value as Buffer).toString('utf8');
  const summary = f.get(5)?.[0];
  if (summary) {
    for (const v of decodeProto(summary.value as Buffer).get(1) ?? []) {
      const vf = decodeProto(v.value as Buffer);
      assert.strictEqual(vf.get(2)?.[0].wire, 5, 'simple_value is a fixed32 float');
      ev.values.push({
        tag: (vf.get(1)![0].value as Buffer).toString('utf8'),
        value: (vf.get(2)![0].value as Buffer).readFloatLE(0),
      });
    }
  }
  return ev;
}

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

describe('engine/runs', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });
  after(() => {
    for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('keeps tfjs out of the modules the extension host uses', () => {
    const dir = path.resolve(__dirname, '../../../../src/engine/runs');
    for (const f of ['atomic.ts', 'metrics.ts', 'runDir.ts', 'tensorboard.ts', 'checkpointFiles.ts']) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      assert.ok(!/from\s+['"](@tensorflow\/|\.\.\/tf['"]|\.\/checkpoint['"])/.test(text), `${f} imports tfjs`);
    }
  });

  describe('CRC32C', () => {
    it('matches the known test vectors', () => {
      assert.strictEqual(crc32c(Buffer.from('123456789', 'ascii')), 0xe3069283);
      assert.strictEqual(crc32c(new Uint8Array(32)), 0x8a9136aa);
      assert.strictEqual(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
      assert.strictEqual(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
      assert.strictEqual(crc32c(new Uint8Array(0)), 0);
    });
    it('masks as TFRecord does and frames a record', () => {
      const crc = 0xe3069283;
      assert.strictEqual(maskCrc(crc), mask(crc));
      const rec = encodeRecord(Buffer.from('hello'));
      assert.deepStrictEqual(
        readRecords(rec).map((r) => r.toString()),
        ['hello'],
      );
    });
  });

  describe('TensorBoard event files', () => {
    it('writes events that an independent decoder reads back', () => {
      const dir = tmpDir();
      let clock = 1_700_000_000_123;
      const w = new EventFileWriter(dir, { hostname: 'testhost', now: () => clock });
      assert.strictEqual(path.basename(w.file), 'events.out.tfevents.1700000000.testhost');
      const written: { tag: string; value: number; step: number }[] = [];
      for (let step = 1; step <= 50; step++) {
        clock += 10;
        const loss = 2 / step + 0.1234567;
        w.addScalar('batch_loss', loss, step);
        written.push({ tag: 'batch_loss', value: loss, step });
      }
      w.addScalars(
        [
          { tag: 'epoch_loss', value: 0.25 },
          { tag: 'epoch_acc', value: 0.9 },
        ],
        3_000_000_000_000,
      );
      written.push(
        { tag: 'epoch_loss', value: 0.25, step: 3_000_000_000_000 },
        { tag: 'epoch_acc', value: 0.9, step: 3_000_000_000_000 },
      );
      w.close();
      const events = readRecords(fs.readFileSync(w.file)).map(decodeEvent);
      assert.strictEqual(events[0].fileVersion, 'brain.Event:2');
      assert.strictEqual(events[0].wallTime, 1_700_000_000.123);
      const got = events.slice(1).flatMap((e) => e.values.map((v) => ({ ...v, step: e.step })));
      assert.deepStrictEqual(
        got,
        written.map((s) => ({ ...s, value: Math.fround(s.value) })),
      );
      assert.strictEqual(events[1].wallTime, 1_700_000_000.133);
    });

    it('flushes records whole and appends to the same file', () => {
      const dir = tmpDir();
      const w = new EventFileWriter(dir, { hostname: 'h', now: () => 5000 });
      w.addScalar('a', 1, 1);
      assert.strictEqual(readRecords(fs.readFileSync(w.file)).length, 1, 'buffered until flush');
      w.flush();
      assert.strictEqual(readRecords(fs.readFileSync(w.file)).length, 2);
      w.close();
      const again = new EventFileWriter(dir, { hostname: 'h', now: () => 5000 });
      again.addScalar('a', 2, 2);
      again.close();
      const events = readRecords(fs.readFileSync(w.file)).map(decodeEvent);
      assert.deepStrictEqual(
        events.map((e) => e.fileVersion ?? e.values[0].value),
        ['brain.Event:2', 1, 2],
      );
    });

    it('splits tfjs logs into the train and validation streams like tfjs-node', () => {
      const run = tmpDir();
      const tb = new TensorBoardLogger(run, { hostname: 'h' });
      tb.logMetrics('epoch_', { loss: 0.5, acc: 0.75, val_loss: 0.625, val_acc: 0.5, size: 32 }, 1);
      tb.close();
      const read = (stream: string) => {
        const dir = path.join(run, 'tensorboard', stream);
        const files = fs.readdirSync(dir);
        assert.strictEqual(files.length, 1);
        assert.match(files[0], /^events\.out\.tfevents\.\d+\.h$/);
        return readRecords(fs.readFileSync(path.join(dir, files[0])))
          .map(decodeEvent)
          .slice(1)
          .flatMap((e) => e.values.map((v) => `${v.tag}@${e.step}=${v.value}`));
      };
      assert.deepStrictEqual(read('train'), ['epoch_loss@1=0.5', 'epoch_acc@1=0.75']);
      assert.deepStrictEqual(read('validation'), ['epoch_loss@1=0.625', 'epoch_acc@1=0.5']);
    });
  });

  describe('metrics.jsonl', () => {
    it('ignores a torn last line, and a new writer cuts it off before appending', () => {
      const file = path.join(tmpDir(), 'metrics.jsonl');
      const w = new MetricsWriter(file);
      w.append({ kind: 'batch', epoch: 1, step: 1, loss: 1.5 });
      w.append({ kind: 'epoch', epoch: 1, step: 1, loss: 1.4, val_acc: 0.5, time: 42 });
      w.close();
      fs.appendFileSync(file, '{"kind":"batch","epoch":2,"st');
      assert.deepStrictEqual(parseMetrics(fs.readFileSync(file, 'utf8')).tornTail, true);
      const before = readMetrics(file);
      assert.deepStrictEqual(
        before.map((r) => [r.kind, r.step, r.loss]),
        [
          ['batch', 1, 1.5],
          ['epoch', 1, 1.4],
        ],
      );
      assert.strictEqual(before[1].time, 42);
      assert.ok(typeof before[0].time === 'number' && before[0].time > 1e12);
      const w2 = new MetricsWriter(file);
      w2.append({ kind: 'batch', epoch: 2, step: 2, loss: 1.2 });
      w2.close();
      assert.deepStrictEqual(
        readMetrics(file).map((r) => r.step),
        [1, 1, 2],
      );
      assert.deepStrictEqual(parseMetrics(fs.readFileSync(file, 'utf8')), {
        records: readMetrics(file),
        badLines: [],
        tornTail: false,
      });
    });

    it('reads a missing file as empty and rewrites on resume', () => {
      const file = path.join(tmpDir(), 'metrics.jsonl');
      assert.deepStrictEqual(readMetrics(file), []);
      const w = new MetricsWriter(file);
      for (let s = 1; s <= 6; s++) w.append({ kind: 'batch', epoch: Math.ceil(s / 2), step: s });
      w.close();
      assert.strictEqual(
        rewriteMetrics(file, (r) => r.epoch <= 2),
        4,
      );
      assert.deepStrictEqual(
        readMetrics(file).map((r) => r.step),
        [1, 2, 3, 4],
      );
    });
  });

  describe('atomic writes', () => {
    it('replaces files without leaving temporaries', async () => {
      const dir = tmpDir();
      const f = path.join(dir, 'sub', 'a.json');
      writeFileAtomicSync(f, '{"v":1}');
      await writeFileAtomic(f, '{"v":2}');
      assert.deepStrictEqual(readJsonSync(f), { v: 2 });
      assert.deepStrictEqual(fs.readdirSync(path.dirname(f)), ['a.json']);
    });

    it('keeps the old folder when filling fails', async () => {
      const dir = path.join(tmpDir(), 'ck');
      await replaceDirAtomic(dir, async (t) => fs.writeFileSync(path.join(t, 'x'), '1'));
      await assert.rejects(
        replaceDirAtomic(dir, async (t) => {
          fs.writeFileSync(path.join(t, 'x'), '2');
          throw new Error('disk full');
        }),
        /disk full/,
      );
      assert.strictEqual(fs.readFileSync(path.join(resolveAtomicDir(dir)!, 'x'), 'utf8'), '1');
      assert.deepStrictEqual(fs.readdirSync(path.dirname(dir)), ['ck']);
    });
  });

  describe('checkpoints', function () {
    this.timeout(20000);

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

  describe('run folders', () => {
    it('makes sortable unique run ids', () => {
      const d = new Date(Date.UTC(2026, 10, 29, 7, 30, 12));
      assert.match(newRunId(d), /^2026-11-29T07-30-12-[0-9a-z]{3}$/);
      assert.ok(newRunId(new Date(Date.UTC(2026, 10, 29, 7, 30, 13))) > newRunId(d));
    });

    it('goes through the run.json lifecycle and lists runs newest first', () => {
      const base = tmpDir();
      const t0 = new Date(Date.UTC(2026, 0, 1, 10, 0, 0));
      const first = createRun({
        baseFolder: base,
        specName: 'cifar/bc-40',
        specText: '{ "name": "x" }',
        epochs: 30,
        backend: 'wasm',
        now: t0,
      });
      assert.strictEqual(path.dirname(first.runDir), runsDirFor(base, 'cifar/bc-40'));
      assert.strictEqual(path.dirname(first.runDir), path.join(base, '.densenet', 'runs', 'cifar_bc-40'));
      assert.strictEqual(fs.readFileSync(path.join(first.runDir, 'spec.densenet.json'), 'utf8'), '{ "name": "x" }');
      assert.deepStrictEqual(readRunInfo(first.runDir), first.info);
      assert.strictEqual(first.info.status, 'running');

      updateRunInfo(first.runDir, { epochsCompleted: 3, bestValAccuracy: 0.71, bestEpoch: 3 });
      const done = finishRun(first.runDir, 'completed');
      assert.strictEqual(done.status, 'completed');
      assert.ok(done.endedAt);
      // The host learns of the exit afterwards: a finished run keeps its status.
      const afterExit = markRunFailed(first.runDir, { error: 'exit 1', exitCode: 1, signal: null });
      assert.strictEqual(afterExit.status, 'completed');
      assert.strictEqual(afterExit.exitCode, 1);
      assert.strictEqual(afterExit.bestValAccuracy, 0.71);

      const second = createRun({
        baseFolder: base,
        specName: 'cifar/bc-40',
        specText: '{}',
        epochs: 5,
        now: new Date(t0.getTime() + 1000),
      });
      const crashed = markRunFailed(second.runDir, {
        error: 'The engine process ended unexpectedly (SIGKILL)',
        exitCode: null,
        signal: 'SIGKILL',
        stderrTail: 'out of memory',
      });
      assert.strictEqual(crashed.status, 'failed');
      assert.strictEqual(crashed.signal, 'SIGKILL');
      assert.strictEqual(crashed.stderrTail, 'out of memory');
      assert.ok(crashed.endedAt);

      const third = createRun({
        baseFolder: base,
        specName: 'cifar/bc-40',
        specText: '{}',
        epochs: 5,
        now: new Date(t0.getTime() + 2000),
      });
      fs.mkdirSync(path.join(runsDirFor(base, 'cifar/bc-40'), 'not-a-run'));
      const runs = listRuns(runsDirFor(base, 'cifar/bc-40'));
      assert.deepStrictEqual(
        runs.map((r) => r.runId),
        [third.runId, second.runId, first.runId],
      );
      assert.deepStrictEqual(
        runs.map((r) => r.status),
        ['running', 'failed', 'completed'],
      );
      assert.strictEqual(runs[2].runDir, first.runDir);
      assert.deepStrictEqual(listRuns(runsDirFor(base, 'other')), []);
      for (const r of runs) assert.deepStrictEqual(fs.readdirSync(r.runDir).sort(), ['run.json', 'spec.densenet.json']);
    });

    it('marks a run folder without run.json as failed', () => {
      const dir = path.join(runsDirFor(tmpDir(), 'spec'), 'broken');
      fs.mkdirSync(dir, { recursive: true });
      const info = markRunFailed(dir, { error: 'engine did not start', exitCode: 2 });
      assert.strictEqual(info.status, 'failed');
      assert.deepStrictEqual(readRunInfo(dir), info);
    });
  });
});
