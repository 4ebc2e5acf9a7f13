import * as assert from 'assert';
import { type ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { halvesSpec, writeHalves } from '../support/halvesDataset';
import type { RunEngineEvents, RunLaunch, TrainingEnded } from '../../src/protocol/engine';
import { connectRun, type RunClient } from '../../src/runs/runClient';
import { ENGINE_FILE, ENGINE_LOG, liveRunsIn, newSocketPath, readEngineRecord } from '../../src/runs/runEngine';
import { readRunInfo, readRunListing } from '../../src/runs/runFolder';
import { readLockHolder } from '../../src/runs/runLock';

// The detached training engine as the editor starts it (dist/engine.js --run <launch file>, its own process
// group, output to a log file), reached over its socket; and `densenet-lab stop` on it and on a CLI training.
const root = path.resolve(__dirname, '../../..');
const enginePath = path.join(root, 'dist', 'engine.js');
const cliPath = path.join(root, 'dist', 'cli.js');

const waitFor = async <T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);

/** The events a client receives, by name. */
function record(client: RunClient) {
  const seen: { [K in keyof RunEngineEvents]?: RunEngineEvents[K][] } = {};
  for (const name of ['training/started', 'training/batch', 'training/ended'] as const)
    client.endpoint.on(name, (p) => ((seen[name] ??= [] as never[]) as unknown[]).push(p));
  return seen;
}

describe('detached training engine: socket, reattach, stop', function () {
  this.timeout(240_000);
  let dir: string;
  let specPath: string;
  const children: ChildProcess[] = [];

  before(async function () {
    if (!fs.existsSync(enginePath) || !fs.existsSync(cliPath))
      execFileSync(process.execPath, [path.join(root, 'esbuild.mjs')], { cwd: root });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-detached-'));
    await writeHalves(dir);
    specPath = path.join(dir, 'halves.densenet.json');
    fs.writeFileSync(specPath, halvesSpec(500, 2));
  });
  after(() => {
    for (const c of children) if (c.pid && alive(c.pid)) process.kill(c.pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts an engine the way the editor does; its socket and pre-run log. */
  function startEngine(): { child: ChildProcess; socket: string; log: string } {
    const socket = newSocketPath();
    const log = path.join(dir, '.densenet', 'runs', 'halves', `.engine-test-${children.length}.log`);
    fs.mkdirSync(path.dirname(log), { recursive: true });
    const launch: RunLaunch = {
      config: { backend: 'wasm', nativeSearchPaths: [], wasmDir: path.join(root, 'dist') },
      request: { specPath, specText: halvesSpec(500, 2), workspaceDir: dir, threads: 1 },
      socket,
      log,
    };
    const launchFile = path.join(dir, `launch-${children.length}.json`);
    fs.writeFileSync(launchFile, JSON.stringify(launch));
    const fd = fs.openSync(log, 'a');
    const child = spawn(process.execPath, [enginePath, '--run', launchFile], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    child.unref();
    children.push(child);
    return { child, socket, log };
  }

  it('trains with or without a client, takes several clients, and stops over its socket with `densenet-lab stop`', async () => {
    const { child, socket } = startEngine();
    const first = await connectRun(socket, { timeoutMs: 20_000 });
    const seen = record(first);
    await first.endpoint.request('attach', null);
    const started = await waitFor('training/started', () => seen['training/started']?.[0]);
    await waitFor('a batch', () => seen['training/batch']?.[0]);
    const runDir = started.runDir;
    assert.strictEqual(readEngineRecord(runDir)?.pid, child.pid, 'engine.json names the engine');
    assert.strictEqual(readEngineRecord(runDir)?.socket, socket);
    assert.strictEqual(readLockHolder(runDir)?.pid, child.pid, 'the engine is the run writer');
    assert.ok(fs.existsSync(path.join(runDir, ENGINE_LOG)), 'the log moved into the run folder');
    assert.ok(Buffer.byteLength(socket) <= 107, socket);

    // No client: it goes on writing the run.
    first.close();
    await first.closed;
    const metrics = path.join(runDir, 'metrics.jsonl');
    const before = size(metrics);
    await waitFor('metrics.jsonl to grow without a client', () => (size(metrics) > before ? true : undefined));
    assert.ok(alive(child.pid!));

    // Found again as a window finds it, and two clients at once.
    const live = liveRunsIn([path.dirname(runDir)]);
    assert.deepStrictEqual(
      live.map((l) => l.run.runDir),
      [runDir],
    );
    const second = await connectRun(live[0].engine.socket);
    const third = await connectRun(live[0].engine.socket);
    const seen2 = record(second);
    const state = await second.endpoint.request('attach', null);
    assert.strictEqual(state.started?.runDir, runDir);
    assert.ok(state.lastBatch && state.lastBatch.globalStep > 0, 'attach tells the last batch');
    assert.ok(!state.stopping && !state.ended);
    third.close();
    const afterAttach = state.lastBatch.globalStep;
    await waitFor('a live batch after reattaching', () =>
      seen2['training/batch']?.some((b) => b.globalStep > afterAttach) ? true : undefined,
    );

    const out = execFileSync(process.execPath, [cliPath, 'stop', runDir], { encoding: 'utf8' });
    assert.match(out, /^Stopped at epoch \d+, batch \d+\/9; checkpoint saved; run /);
    const ended = await waitFor<TrainingEnded>('training/ended', () => seen2['training/ended']?.[0]);
    assert.strictEqual(ended.finished?.status, 'stopped');
    const info = readRunInfo(runDir)!;
    assert.strictEqual(info.status, 'stopped');
    assert.deepStrictEqual(info.stoppedAt, ended.finished?.stoppedAt);
    assert.strictEqual(info.stoppedAt?.stepsPerEpoch, 9);
    assert.ok(fs.existsSync(path.join(runDir, 'checkpoints', 'latest', 'model.json')), 'a checkpoint');
    await waitFor('the engine to exit', () => (alive(child.pid!) ? undefined : true));
    assert.ok(!fs.existsSync(path.join(runDir, ENGINE_FILE)), 'engine.json removed');
    if (process.platform !== 'win32') assert.ok(!fs.existsSync(socket), 'the socket file is removed');
    assert.strictEqual(readRunListing(runDir)?.status, 'stopped');
  });

  it('SIGTERM stops a detached engine the same way (a checkpoint, status stopped)', async () => {
    const { child, socket } = startEngine();
    const client = await connectRun(socket, { timeoutMs: 20_000 });
    const seen = record(client);
    await client.endpoint.request('attach', null);
    const started = await waitFor('training/started', () => seen['training/started']?.[0]);
    await waitFor('a batch', () => seen['training/batch']?.[0]);
    process.kill(child.pid!, 'SIGTERM');
    const ended = await waitFor<TrainingEnded>('training/ended', () => seen['training/ended']?.[0]);
    assert.strictEqual(ended.finished?.status, 'stopped');
    assert.strictEqual(readRunInfo(started.runDir)?.status, 'stopped');
    await waitFor('the engine to exit', () => (alive(child.pid!) ? undefined : true));
  });

  it('`densenet-lab stop` stops a `densenet-lab train` (a signal to the writer): stopped, with a checkpoint', async () => {
    const train = spawn(
      process.execPath,
      [cliPath, 'train', specPath, '--backend', 'wasm', '--threads', '1', '--workspace', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(train);
    let output = '';
    train.stdout.on('data', (d: Buffer) => (output += d.toString()));
    train.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => train.on('close', resolve));
    const runDir = await waitFor('the run folder', () => /^run (.+)$/m.exec(output)?.[1].trim());
    await waitFor('a trained batch', () => (size(path.join(runDir, 'metrics.jsonl')) > 0 ? true : undefined));
    assert.strictEqual(readEngineRecord(runDir), undefined, 'a CLI training has no socket');
    const out = execFileSync(process.execPath, [cliPath, 'stop', runDir, '--json'], { encoding: 'utf8' });
    const result = JSON.parse(out);
    assert.strictEqual(result.status, 'stopped');
    assert.ok(result.stoppedAt.step >= 1 && result.stoppedAt.step <= 9, out);
    assert.strictEqual(await exited, 130, output);
    assert.ok(fs.existsSync(path.join(runDir, 'checkpoints', 'latest', 'model.json')), 'a checkpoint');

    // `densenet-lab runs` lists it as stopped, with the fraction of the epoch it stopped in.
    const { epoch, step, stepsPerEpoch } = result.stoppedAt;
    const trained = epoch - 1 + step / stepsPerEpoch;
    const listed = execFileSync(process.execPath, [cliPath, 'runs', runDir], { encoding: 'utf8' });
    assert.ok(
      listed.includes(`stopped · ${Number.isInteger(trained) ? trained : trained.toFixed(2)}/500 epochs`),
      listed,
    );

    // A run that is not training is refused, saying its status.
    assert.throws(
      () => execFileSync(process.execPath, [cliPath, 'stop', runDir], { encoding: 'utf8', stdio: 'pipe' }),
      (e: { stderr: string }) => /is not training \(status stopped\)/.test(e.stderr),
    );
  });
});
