import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { historyFromRecords, readHistory, runSummary } from '../../src/panels/dashboardData';
import type { MetricRecord } from '../../src/runs/metricsLog';
import { listRuns, runsDirFor } from '../../src/runs/runFolder';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-dashboarddata-');

describe('panels/dashboardData', () => {
  after(() => temp.removeAll());

  it('summarises hostile run.json files with strings and numbers only', () => {
    const base = temp.make();
    const write = (name: string, info: unknown) => {
      const dir = path.join(runsDirFor(base, 'spec'), name);
      fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(info));
      return dir;
    };
    const numeric = write('numeric', {
      runId: 'a',
      specName: 'spec',
      status: 7,
      startedAt: '2026-01-01',
      updatedAt: '',
      epochs: 3,
    });
    const missing = write('missing', {
      specName: 'spec',
      status: 'cancelled',
      startedAt: '2026-01-02',
      updatedAt: '',
      epochs: 3,
      epochsCompleted: 1,
    });
    const html = write('html', {
      runId: '<b>x</b>',
      specName: 'spec',
      status: '<script>',
      startedAt: null,
      epochs: null,
      bestValAccuracy: {},
    });
    const summaries = listRuns(runsDirFor(base, 'spec')).map(runSummary);
    const by = (d: string) => summaries.find((s) => s.runDir === d)!;
    assert.deepStrictEqual(
      { status: by(numeric).status, resumable: by(numeric).resumable },
      { status: 'unknown', resumable: false },
    );
    assert.match(by(numeric).problems!.join(), /"status" must be one of/);
    assert.deepStrictEqual(
      { runId: by(missing).runId, resumable: by(missing).resumable, epochsCompleted: by(missing).epochsCompleted },
      { runId: 'missing', resumable: true, epochsCompleted: 1 },
    );
    const h = by(html);
    assert.strictEqual(h.runId, '<b>x</b>');
    assert.strictEqual(h.status, 'unknown');
    assert.strictEqual(h.startedAt, '');
    assert.strictEqual(h.epochs, 0);
    assert.ok(!('bestValAccuracy' in h));
    for (const s of summaries) {
      for (const [k, v] of Object.entries(s))
        assert.ok(['string', 'number', 'boolean'].includes(typeof v) || k === 'problems', `${k}: ${typeof v}`);
      assert.strictEqual(typeof s.startedAt.localeCompare, 'function');
    }
  });

  it('drops metrics records whose epoch or step is not a number', () => {
    const records = [
      { kind: 'batch', epoch: 1, step: 1, time: 0, loss: 1, acc: 0.5 },
      { kind: 'batch', epoch: '1', step: 2, time: 0, loss: 1, acc: 0.5 },
      { kind: 'batch', epoch: 1, step: null, time: 0, loss: 1, acc: 0.5 },
      { kind: 'epoch', epoch: 1, step: 3, time: 0, loss: 'low', acc: 0.5, val_acc: '<b>', lr: 0.1 },
    ] as unknown as MetricRecord[];
    const points = historyFromRecords(records);
    assert.deepStrictEqual(
      points.map((p) => [p.kind, p.step]),
      [
        ['batch', 1],
        ['epoch', 3],
      ],
    );
    assert.ok(Number.isNaN(points[1].loss));
    assert.strictEqual(points[1].valAcc, undefined);
    assert.strictEqual(points[1].lr, 0.1);
    const dir = temp.make();
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{"kind":"batch","epoch":1,"step":1,"loss":1}\n"x"\n[1]\n');
    assert.strictEqual(readHistory(dir).length, 1);
  });
});
