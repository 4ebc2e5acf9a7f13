import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { evaluateCommand } from '../../src/engine/cli';
import { tf } from '../../src/engine/tf';
import { train } from '../../src/engine/training/train';
import { readEvaluations } from '../../src/runs/evaluations';
import { cellExamples, predictionsConfusion, readPredictions } from '../../src/runs/predictions';
import { makeDataset } from '../support/barsDataset';

const SPEC = JSON.stringify({
  version: 1,
  name: 'tiny-eval',
  input: { height: 8, width: 8, channels: 1 },
  classes: 3,
  model: {
    growthRate: 4,
    blockConfig: [2],
    bnSize: 2,
    compression: 0.5,
    numInitFeatures: 8,
    stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
  },
  data: { train: 'train', validation: { split: 0.25 } },
  training: { epochs: 1, batchSize: 8, optimizer: 'sgd', learningRate: 0.05, seed: 3 },
});

describe('engine: densenet-lab evaluate saves its result in the run', function () {
  this.timeout(180_000);
  let dir: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-evaluate-'));
    await makeDataset(dir, 8);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('appends the confusion matrix and per-class figures of evaluate to evaluations.jsonl', async () => {
    const specPath = path.join(dir, 'tiny-eval.densenet.json');
    fs.writeFileSync(specPath, SPEC);
    const silent = { started: () => {}, batch: () => {}, epochEnd: () => {}, skipped: () => {}, log: () => {} };
    const { runDir } = await train({ specPath, specText: SPEC, workspaceDir: dir }, silent, { cancelled: false });
    const out: string[] = [];
    const err: string[] = [];
    const code = await evaluateCommand(
      [runDir, '--backend', 'cpu', '--json', '--threads', '1'],
      (s) => out.push(s),
      (s) => err.push(s),
    );
    assert.strictEqual(code, 0, err.join('\n'));
    const printed = JSON.parse(out.at(-1)!) as { accuracy: number; examples: number; confusion: number[][] };
    assert.ok(
      err.some((l) => l === `saved in ${path.join(runDir, 'evaluations.jsonl')}`),
      err.join('\n'),
    );
    const { records, problems } = readEvaluations(runDir);
    assert.deepStrictEqual(problems, []);
    const saved = records.filter((r) => r.kind === 'evaluate');
    assert.strictEqual(saved.length, 1);
    assert.strictEqual(saved[0].checkpoint, 'checkpoints/best');
    assert.strictEqual(saved[0].epoch, 1);
    assert.strictEqual(saved[0].accuracy, printed.accuracy);
    assert.strictEqual(saved[0].examples, printed.examples);
    assert.deepStrictEqual(saved[0].confusion, printed.confusion);
    assert.deepStrictEqual(
      saved[0].perClass.map((c) => c.class),
      saved[0].classNames,
    );
    assert.strictEqual(saved[0].classNames.length, 3);
    // Each example's prediction is saved beside it, and makes the same confusion matrix.
    assert.ok(saved[0].id, 'the evaluation has an id');
    const predictions = readPredictions(runDir, saved[0].id!);
    assert.strictEqual(predictions.examples.length, saved[0].examples);
    assert.deepStrictEqual(predictionsConfusion(predictions), saved[0].confusion);
    for (const e of predictions.examples) {
      assert.ok(fs.existsSync(path.join(dir, e.source)), `${e.source} is relative to the spec's folder`);
      assert.ok(e.probability >= 1 / 3 - 1e-6 && e.probability <= 1, `probability ${e.probability}`);
    }
    assert.strictEqual(cellExamples(predictions, 0, 0).length, saved[0].confusion[0][0]);
    assert.strictEqual(
      records.filter((r) => r.kind === 'validation').length,
      1,
      'and the training saved its validation',
    );
  });
});
