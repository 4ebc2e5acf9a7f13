import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { SavedPredictions } from '../../src/protocol/evaluation';
import {
  cellExamples,
  checkPredictions,
  exampleImageFile,
  exampleSource,
  isEvaluationId,
  newEvaluationId,
  predictionsConfusion,
  readPredictions,
  sourcePath,
  writePredictions,
} from '../../src/runs/predictions';

const root = path.join(os.tmpdir(), 'data-root');

const sample = (): SavedPredictions => ({
  version: 1,
  evaluation: '20261201-023000-123-test',
  split: 'test',
  dataRoot: root,
  classNames: ['a', 'b'],
  examples: [
    { index: 0, source: 'test/a/1.png', true: 0, predicted: 0, probability: 0.6 },
    { index: 1, source: 'test/a/2.png', true: 0, predicted: 1, probability: 0.7 },
    { index: 2, source: 'test/b/3.png', true: 1, predicted: 1, probability: 0.9 },
    { index: 3, source: 'test/b/4.png', true: 1, predicted: 1, probability: 0.95 },
  ],
});

describe('runs: predictions of an evaluate', () => {
  it('records an image file relative to the data root and an IDX/CIFAR record with its number', () => {
    assert.deepStrictEqual(exampleSource(path.join(root, 'test', 'cat', 'x.png'), root), { source: 'test/cat/x.png' });
    assert.deepStrictEqual(exampleSource(`${path.join(root, 'mnist', 't10k-images-idx3-ubyte')} [image 17]`, root), {
      source: 'mnist/t10k-images-idx3-ubyte',
      record: 17,
    });
    assert.deepStrictEqual(exampleSource(`${path.join(root, 'cifar', 'test_batch.bin')} [record 3]`, root), {
      source: 'cifar/test_batch.bin',
      record: 3,
    });
    const outside = path.join(os.tmpdir(), 'elsewhere', 'y.png');
    assert.deepStrictEqual(exampleSource(outside, root), { source: outside });
    assert.strictEqual(sourcePath({ dataRoot: root }, { source: 'test/cat/x.png' }), path.join(root, 'test/cat/x.png'));
    assert.strictEqual(sourcePath({ dataRoot: root }, { source: outside }), outside);
  });

  it('names evaluations with ids that cannot leave the predictions folder', () => {
    const id = newEvaluationId('test', new Date('2026-12-01T02:30:00.123Z'));
    assert.strictEqual(id, '20261201-023000-123-test');
    assert.ok(isEvaluationId(id));
    for (const bad of ['../x', 'a/b', '', '.hidden', 'a..b']) assert.ok(!isEvaluationId(bad), bad);
    assert.throws(() => exampleImageFile('/run', '../../etc', 1), /not an evaluation id/);
  });

  it('gives the examples of one confusion cell, most confident first, and the matrix they make', () => {
    const p = sample();
    assert.deepStrictEqual(
      cellExamples(p, 1, 1).map((e) => e.index),
      [3, 2],
    );
    assert.deepStrictEqual(
      cellExamples(p, 0, 1).map((e) => e.index),
      [1],
    );
    assert.deepStrictEqual(cellExamples(p, 1, 0), []);
    assert.deepStrictEqual(predictionsConfusion(p), [
      [1, 1],
      [0, 2],
    ]);
  });

  it('writes and reads them back, and names what is wrong in a malformed file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-predictions-'));
    try {
      const p = sample();
      const file = writePredictions(dir, p);
      assert.strictEqual(file, path.join(dir, 'predictions', `${p.evaluation}.json`));
      assert.deepStrictEqual(readPredictions(dir, p.evaluation), p);
      assert.throws(() => readPredictions(dir, '20261201-000000-000-test'), /is missing.*evaluate the run again/);
      const bad = (patch: (v: Record<string, unknown>) => void, re: RegExp) => {
        const v = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
        patch(v);
        assert.throws(() => checkPredictions('p.json', v), re);
      };
      bad((v) => ((v.examples as Record<string, unknown>[])[0].predicted = 2), /predicted/);
      bad((v) => ((v.examples as Record<string, unknown>[])[1].probability = 1.5), /probability/);
      bad((v) => (v.version = 2), /version/);
      bad((v) => (v.split = 'train'), /split/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
