import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { evaluateRun, exampleImages } from '../../src/engine/evaluation';
import { tf } from '../../src/engine/tf';
import { train } from '../../src/engine/training/train';
import { readEvaluations } from '../../src/runs/evaluations';
import { maxAbsDiff } from '../support/inference';
import { cellExamples, predictionsConfusion, readPredictions } from '../../src/runs/predictions';

// Evaluate on IDX data (MNIST's format): the predictions name each example by its file and record, the gallery's
// PNG of a record has the record's pixels, progress counts the examples, and a cancelled evaluate saves nothing.
const SIDE = 8;
const SPEC = JSON.stringify({
  version: 1,
  name: 'tiny-idx',
  input: { height: SIDE, width: SIDE, channels: 1 },
  classes: 3,
  model: {
    growthRate: 4,
    blockConfig: [2],
    bnSize: 2,
    compression: 0.5,
    numInitFeatures: 8,
    stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
  },
  data: { train: 'mnist', validation: { split: 0.25 }, test: 'mnist' },
  training: { epochs: 1, batchSize: 8, optimizer: 'sgd', learningRate: 0.05, seed: 3 },
});

function idx(type: number, dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, k) => header.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([header, data]);
}

/** `n` images of bars (class c: rows 3c and 3c+1 bright), each pixel varied by its image and position. */
function bars(n: number, offset: number): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(n * SIDE * SIDE);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    for (let p = 0; p < SIDE * SIDE; p++) {
      const row = Math.floor(p / SIDE);
      images[i * SIDE * SIDE + p] = (row === 3 * c || row === 3 * c + 1 ? 190 : 10) + ((i + offset + p) % 40);
    }
  }
  return { images, labels };
}

describe('engine: evaluate on IDX data, with predictions and example images', function () {
  this.timeout(180_000);
  let dir: string;
  let runDir: string;
  let test: { images: Uint8Array; labels: Uint8Array };
  before(async () => {
    await tf.setBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-evaluation-'));
    const mnist = path.join(dir, 'mnist');
    fs.mkdirSync(mnist);
    const trainSet = bars(24, 0);
    test = bars(9, 7);
    fs.writeFileSync(path.join(mnist, 'train-images-idx3-ubyte'), idx(8, [24, SIDE, SIDE], trainSet.images));
    fs.writeFileSync(path.join(mnist, 'train-labels-idx1-ubyte'), idx(8, [24], trainSet.labels));
    fs.writeFileSync(path.join(mnist, 't10k-images-idx3-ubyte'), idx(8, [9, SIDE, SIDE], test.images));
    fs.writeFileSync(path.join(mnist, 't10k-labels-idx1-ubyte'), idx(8, [9], test.labels));
    const specPath = path.join(dir, 'tiny-idx.densenet.json');
    fs.writeFileSync(specPath, SPEC);
    const silent = { started: () => {}, batch: () => {}, epochEnd: () => {}, skipped: () => {}, log: () => {} };
    ({ runDir } = await train({ specPath, specText: SPEC, workspaceDir: dir }, silent, { cancelled: false }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('saves each example as its IDX file and record, and reports progress to the last example', async () => {
    const progress: number[] = [];
    const r = await evaluateRun(
      { checkpoint: runDir, split: 'test', batchSize: 4 },
      { onProgress: (p) => progress.push(p.examples) },
    );
    assert.deepStrictEqual(progress, [4, 8, 9]);
    assert.strictEqual(r.evaluation.examples, 9);
    assert.match(r.label, /^test \(/);
    const p = readPredictions(runDir, r.evaluation.id!);
    assert.deepStrictEqual(predictionsConfusion(p), r.evaluation.confusion);
    assert.deepStrictEqual(
      p.examples.map((e) => [e.source, e.record, e.true]),
      [...test.labels].map((label, i) => ['mnist/t10k-images-idx3-ubyte', i, label]),
    );
  });

  it("draws a record as a PNG in the run folder with the record's pixels, once", async () => {
    const id = readEvaluations(runDir).records.find((r) => r.kind === 'evaluate')!.id!;
    const p = readPredictions(runDir, id);
    const e = cellExamples(p, p.examples[4].true, p.examples[4].predicted).find((x) => x.index === 4)!;
    const [file] = await exampleImages({ runDir, evaluation: id, indices: [e.index] });
    assert.strictEqual(file, path.join(runDir, 'predictions', id, '4.png'));
    const meta = await sharp(file).metadata();
    assert.deepStrictEqual([meta.format, meta.width, meta.height, meta.channels], ['png', SIDE, SIDE, 1]);
    const data = await sharp(file).extractChannel(0).raw().toBuffer();
    assert.deepStrictEqual([...data], [...test.images.subarray(4 * SIDE * SIDE, 5 * SIDE * SIDE)]);
    const mtime = fs.statSync(file).mtimeMs;
    await exampleImages({ runDir, evaluation: id, indices: [4] });
    assert.strictEqual(fs.statSync(file).mtimeMs, mtime, 'not drawn again');
    await assert.rejects(exampleImages({ runDir, evaluation: id, indices: [99] }), /has no example 99/);
  });

  it('scores the same on ONNX Runtime and tfjs, and says which engine scored', async () => {
    const results = [];
    for (const inference of ['onnxruntime', 'tfjs'] as const) {
      const log: string[] = [];
      const r = await evaluateRun(
        { checkpoint: runDir, split: 'test', batchSize: 4 },
        { inference, threads: 2, log: (m) => log.push(m) },
      );
      assert.strictEqual(r.inference, inference);
      assert.deepStrictEqual(log, [
        inference === 'tfjs' ? 'inference on tfjs' : 'inference on ONNX Runtime (2 threads)',
      ]);
      results.push({ r, p: readPredictions(runDir, r.evaluation.id!) });
    }
    const [ort, tfjs] = results;
    assert.strictEqual(ort.r.evaluation.accuracy, tfjs.r.evaluation.accuracy);
    assert.deepStrictEqual(ort.r.evaluation.confusion, tfjs.r.evaluation.confusion);
    assert.ok(
      Math.abs(ort.r.evaluation.loss - tfjs.r.evaluation.loss) < 1e-5,
      `losses ${ort.r.evaluation.loss} ${tfjs.r.evaluation.loss}`,
    );
    assert.deepStrictEqual(
      ort.p.examples.map((e) => [e.index, e.true, e.predicted]),
      tfjs.p.examples.map((e) => [e.index, e.true, e.predicted]),
    );
    const d = maxAbsDiff(
      ort.p.examples.map((e) => e.probability),
      tfjs.p.examples.map((e) => e.probability),
    );
    console.log(`      evaluate, ONNX Runtime vs tfjs: max |probability diff| ${d.toExponential(2)}`);
    assert.ok(d < 1e-5, `probabilities differ by ${d}`);
  });

  it('a cancelled evaluate saves nothing', async () => {
    const before = readEvaluations(runDir).records.length;
    const files = fs.readdirSync(path.join(runDir, 'predictions')).length;
    await assert.rejects(
      evaluateRun({ checkpoint: runDir, split: 'test', batchSize: 4 }, { control: { cancelled: true } }),
      /cancelled: nothing was saved/,
    );
    assert.strictEqual(readEvaluations(runDir).records.length, before);
    assert.strictEqual(fs.readdirSync(path.join(runDir, 'predictions')).length, files);
  });
});
