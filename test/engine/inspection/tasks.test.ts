// The feature maps panel's inspections of multi-label and segmentation models: what `predict` answers for each
// task (every label against its threshold; the mask, the class maps and the class shares), and Grad-CAM,
// saliency and class maximisation of one label or one class of the mask (Seg-Grad-CAM's region means, checked
// against the same means computed here from the model's own logits).
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { InspectionService } from '../../../src/engine/inspection/service';
import { layerGraph } from '../../../src/engine/inspection/layerGraph';
import { tf } from '../../../src/engine/tf';
import type { MaximiseProgress, TaskPrediction } from '../../../src/protocol/features';
import type { HandlerContext } from '../../../src/protocol/rpc';

const SIZE = 16;
const STEM = { kernelSize: 3, stride: 1, pool: 'none', norm: false };

const MULTILABEL = {
  version: 1,
  name: 'labels',
  task: 'multilabel',
  input: { height: SIZE, width: SIZE, channels: 1 },
  classes: 4,
  model: { growthRate: 4, blockConfig: [2, 2], bnSize: 2, numInitFeatures: 8, stem: STEM },
  data: { train: 'train.csv' },
};

const CLASS_LIST = [
  { name: 'background', color: '#000000' },
  { name: 'dim', color: '#00FF00' },
  { name: 'bright', color: '#ff0000' },
];

const SEGMENTATION = {
  version: 1,
  name: 'squares',
  task: 'segmentation',
  input: { height: SIZE, width: SIZE, channels: 1 },
  classes: 3,
  model: { growthRate: 4, blockConfig: [2], bottleneckLayers: 2, upBlockConfig: [2], numInitFeatures: 8, stem: STEM },
  data: { train: { images: 'images', masks: 'masks' }, classList: CLASS_LIST },
};

async function writeImage(file: string): Promise<void> {
  const pixels = Uint8Array.from({ length: SIZE * SIZE }, (_, i) => (i % SIZE < SIZE / 2 ? 30 : 220) ^ ((i * 13) % 64));
  await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 1 } })
    .png()
    .toFile(file);
}

const noProgress: HandlerContext<MaximiseProgress> = {
  signal: new AbortController().signal,
  progress: () => undefined,
};

describe('engine/inspection: multi-label and segmentation models in the feature maps panel', function () {
  this.timeout(60_000);
  let tmp: string;
  let image: string;
  let service: InspectionService;
  before(async () => {
    await tf.setBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-tasks-'));
    image = path.join(tmp, 'image.png');
    await writeImage(image);
    fs.writeFileSync(path.join(tmp, 'train.csv'), 'image,labels\nimage.png,a|b\n');
    for (const d of ['images', 'masks']) fs.mkdirSync(path.join(tmp, d));
    fs.copyFileSync(image, path.join(tmp, 'images', 'image.png'));
    await sharp(new Uint8Array(SIZE * SIZE), { raw: { width: SIZE, height: SIZE, channels: 1 } })
      .png()
      .toFile(path.join(tmp, 'masks', 'image.png'));
    fs.writeFileSync(path.join(tmp, 'labels.densenet.json'), JSON.stringify(MULTILABEL));
    fs.writeFileSync(path.join(tmp, 'squares.densenet.json'), JSON.stringify(SEGMENTATION));
  });
  beforeEach(() => {
    service = new InspectionService();
  });
  afterEach(() => service.release());
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('multi-label: every label with its own sigmoid against its threshold (0.5 untrained); Grad-CAM per label', async () => {
    const checkpoint = path.join(tmp, 'labels.densenet.json');
    const r = await service.predict({ checkpoint, image });
    const task = r.task as Extract<TaskPrediction, { task: 'multilabel' }>;
    assert.strictEqual(task.task, 'multilabel');
    assert.strictEqual(task.thresholds, '0.5 (untrained model)');
    assert.strictEqual(task.labels.length, 4);
    assert.strictEqual(r.predictions.length, 4, 'every label is listed, not a top 5');
    for (let i = 1; i < task.labels.length; i++)
      assert.ok(task.labels[i - 1].probability >= task.labels[i].probability, 'most probable first');
    for (const l of task.labels) {
      assert.strictEqual(l.threshold, 0.5);
      assert.strictEqual(l.present, l.probability >= 0.5);
    }
    // Sigmoids, not a softmax: the probabilities need not sum to 1, and each equals Grad-CAM's of that label.
    for (const l of task.labels) {
      const cam = await service.gradcam({ checkpoint, image, classIndex: l.index });
      assert.strictEqual(cam.classIndex, l.index);
      assert.strictEqual(cam.score, 'logit');
      assert.ok(Math.abs(cam.probability - l.probability) < 1e-5, `${cam.probability} vs ${l.probability}`);
    }
  });

  it('segmentation: the mask, 8-bit class maps and class shares; the classes named and coloured by the classList', async () => {
    const checkpoint = path.join(tmp, 'squares.densenet.json');
    const r = await service.predict({ checkpoint, image });
    const task = r.task as Extract<TaskPrediction, { task: 'segmentation' }>;
    assert.strictEqual(task.task, 'segmentation');
    assert.deepStrictEqual([task.height, task.width], [SIZE, SIZE]);
    assert.strictEqual(task.mask.length, SIZE * SIZE);
    assert.strictEqual(task.probabilities.length, SIZE * SIZE * 3);
    assert.deepStrictEqual(
      task.classes.map((c) => [c.name, c.color]),
      [
        ['background', '#000000'],
        ['dim', '#00ff00'],
        ['bright', '#ff0000'],
      ],
    );
    const counts = [0, 0, 0];
    for (let p = 0; p < task.mask.length; p++) {
      const codes = Array.from(task.probabilities.subarray(p * 3, p * 3 + 3));
      assert.ok(Math.abs(codes.reduce((a, b) => a + b, 0) - 255) <= 2, `pixel ${p}: codes ${codes} sum to ~255`);
      assert.ok(codes[task.mask[p]] >= Math.max(...codes) - 1, `pixel ${p}: its class is the most probable`);
      counts[task.mask[p]]++;
    }
    task.classes.forEach((c, k) => assert.strictEqual(c.share, counts[k] / (SIZE * SIZE)));
    assert.deepStrictEqual(
      r.predictions.map((p) => p.probability),
      [...counts].sort((a, b) => b - a).map((n) => n / (SIZE * SIZE)),
      'the classes listed by their share of the mask',
    );
  });

  it("segmentation: a class's score is its mean logit over the pixels predicted as it (all pixels when none)", async () => {
    const checkpoint = path.join(tmp, 'squares.densenet.json');
    const r = await service.predict({ checkpoint, image });
    // The model the service loaded, reached through its graph: rebuild the same from the spec instead.
    const model = (service as unknown as { loaded: { model: LayersModel } }).loaded.model;
    const graph = layerGraph(model);
    assert.strictEqual(graph.scoreKind, 'logit');
    const x = tf.tensor4d(r.image.input, [1, SIZE, SIZE, 1]);
    const values = graph.run(new Map([[graph.input, x]]), [graph.scoreSource]);
    const logits = (values.get(graph.scoreSource) as Tensor).dataSync();
    const scores = graph.scores(values).dataSync();
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      let n = 0;
      let all = 0;
      for (let p = 0; p < SIZE * SIZE; p++) {
        const row = Array.from(logits.subarray(p * 3, p * 3 + 3));
        all += row[c];
        if (row.indexOf(Math.max(...row)) === c) {
          sum += row[c];
          n++;
        }
      }
      const expected = n > 0 ? sum / n : all / (SIZE * SIZE);
      assert.ok(Math.abs(scores[c] - expected) < 1e-4, `class ${c}: ${scores[c]} vs ${expected} (${n} pixels)`);
    }
    tf.dispose([x, ...values.values()]);
  });

  it('segmentation: Grad-CAM, saliency and class maximisation of each class', async () => {
    const checkpoint = path.join(tmp, 'squares.densenet.json');
    for (const classIndex of [0, 1, 2]) {
      const cam = await service.gradcam({ checkpoint, image, classIndex });
      assert.strictEqual(cam.className, CLASS_LIST[classIndex].name);
      assert.strictEqual(cam.upsampled.length, SIZE * SIZE);
      assert.ok(cam.upsampled.every(Number.isFinite));
      const sal = await service.saliency({ checkpoint, image, classIndex });
      assert.ok(sal.range[1] > 0, `class ${classIndex}: the input moves its score`);
    }
    const max = await service.maximise({ checkpoint, target: { classIndex: 2 }, steps: 2 }, noProgress);
    assert.strictEqual(max.values.length, 2);
    await assert.rejects(
      service.maximise({ checkpoint, target: { classIndex: 3 }, steps: 1 }, noProgress),
      /out of range: the model has 3 classes/,
    );
  });
});
