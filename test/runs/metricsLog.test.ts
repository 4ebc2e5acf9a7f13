import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { MetricsWriter, parseMetrics, readMetrics, rewriteMetrics } from '../../src/runs/metricsLog';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-metrics-');
const tmpDir = (): string => temp.make();

describe('runs/metricsLog', () => {
  after(() => temp.removeAll());

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
});
