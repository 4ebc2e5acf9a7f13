import * as assert from 'assert';
import { type ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ENGINE_FILE,
  liveEngineOf,
  liveRunsIn,
  MAX_SOCKET_PATH_BYTES,
  newSocketPath,
  readEngineRecord,
  removeEngineRecord,
  specRunsFolders,
  writeEngineRecord,
} from '../../src/runs/runEngine';
import { createRun, finishRun, runsDirFor } from '../../src/runs/runFolder';
import { LOCK_FILE, processStartTime } from '../../src/runs/runLock';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-runengine-');
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid as number;

/** A `running` run whose writer.lock and engine.json name `pid` (engine.json's pid may differ: `enginePid`). */
function liveRun(base: string, spec: string, pid: number, enginePid = pid): string {
  const { runDir } = createRun({ baseFolder: base, specName: spec, specText: '{}', epochs: 2 });
  const startTime = processStartTime(pid);
  fs.writeFileSync(
    path.join(runDir, LOCK_FILE),
    JSON.stringify({ pid, host: os.hostname(), since: new Date().toISOString(), ...(startTime ? { startTime } : {}) }),
  );
  writeEngineRecord(runDir, { pid: enginePid, socket: newSocketPath(), host: os.hostname(), since: 'now' });
  return runDir;
}

describe('runs/runEngine: where a detached engine listens, and which runs a window reattaches to', () => {
  let sleeper: ChildProcess;
  before(() => {
    sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  });
  after(() => {
    sleeper.kill();
    temp.removeAll();
  });

  it('makes short socket paths: within sun_path under a long temporary folder, a named pipe on Windows', () => {
    const a = newSocketPath('linux', '/tmp');
    assert.match(a, /^\/tmp\/dnl-[0-9a-f]{12}\.sock$/);
    assert.notStrictEqual(a, newSocketPath('linux', '/tmp'), 'fresh each time');
    const long = '/var/folders/' + 'x'.repeat(120);
    const b = newSocketPath('darwin', long);
    assert.ok(Buffer.byteLength(b) <= MAX_SOCKET_PATH_BYTES, b);
    assert.match(b, /^\/tmp\/dnl-[0-9a-f]{12}\.sock$/);
    assert.match(newSocketPath('win32'), /^\\\\\.\\pipe\\dnl-[0-9a-f]{12}$/);
  });

  it('reads back the engine record it wrote, and refuses records that are not one', () => {
    const runDir = temp.make();
    assert.strictEqual(readEngineRecord(runDir), undefined);
    const record = { pid: 42, socket: '/tmp/dnl-x.sock', log: '/x/engine.log', host: 'h', since: 's' };
    writeEngineRecord(runDir, record);
    assert.deepStrictEqual(readEngineRecord(runDir), record);
    for (const bad of [
      '[]',
      '{"pid":"42","socket":"s","host":"h","since":"s"}',
      '{"pid":42,"host":"h","since":"s"}',
      'x',
    ]) {
      fs.writeFileSync(path.join(runDir, ENGINE_FILE), bad);
      assert.strictEqual(readEngineRecord(runDir), undefined, bad);
    }
    writeEngineRecord(runDir, { ...record, pid: process.pid });
    removeEngineRecord(runDir, process.pid + 1);
    assert.ok(fs.existsSync(path.join(runDir, ENGINE_FILE)), "another process's record is left alone");
    removeEngineRecord(runDir, process.pid);
    assert.ok(!fs.existsSync(path.join(runDir, ENGINE_FILE)));
  });

  it('finds the running runs whose writer is alive and is the engine named by engine.json, newest first', () => {
    const base = temp.make();
    const live = liveRun(base, 'one', sleeper.pid!);
    const dead = liveRun(base, 'one', deadPid());
    const otherWriter = liveRun(base, 'two', sleeper.pid!, process.pid);
    const stopped = liveRun(base, 'two', sleeper.pid!);
    finishRun(stopped, 'stopped');
    const noRecord = liveRun(base, 'two', sleeper.pid!);
    fs.rmSync(path.join(noRecord, ENGINE_FILE));
    const folders = specRunsFolders([base, temp.make()]);
    assert.deepStrictEqual(folders.sort(), [runsDirFor(base, 'one'), runsDirFor(base, 'two')]);
    assert.deepStrictEqual(
      liveRunsIn(folders).map((l) => l.run.runDir),
      [live],
    );
    assert.strictEqual(liveEngineOf({ runDir: stopped, status: 'stopped' }), undefined);
    for (const runDir of [dead, otherWriter, noRecord])
      assert.strictEqual(liveEngineOf({ runDir, status: 'running' }), undefined, runDir);
    assert.strictEqual(liveEngineOf({ runDir: live, status: 'running' })?.pid, sleeper.pid);
  });
});
