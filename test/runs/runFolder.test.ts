import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  createRun,
  finishRun,
  listRuns,
  markRunFailed,
  newRunId,
  readRunInfo,
  runsDirFor,
  updateRunInfo,
} from '../../src/runs/runFolder';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-runfolder-');
const tmpDir = (): string => temp.make();

describe('runs/runFolder', () => {
  after(() => temp.removeAll());

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
