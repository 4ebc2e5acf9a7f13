import * as assert from 'assert';
import { type ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { probeWritable, removeStaleTemps, replaceDirAtomic } from '../../src/runs/atomic';
import { createRun, listRuns, readRunListing, runsDirFor } from '../../src/runs/runFolder';
import {
  acquireRunLock,
  effectiveStatus,
  isHolderAlive,
  LOCK_FILE,
  type LockHolder,
  processStartTime,
  readLockHolder,
  RunLockedError,
} from '../../src/runs/runLock';
import { readRunSplit, SPLIT_JSON, writeRunSplit } from '../../src/runs/runSplit';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-lock-');

/** The pid of a process that has ended. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid as number;

const writeLock = (runDir: string, h: Partial<LockHolder>): void =>
  fs.writeFileSync(
    path.join(runDir, LOCK_FILE),
    JSON.stringify({ host: os.hostname(), since: '2026-01-01T00:00:00.000Z', ...h }),
  );

describe('runs/runLock', () => {
  let sleeper: ChildProcess;
  before(() => {
    sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  });
  after(() => {
    sleeper.kill();
    temp.removeAll();
  });

  it('one writer: a second lock is refused naming the holder; released, it can be taken again', () => {
    const runDir = temp.make();
    const lock = acquireRunLock(runDir);
    const holder = readLockHolder(runDir);
    assert.strictEqual(holder?.pid, process.pid);
    assert.strictEqual(holder?.host, os.hostname());
    if (process.platform === 'linux') assert.match(holder?.startTime ?? '', /^\d+$/);
    assert.throws(
      () => acquireRunLock(runDir),
      (e: unknown) =>
        e instanceof RunLockedError &&
        e.message.includes(`process ${process.pid} (since ${holder?.since})`) &&
        /one writer at a time/.test(e.message),
    );
    lock.release();
    assert.ok(!fs.existsSync(path.join(runDir, LOCK_FILE)));
    acquireRunLock(runDir).release();
  });

  it('another live process holds the lock: refused', () => {
    const runDir = temp.make();
    writeLock(runDir, { pid: sleeper.pid, startTime: processStartTime(sleeper.pid as number) });
    assert.throws(() => acquireRunLock(runDir), new RegExp(`process ${sleeper.pid} \\(since 2026-01-01`));
  });

  it('takes over a stale lock: a dead holder, or a pid now used by another process', () => {
    const dead = temp.make();
    writeLock(dead, { pid: deadPid() });
    assert.strictEqual(isHolderAlive(readLockHolder(dead) as LockHolder), false);
    const lock = acquireRunLock(dead);
    assert.strictEqual(readLockHolder(dead)?.pid, process.pid);
    lock.release();

    if (process.platform === 'linux') {
      const reused = temp.make();
      writeLock(reused, { pid: sleeper.pid, startTime: '1' }); // the pid's process started at another time
      assert.strictEqual(isHolderAlive(readLockHolder(reused) as LockHolder), false);
      acquireRunLock(reused).release();
    }
    const garbage = temp.make();
    fs.writeFileSync(path.join(garbage, LOCK_FILE), 'not json');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(garbage, LOCK_FILE), old, old);
    acquireRunLock(garbage).release();
  });

  it('release leaves a lock that is no longer ours', () => {
    const runDir = temp.make();
    const lock = acquireRunLock(runDir);
    writeLock(runDir, { pid: sleeper.pid });
    lock.release();
    assert.strictEqual(readLockHolder(runDir)?.pid, sleeper.pid);
  });

  it('a running run whose writer died reads interrupted; its run.json is left as written', () => {
    const base = temp.make();
    const alive = createRun({ baseFolder: base, specName: 's', specText: '{}', epochs: 2, pid: process.pid });
    const gone = createRun({ baseFolder: base, specName: 's', specText: '{}', epochs: 2, pid: deadPid() });
    const locked = createRun({ baseFolder: base, specName: 's', specText: '{}', epochs: 2, pid: process.pid });
    writeLock(locked.runDir, { pid: deadPid() }); // the lock says more than run.json's pid
    const statuses = new Map(listRuns(runsDirFor(base, 's')).map((r) => [r.runDir, r.status]));
    assert.strictEqual(statuses.get(alive.runDir), 'running');
    assert.strictEqual(statuses.get(gone.runDir), 'interrupted');
    assert.strictEqual(statuses.get(locked.runDir), 'interrupted');
    assert.strictEqual(readRunListing(gone.runDir)?.status, 'interrupted');
    assert.strictEqual(JSON.parse(fs.readFileSync(path.join(gone.runDir, 'run.json'), 'utf8')).status, 'running');
    assert.strictEqual(effectiveStatus(gone.runDir, 'cancelled', undefined), 'cancelled');
  });
});

describe('runs/atomic: temporary files of live processes', () => {
  after(() => temp.removeAll());

  it('removes the temporaries of dead processes (and its own leftovers), never those of a live one', async () => {
    const dir = temp.make();
    const target = path.join(dir, 'latest');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const live = `latest.tmp-${sleeper.pid}-abc`;
      const dead = `latest.tmp-${deadPid()}-def`;
      const mine = `latest.tmp-${process.pid}-ghi`;
      for (const n of [live, dead, mine, 'other.tmp-1-x']) fs.mkdirSync(path.join(dir, n));
      await removeStaleTemps(target);
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), [live, 'other.tmp-1-x']);
      await replaceDirAtomic(target, async (tmp) => fs.promises.writeFile(path.join(tmp, 'a'), 'x'));
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['latest', live, 'other.tmp-1-x']);
    } finally {
      sleeper.kill();
    }
  });

  it('the writability probe writes the bytes asked for and leaves nothing behind', async () => {
    const dir = temp.make();
    await probeWritable(dir, 3 * 2 ** 20 + 5);
    assert.deepStrictEqual(fs.readdirSync(dir), []);
    fs.writeFileSync(path.join(dir, 'file'), ''); // a folder that cannot be created
    await assert.rejects(
      probeWritable(path.join(dir, 'file', 'sub'), 10),
      /cannot take a checkpoint of 10 bytes .*free disk space or make the folder writable/,
    );
  });
});

describe('runs/runSplit', () => {
  after(() => temp.removeAll());

  it('is written once and read back as written; a malformed one is refused, naming the file', () => {
    const runDir = temp.make();
    assert.strictEqual(readRunSplit(runDir), undefined);
    const split = {
      seed: 123,
      drawn: true,
      heldOut: { fraction: 0.25, examples: 8, fingerprint: 'ab', indices: [1, 5] },
    };
    writeRunSplit(runDir, split);
    assert.deepStrictEqual(readRunSplit(runDir), split);
    assert.throws(() => writeRunSplit(runDir, { ...split, seed: 9 }), /written once/);
    assert.strictEqual(readRunSplit(runDir)?.seed, 123);
    fs.writeFileSync(
      path.join(runDir, SPLIT_JSON),
      JSON.stringify({ ...split, heldOut: { ...split.heldOut, indices: [9] } }),
    );
    assert.throws(() => readRunSplit(runDir), /split\.json is malformed/);
  });
});
