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
  readRunInfoChecked,
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

  describe('hostile run.json files', () => {
    /** A run folder of spec `spec` whose run.json is `content` (JSON text). */
    function hostileRun(base: string, name: string, content: string): string {
      const dir = path.join(runsDirFor(base, 'spec'), name);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'run.json'), content);
      return dir;
    }

    it('lists every run whose run.json is an object, with wrong fields replaced and named', () => {
      const base = tmpDir();
      const good = createRun({ baseFolder: base, specName: 'spec', specText: '{}', epochs: 3, now: new Date(0) });
      const numeric = hostileRun(
        base,
        'numeric-status',
        JSON.stringify({ runId: 'n', specName: 'spec', status: 5, startedAt: '2026-01-02', updatedAt: '', epochs: 2 }),
      );
      const noId = hostileRun(
        base,
        'no-id',
        JSON.stringify({ specName: 'spec', status: 'failed', startedAt: '2026-01-01', updatedAt: '', epochs: 2 }),
      );
      const html = '<img src=x onerror=alert(1)>';
      const htmlName = hostileRun(
        base,
        'html',
        JSON.stringify({
          runId: html,
          specName: html,
          status: 'completed',
          startedAt: { $gt: 1 },
          updatedAt: 3,
          epochs: '3',
          bestValAccuracy: 'high',
          pid: -1,
          backend: ['cpu'],
        }),
      );
      hostileRun(base, 'array', '[1, 2]');
      hostileRun(base, 'null', 'null');
      hostileRun(base, 'not-json', '{"runId": ');
      const runs = listRuns(runsDirFor(base, 'spec'));
      assert.deepStrictEqual(runs.map((r) => r.runDir).sort(), [good.runDir, numeric, noId, htmlName].sort());
      const byDir = (d: string) => runs.find((r) => r.runDir === d)!;
      assert.strictEqual(byDir(numeric).status, 'unknown');
      assert.match(byDir(numeric).problems!.join(), /"status" must be one of running, completed.*found number 5/);
      assert.strictEqual(byDir(noId).runId, 'no-id');
      assert.strictEqual(byDir(noId).status, 'failed');
      const h = byDir(htmlName);
      assert.strictEqual(h.runId, html, 'a string is kept as it is (the dashboard renders it as text)');
      assert.strictEqual(h.startedAt, '');
      assert.strictEqual(h.updatedAt, '');
      assert.strictEqual(h.epochs, 0);
      assert.strictEqual(h.bestValAccuracy, undefined);
      assert.strictEqual(h.pid, undefined);
      assert.strictEqual(h.backend, undefined);
      assert.strictEqual(h.problems?.length, 6);
      assert.strictEqual(byDir(good.runDir).problems, undefined);
    });

    it('readRunInfo refuses a malformed run.json; updateRunInfo names the field', () => {
      const dir = hostileRun(
        tmpDir(),
        'r',
        JSON.stringify({
          runId: 'r',
          specName: 'spec',
          status: 'running',
          startedAt: '',
          updatedAt: '',
          epochs: 'ten',
        }),
      );
      assert.strictEqual(readRunInfo(dir), undefined);
      assert.throws(
        () => readRunInfoChecked(dir),
        /run\.json: "epochs" must be a whole number ≥ 0, found the string "ten"/,
      );
      assert.throws(() => updateRunInfo(dir, { status: 'failed' }), /"epochs" must be a whole number/);
      const extra = hostileRun(
        tmpDir(),
        'x',
        JSON.stringify({
          runId: 'x',
          specName: 'spec',
          status: 'running',
          startedAt: '',
          updatedAt: '',
          epochs: 1,
          seed: 42,
        }),
      );
      assert.strictEqual(
        (readRunInfo(extra) as unknown as { seed: number }).seed,
        42,
        'fields of later versions are kept',
      );
    });
  });
});
