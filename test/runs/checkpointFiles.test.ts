import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { RunStatus } from '../../src/protocol/engine';
import {
  bestOrLatestCheckpoint,
  checkpointDir,
  checkpointsDir,
  isResumable,
  locateCheckpoint,
  readTrainingState,
  runsWithCheckpoints,
  TRAINING_STATE_JSON,
} from '../../src/runs/checkpointFiles';
import { createRun, finishRun } from '../../src/runs/runFolder';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-checkpointfiles-');

/** A checkpoint folder as the engine leaves it (the files' content does not matter here). */
function fakeCheckpoint(dir: string, epoch = 1): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.json'), '{}');
  const state = {
    epoch,
    step: epoch * 10,
    bestMetric: null,
    bestEpoch: null,
    rngState: null,
    time: '2026-01-01T00:00:00Z',
  };
  fs.writeFileSync(path.join(dir, TRAINING_STATE_JSON), JSON.stringify(state));
}

function newRun(base: string, specName: string, startedAt: number): string {
  return createRun({ baseFolder: base, specName, specText: '{}', epochs: 3, now: new Date(startedAt) }).runDir;
}

describe('runs/checkpointFiles', () => {
  after(() => temp.removeAll());

  it('isResumable: a run neither running nor completed, with a checkpoints folder', () => {
    const runDir = temp.make();
    const all: RunStatus[] = ['running', 'completed', 'stopped', 'cancelled', 'failed', 'early-stopped', 'interrupted'];
    for (const status of all) assert.strictEqual(isResumable({ status, runDir }), false, `${status}, no checkpoints`);
    fs.mkdirSync(checkpointsDir(runDir));
    assert.deepStrictEqual(
      all.filter((status) => isResumable({ status, runDir })),
      ['stopped', 'cancelled', 'failed', 'early-stopped', 'interrupted'],
    );
  });

  it('finds the best checkpoint of a run, else the latest, with the .old fallback', () => {
    const runDir = temp.make();
    assert.strictEqual(bestOrLatestCheckpoint(runDir), undefined);
    fakeCheckpoint(checkpointDir(runDir, 'latest') + '.old');
    assert.strictEqual(bestOrLatestCheckpoint(runDir), checkpointDir(runDir, 'latest') + '.old');
    fakeCheckpoint(checkpointDir(runDir, 'latest'));
    assert.strictEqual(bestOrLatestCheckpoint(runDir), checkpointDir(runDir, 'latest'));
    fakeCheckpoint(checkpointDir(runDir, 'best'), 2);
    assert.strictEqual(bestOrLatestCheckpoint(runDir), checkpointDir(runDir, 'best'));
    assert.strictEqual(readTrainingState(checkpointDir(runDir, 'best'))?.epoch, 2);
  });

  it('locates a checkpoint from a run folder, a checkpoint folder or a model.json', () => {
    const base = temp.make();
    const runDir = newRun(base, 'spec', Date.UTC(2026, 0, 1));
    assert.throws(() => locateCheckpoint(runDir), /has no checkpoint yet/);
    const latest = checkpointDir(runDir, 'latest');
    fakeCheckpoint(latest);
    assert.deepStrictEqual(locateCheckpoint(runDir), { modelPath: latest, runDir });
    assert.deepStrictEqual(locateCheckpoint(latest), { modelPath: latest, runDir });
    const modelJson = path.join(latest, 'model.json');
    assert.deepStrictEqual(locateCheckpoint(modelJson), { modelPath: modelJson, runDir });
    // After a crash in the middle of replacing `best`, only best.old is complete.
    fakeCheckpoint(checkpointDir(runDir, 'best') + '.old');
    assert.deepStrictEqual(locateCheckpoint(runDir), { modelPath: checkpointDir(runDir, 'best') + '.old', runDir });
    assert.throws(() => locateCheckpoint(path.join(base, 'nowhere')), /No checkpoint at .*nowhere/);
  });

  it('lists the runs with a checkpoint across specs and base folders, newest first', () => {
    const [a, b] = [temp.make(), temp.make()];
    const t0 = Date.UTC(2026, 0, 1);
    const old = newRun(a, 'one', t0);
    const none = newRun(a, 'one', t0 + 1000);
    const other = newRun(a, 'two', t0 + 2000);
    const elsewhere = newRun(b, 'one', t0 + 3000);
    fakeCheckpoint(checkpointDir(old, 'latest'));
    fakeCheckpoint(checkpointDir(other, 'best'));
    fakeCheckpoint(checkpointDir(elsewhere, 'latest'));
    finishRun(old, 'stopped');
    fs.writeFileSync(path.join(path.dirname(path.dirname(old)), 'stray-file'), '');
    assert.deepStrictEqual(
      runsWithCheckpoints([a, b, temp.make()]).map((r) => r.runDir),
      [elsewhere, other, old],
    );
    assert.ok(!runsWithCheckpoints([a]).some((r) => r.runDir === none));
    assert.strictEqual(runsWithCheckpoints([a]).find((r) => r.runDir === old)?.status, 'stopped');
  });
});
