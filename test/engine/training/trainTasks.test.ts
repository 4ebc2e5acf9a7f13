/**
 * Training, resuming, evaluating and predicting a multi-label classifier and an FC-DenseNet end to end through
 * the engine's `train` (data from disk: a CSV manifest; images with PNG masks), on two threads as the engine
 * trains: the run records the task's figures per validation (mean AUROC, mean IoU), evaluate scores the test
 * data with the thresholds tuned on validation, predict prints labels over their thresholds and writes masks.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { predictCommand } from '../../../src/engine/cli';
import { evaluateRun } from '../../../src/engine/evaluation';
import { registerWasmTrainingKernels } from '../../../src/engine/kernels/register';
import { tf } from '../../../src/engine/tf';
import { train, type TrainObserver } from '../../../src/engine/training/train';
import type { EpochMetrics } from '../../../src/protocol/engine';
import { readEvaluations } from '../../../src/runs/evaluations';
import { readPreprocessing } from '../../../src/runs/preprocessing';
import { readRunInfo } from '../../../src/runs/runFolder';
import { tempFolders } from '../../support/tempFolders';

const temp = tempFolders('densenet-tasks-');
const SIDE = 8;

/** Seeded noise in [0, 40). */
function noise(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % 40;
  };
}

/** 8x8 images with a bright quadrant for each of their labels (4 labels), and a manifest of `|` lists. */
async function multilabelData(dir: string, name: string, count: number, seed: number): Promise<void> {
  const rnd = noise(seed);
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  const rows = ['image,labels'];
  for (let i = 0; i < count; i++) {
    const labels = [0, 1, 2, 3].filter((q) => ((i * 7 + q * 3 + seed) % 5) % 2 === 0);
    const px = Buffer.alloc(SIDE * SIDE);
    for (let p = 0; p < px.length; p++) {
      const q = (Math.floor(p / SIDE) >= SIDE / 2 ? 2 : 0) + (p % SIDE >= SIDE / 2 ? 1 : 0);
      px[p] = labels.includes(q) ? 200 + rnd() : rnd();
    }
    await sharp(px, { raw: { width: SIDE, height: SIDE, channels: 1 } })
      .png()
      .toFile(path.join(dir, name, `${i}.png`));
    rows.push(`${name}/${i}.png,${labels.map((q) => `q${q}`).join('|')}`);
  }
  fs.writeFileSync(path.join(dir, `${name}.csv`), rows.join('\n') + '\n');
}

/** 8x8 images of a dim and a bright square on black; masks: 0 background, 1 the dim one, 2 the bright one. */
async function segmentationData(dir: string, name: string, count: number, seed: number): Promise<void> {
  const rnd = noise(seed);
  for (const sub of ['images', 'masks']) fs.mkdirSync(path.join(dir, name, sub), { recursive: true });
  for (let i = 0; i < count; i++) {
    const px = Buffer.alloc(SIDE * SIDE);
    const mask = Buffer.alloc(SIDE * SIDE);
    const at = [(i * 3 + seed) % 5, (i * 5 + seed) % 5];
    for (let p = 0; p < px.length; p++) {
      const [r, c] = [Math.floor(p / SIDE), p % SIDE];
      const inA = r >= at[0] && r < at[0] + 3 && c < 3;
      const inB = r >= at[1] && r < at[1] + 3 && c >= 5;
      mask[p] = inB ? 2 : inA ? 1 : 0;
      px[p] = inB ? 220 + rnd() / 4 : inA ? 110 + rnd() / 4 : rnd() / 2;
    }
    const raw = { raw: { width: SIDE, height: SIDE, channels: 1 as const } };
    await sharp(px, raw)
      .png()
      .toFile(path.join(dir, name, 'images', `${i}.png`));
    await sharp(mask, raw)
      .png()
      .toFile(path.join(dir, name, 'masks', `${i}.png`));
  }
}

const STEM = { kernelSize: 3, stride: 1, pool: 'none', norm: false };

/** The batch records of a run's metrics.jsonl: each batch's accuracy is a share of its decisions, in [0, 1]. */
function batchAccuracies(runDir: string): number[] {
  return fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; acc?: number })
    .filter((r) => r.kind === 'batch')
    .map((r) => r.acc as number);
}

async function trainSpec(dir: string, spec: Record<string, unknown>, extra: { resumeRunDir?: string } = {}) {
  const specPath = path.join(dir, 'task.densenet.json');
  const specText = JSON.stringify(spec, null, 2);
  fs.writeFileSync(specPath, specText);
  const epochs: EpochMetrics[] = [];
  const obs: TrainObserver = {
    started: () => undefined,
    batch: () => undefined,
    epochEnd: (m) => epochs.push(m),
    skipped: () => undefined,
    log: () => undefined,
  };
  const result = await train({ specPath, specText, workspaceDir: dir, threads: 2, ...extra }, obs, {
    cancelled: false,
  });
  return { result, epochs };
}

describe('engine: training multi-label and segmentation models end to end', function () {
  this.timeout(300_000);
  let previous: string | undefined;
  before(async () => {
    previous = tf.getBackend();
    assert.ok(await tf.setBackend('wasm'));
    registerWasmTrainingKernels();
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
    temp.removeAll();
  });

  it('multi-label: learns the labels (mean AUROC), evaluates with the tuned thresholds, predicts labels', async () => {
    const dir = temp.make();
    await multilabelData(dir, 'train', 96, 1);
    await multilabelData(dir, 'test', 24, 2);
    const spec = {
      version: 1,
      name: 'quadrants',
      task: 'multilabel',
      input: { height: SIDE, width: SIDE, channels: 1 },
      classes: 4,
      model: { growthRate: 4, blockConfig: [2, 2], bnSize: 2, numInitFeatures: 8, stem: STEM },
      data: { train: 'train.csv', validation: { split: 0.25 }, test: 'test.csv' },
      training: { epochs: 6, batchSize: 16, optimizer: 'adam', learningRate: 0.01, seed: 5, lossWeights: [1, 1, 2, 1] },
    };
    const { result, epochs } = await trainSpec(dir, spec);
    assert.strictEqual(result.status, 'completed');
    const last = epochs.at(-1)!;
    assert.deepStrictEqual(last.classNames, ['q0', 'q1', 'q2', 'q3']);
    assert.ok(last.multilabel, 'the validation has per-label figures');
    assert.deepStrictEqual(
      last.multilabel.labels.map((l) => l.label),
      ['q0', 'q1', 'q2', 'q3'],
    );
    assert.ok((last.multilabel.meanAuroc ?? 0) > 0.9, `mean AUROC ${last.multilabel.meanAuroc}`);
    const saved = readEvaluations(result.runDir).records.filter((r) => r.kind === 'validation');
    assert.strictEqual(saved.length, 6, 'a validation a epoch, with its figures');
    assert.deepStrictEqual(saved.at(-1)?.multilabel, last.multilabel);
    assert.strictEqual(saved.at(-1)?.examples, 24);
    assert.strictEqual(readPreprocessing(result.runDir).task, 'multilabel');
    const accs = batchAccuracies(result.runDir);
    assert.ok(accs.length > 0 && accs.every((a) => a >= 0 && a <= 1), `batch accuracies of label decisions: ${accs}`);

    // The best checkpoint is the epoch of the best validation mean AUROC (not of the label decisions at 0.5).
    const aurocs = saved.map((r) => r.multilabel!.meanAuroc ?? -1);
    const bestEpoch = aurocs.indexOf(Math.max(...aurocs)) + 1;
    const info = readRunInfo(result.runDir)!;
    assert.deepStrictEqual(
      [info.bestMonitor, info.bestValue, info.bestEpoch, info.bestValAccuracy],
      ['val_mean_auroc', Math.max(...aurocs), bestEpoch, undefined],
    );
    assert.deepStrictEqual([result.bestMonitor, result.bestEpoch], ['val_mean_auroc', bestEpoch]);

    const evaluated = await evaluateRun({ checkpoint: result.runDir, split: 'test' }, { inference: 'tfjs' });
    assert.strictEqual(evaluated.evaluation.epoch, bestEpoch, 'evaluate scores the best checkpoint');
    const m = evaluated.evaluation.multilabel!;
    assert.strictEqual(m.thresholds, 'given');
    const best = saved.find((r) => r.epoch === readEvaluations(result.runDir).records.at(-1)?.epoch) ?? saved.at(-1)!;
    assert.ok(best.multilabel);
    assert.ok((m.meanAuroc ?? 0) > 0.9, `test mean AUROC ${m.meanAuroc}`);
    assert.strictEqual(evaluated.evaluation.examples, 24);
    assert.strictEqual(evaluated.predictionsFile, undefined, 'no per-example class predictions for labels');

    const out: string[] = [];
    const err: string[] = [];
    const code = await predictCommand(
      [result.runDir, path.join(dir, 'test', '0.png'), '--inference', 'tfjs', '--json'],
      (s) => out.push(s),
      (s) => err.push(s),
    );
    assert.strictEqual(code, 0, err.join('\n'));
    assert.ok(
      err.some((l) => /label thresholds: tuned on the validation of epoch \d+/.test(l)),
      err.join('\n'),
    );
    const [first] = JSON.parse(out[0]) as { labels: { label: string; present: boolean; threshold: number }[] }[];
    assert.strictEqual(first.labels.length, 4);
    const truth = fs.readFileSync(path.join(dir, 'test.csv'), 'utf8').split('\n')[1].split(',')[1].split('|');
    assert.deepStrictEqual(
      first.labels
        .filter((l) => l.present)
        .map((l) => l.label)
        .sort(),
      truth.sort(),
      'the labels of the first test image',
    );
  });

  it('segmentation: learns the masks (mean IoU), resumes, evaluates per class, writes a mask PNG', async () => {
    const dir = temp.make();
    await segmentationData(dir, 'train', 48, 1);
    await segmentationData(dir, 'test', 12, 2);
    const spec = (epochs: number) => ({
      version: 1,
      name: 'squares',
      task: 'segmentation',
      input: { height: SIDE, width: SIDE, channels: 1 },
      classes: 3,
      model: {
        growthRate: 4,
        blockConfig: [2],
        bottleneckLayers: 2,
        upBlockConfig: [2],
        numInitFeatures: 8,
        stem: STEM,
      },
      data: {
        train: { images: 'train/images', masks: 'train/masks' },
        validation: { split: 0.25 },
        test: { images: 'test/images', masks: 'test/masks' },
        classList: [
          { name: 'background', color: '#000000' },
          { name: 'dim', color: '#00ff00' },
          { name: 'bright', color: '#ff0000' },
        ],
      },
      training: { epochs, batchSize: 8, optimizer: 'adam', learningRate: 0.01, seed: 3, memoryEfficient: true },
    });
    const first = await trainSpec(dir, spec(4));
    assert.strictEqual(first.result.status, 'completed');
    const resumed = await trainSpec(dir, spec(8), { resumeRunDir: first.result.runDir });
    assert.strictEqual(resumed.result.status, 'completed');
    assert.strictEqual(resumed.result.runDir, first.result.runDir);
    const last = resumed.epochs.at(-1)!;
    assert.strictEqual(last.epoch, 8);
    assert.ok(last.segmentation);
    assert.deepStrictEqual(
      last.segmentation.classes.map((c) => c.class),
      ['background', 'dim', 'bright'],
    );
    assert.ok((last.segmentation.meanIou ?? 0) > 0.7, `mean IoU ${last.segmentation.meanIou}`);
    const pixelAccs = batchAccuracies(first.result.runDir);
    assert.ok(
      pixelAccs.length > 0 && pixelAccs.every((a) => a >= 0 && a <= 1),
      `batch accuracies of labelled pixels: ${pixelAccs}`,
    );
    assert.strictEqual(
      last.confusion!.flat().reduce((a, b) => a + b, 0),
      12 * SIDE * SIDE,
      'the pixel confusion counts every validation pixel',
    );

    // The best checkpoint over both sessions is the epoch of the best validation mean IoU.
    const ious = readEvaluations(first.result.runDir)
      .records.filter((r) => r.kind === 'validation')
      .map((r) => r.segmentation!.meanIou ?? -1);
    assert.strictEqual(ious.length, 8);
    const bestEpoch = ious.indexOf(Math.max(...ious)) + 1;
    const info = readRunInfo(first.result.runDir)!;
    assert.deepStrictEqual(
      [info.bestMonitor, info.bestValue, info.bestEpoch],
      ['val_mean_iou', Math.max(...ious), bestEpoch],
    );

    const evaluated = await evaluateRun({ checkpoint: first.result.runDir, split: 'test' }, {});
    assert.strictEqual(evaluated.evaluation.epoch, bestEpoch, 'evaluate scores the best checkpoint');
    const s = evaluated.evaluation.segmentation!;
    assert.ok((s.meanIou ?? 0) > 0.7, `test mean IoU ${s.meanIou}`);
    assert.strictEqual(evaluated.evaluation.examples, 12);

    const outDir = path.join(dir, 'masks-out');
    const out: string[] = [];
    const err: string[] = [];
    const code = await predictCommand(
      [first.result.runDir, path.join(dir, 'test', 'images', '0.png'), '--out', outDir],
      (x) => out.push(x),
      (x) => err.push(x),
    );
    assert.strictEqual(code, 0, err.join('\n'));
    const gray = (file: string) => sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    const mask = await gray(path.join(outDir, '0.mask.png'));
    assert.deepStrictEqual([mask.info.width, mask.info.height], [SIDE, SIDE]);
    const truth = (await gray(path.join(dir, 'test', 'masks', '0.png'))).data;
    const right = [...truth].filter((v, p) => mask.data[p] === v).length;
    assert.ok(right / truth.length > 0.85, `${right} of ${truth.length} pixels right`);
    const colored = await sharp(path.join(outDir, '0.mask-color.png')).raw().toBuffer({ resolveWithObject: true });
    assert.strictEqual(colored.info.channels, 3);
    const brightAt = [...truth].indexOf(2);
    if (mask.data[brightAt] === 2)
      assert.deepStrictEqual([...colored.data.subarray(brightAt * 3, brightAt * 3 + 3)], [255, 0, 0]);
    assert.match(out[0], /0\.mask\.png \(background \d/);
  });
});
