import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { runSummary } from '../../src/panels/dashboardData';
import {
  createRun,
  describeStop,
  epochsTrained,
  finishRun,
  readRunInfo,
  readRunListing,
  RUN_JSON,
} from '../../src/runs/runFolder';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-stop-');

describe('runs/runFolder: a stopped run says where it stopped', () => {
  after(() => temp.removeAll());

  it('describes the stop and the fractional epochs trained', () => {
    const at = { epoch: 2, step: 118, stepsPerEpoch: 127 };
    assert.strictEqual(describeStop(at, 1), 'Stopped at epoch 2, batch 118/127; checkpoint saved');
    assert.strictEqual(describeStop(undefined, 3), 'Stopped after 3 epoch(s); checkpoint saved');
    assert.strictEqual(epochsTrained({ epochsCompleted: 1, stoppedAt: at })?.toFixed(2), '1.93');
    assert.strictEqual(epochsTrained({ epochsCompleted: 2, stoppedAt: { epoch: 2, step: 5, stepsPerEpoch: 5 } }), 2);
    assert.strictEqual(epochsTrained({ epochsCompleted: 4 }), 4);
    assert.strictEqual(epochsTrained({}), undefined);
  });

  it('keeps stoppedAt in run.json; the dashboard lists the run as stopped 1.93/2', () => {
    const { runDir } = createRun({ baseFolder: temp.make(), specName: 's', specText: '{}', epochs: 2 });
    finishRun(runDir, 'stopped', { epochsCompleted: 1, stoppedAt: { epoch: 2, step: 118, stepsPerEpoch: 127 } });
    assert.deepStrictEqual(readRunInfo(runDir)?.stoppedAt, { epoch: 2, step: 118, stepsPerEpoch: 127 });
    const summary = runSummary(readRunListing(runDir)!);
    assert.strictEqual(summary.status, 'stopped');
    assert.strictEqual(summary.epochsTrained?.toFixed(2), '1.93');
    assert.strictEqual(summary.resumable, false, 'no checkpoint folder here');
  });

  it('a run.json of an older version (cancelled, no stoppedAt) is still read; a bad stoppedAt is named and dropped', () => {
    const { runDir } = createRun({ baseFolder: temp.make(), specName: 's', specText: '{}', epochs: 3 });
    const file = path.join(runDir, RUN_JSON);
    const info = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...info, status: 'cancelled', epochsCompleted: 1 }));
    const old = readRunListing(runDir)!;
    assert.strictEqual(old.status, 'cancelled');
    assert.strictEqual(runSummary(old).epochsTrained, 1);
    fs.writeFileSync(
      file,
      JSON.stringify({ ...info, status: 'stopped', stoppedAt: { epoch: 1, step: 9, stepsPerEpoch: 5 } }),
    );
    const bad = readRunListing(runDir)!;
    assert.strictEqual(bad.stoppedAt, undefined);
    assert.match(
      bad.problems?.join('\n') ?? '',
      /stoppedAt\.step" must be at most stepsPerEpoch \(5\), found number 9/,
    );
  });
});
