/**
 * Fault tests on the built CLI (dist/cli.js), bounded in time: the training process killed (SIGKILL) at seeded
 * random moments, two writers on one run at once, and a disk that fills up (through the run store's test hook
 * DENSENET_TEST_FAIL_DIR_WRITES_AFTER, src/runs/atomic.ts). Each prints its figures: tried / handled / lost.
 */
import * as assert from 'assert';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { evaluateCommand } from '../../src/engine/cli';
import { checkpointDir, isResumable, readTrainingState, resolveCheckpointDir } from '../../src/runs/checkpointFiles';
import { readMetrics } from '../../src/runs/metricsLog';
import { listRuns, readRunInfo, readRunListing, runsDirFor } from '../../src/runs/runFolder';
import { barsSpec, makeDataset } from '../support/barsDataset';

const root = path.resolve(__dirname, '../../..');
const cli = path.join(root, 'dist', 'cli.js');

// More epochs than any kill window reaches on a fast machine: every run of the kill test is killed, not
// finished; the other tests bound their runs with --epochs.
const spec = (name: string) => JSON.stringify(barsSpec(name, { training: { epochs: 10000, batchSize: 4 } }));

/** mulberry32: the kill moments are random but the same on every run of the test. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Training {
  child: ChildProcess;
  output: () => string;
  /** Resolves when the output matches `re`; rejects if the process ends first. */
  waitFor(re: RegExp): Promise<void>;
  exit: Promise<number | null>;
}

function startTraining(dir: string, args: string[], env: Record<string, string> = {}): Training {
  const child = spawn(process.execPath, [cli, 'train', ...args, '--backend', 'cpu', '--threads', '1', '--json'], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters: { re: RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.splice(0))
      if (w.re.test(text)) w.resolve();
      else waiters.push(w);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  void exit.then(() => {
    for (const w of waiters.splice(0)) w.reject(new Error(`the training ended before ${w.re}:\n${text}`));
  });
  return {
    child,
    output: () => text,
    exit,
    waitFor: (re) =>
      re.test(text) ? Promise.resolve() : new Promise((resolve, reject) => waiters.push({ re, resolve, reject })),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Evaluates a checkpoint folder with the CLI's evaluate; the number of validation examples scored. */
async function evaluateCheckpoint(dir: string): Promise<number> {
  const out: string[] = [];
  const code = await evaluateCommand(
    [dir, '--backend', 'cpu', '--threads', '1', '--json'],
    (s) => out.push(s),
    () => undefined,
  );
  assert.strictEqual(code, 0);
  return (JSON.parse(out[0]) as { examples: number }).examples;
}

/** The epochs of metrics.jsonl's epoch records, in file order. */
const loggedEpochs = (runDir: string): number[] =>
  readMetrics(path.join(runDir, 'metrics.jsonl'))
    .filter((m) => m.kind === 'epoch')
    .map((m) => m.epoch);

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('fault tests: kills, two writers, a full disk (built CLI)', function () {
  this.timeout(180_000);
  let dir: string;
  let runDir: string;
  before(async function () {
    if (!fs.existsSync(cli)) execFileSync(process.execPath, [path.join(root, 'esbuild.mjs')], { cwd: root });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-faults-'));
    await makeDataset(dir, 8); // 18 training and 6 validation images: 5 steps of 4 an epoch
    for (const name of ['killed', 'disk']) fs.writeFileSync(path.join(dir, `${name}.densenet.json`), spec(name));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('SIGKILL at random moments: every checkpoint loads, the run reads interrupted, resume continues', async () => {
    const random = seeded(10);
    const kills = 6;
    let handled = 0;
    let checkpointsTried = 0;
    let checkpointsLoaded = 0;
    let lastEpoch = 0;
    let duringCheckpointWrite = 0;
    for (let i = 0; i < kills; i++) {
      const t = startTraining(dir, i === 0 ? ['killed.densenet.json'] : ['killed.densenet.json', '--resume', runDir]);
      // The first run is killed after its first checkpoint (before it, there is nothing to resume from).
      await t.waitFor(i === 0 ? /"epoch":1,/ : /^run /m);
      runDir ??= /^run (.+)$/m.exec(t.output())![1];
      await sleep(random() * 1500);
      t.child.kill('SIGKILL');
      assert.strictEqual(await t.exit, null, 'killed, not finished');
      // A kill while a checkpoint was replaced leaves a temporary or `.old` folder beside it.
      if (fs.readdirSync(path.join(runDir, 'checkpoints')).some((n) => n.includes('.tmp-') || n.endsWith('.old')))
        duringCheckpointWrite++;
      const listing = readRunListing(runDir)!;
      assert.strictEqual(listing.status, 'interrupted', `kill ${i + 1}`);
      assert.ok(isResumable(listing));
      if (i === 0) {
        const cliRuns = (args: string[]) =>
          spawnSync(process.execPath, [cli, 'runs', ...args], { encoding: 'utf8' }).stdout.trim();
        assert.match(cliRuns([runDir]), /^killed\/\S+ {2}interrupted · \d+\/10000 epochs .*train --resume continues/);
        const [json] = JSON.parse(cliRuns([dir, '--json'])) as { status: string; resumable: boolean }[];
        assert.deepStrictEqual([json.status, json.resumable], ['interrupted', true]);
      }
      for (const kind of ['latest', 'best'] as const) {
        if (!resolveCheckpointDir(checkpointDir(runDir, kind))) continue;
        checkpointsTried++;
        assert.strictEqual(await evaluateCheckpoint(checkpointDir(runDir, kind)), 6);
        checkpointsLoaded++;
      }
      const epoch = readTrainingState(checkpointDir(runDir, 'latest'))!.epoch;
      assert.ok(epoch >= lastEpoch, `the latest checkpoint never goes back (${lastEpoch} -> ${epoch})`);
      lastEpoch = epoch;
      handled++;
    }
    const last = startTraining(dir, ['killed.densenet.json', '--resume', runDir, '--epochs', String(lastEpoch + 1)]);
    assert.strictEqual(await last.exit, 0, last.output());
    assert.match(last.output(), new RegExp(`Resuming .* at epoch ${lastEpoch + 1}`));
    assert.strictEqual(readRunListing(runDir)?.status, 'completed');
    const logged = loggedEpochs(runDir);
    const lost = range(lastEpoch + 1).filter((e) => !logged.includes(e)).length;
    assert.deepStrictEqual(logged, range(lastEpoch + 1), 'metrics.jsonl has every epoch once');
    console.log(
      `      kills: tried ${kills} (${duringCheckpointWrite} during a checkpoint write), handled ${handled} (interrupted, resumable), lost ${lost} epochs; checkpoints: ${checkpointsTried} tried, ${checkpointsLoaded} loaded`,
    );
  });

  it('two writers at once: one is refused naming the other, no metric lost', async () => {
    const done = readRunInfo(runDir)!.epochsCompleted!;
    const target = String(done + 5);
    const a = startTraining(dir, ['killed.densenet.json', '--resume', runDir, '--epochs', target]);
    const b = startTraining(dir, ['killed.densenet.json', '--resume', runDir, '--epochs', target]);
    const codes = await Promise.all([a.exit, b.exit]);
    assert.deepStrictEqual([...codes].sort(), [0, 1], `${a.output()}\n----\n${b.output()}`);
    const [winner, loser] = codes[0] === 0 ? [a, b] : [b, a];
    assert.match(loser.output(), new RegExp(`being trained by process ${winner.child.pid} \\(since \\d{4}-`));
    assert.deepStrictEqual(loggedEpochs(runDir), range(done + 5), 'metrics.jsonl has every epoch of the winner');
    assert.strictEqual(readRunInfo(runDir)?.status, 'completed');
    assert.strictEqual(readRunInfo(runDir)?.epochsCompleted, done + 5);
    console.log(`      two writers: tried 2, 1 refused with the holder named, lost 0 of ${done + 5} epochs`);
  });

  it('a full disk: before the first epoch, or at a later checkpoint: failed, the last checkpoint intact', async () => {
    const runsOf = () => listRuns(runsDirFor(dir, 'disk'));
    const full = startTraining(dir, ['disk.densenet.json', '--epochs', '3'], {
      DENSENET_TEST_FAIL_DIR_WRITES_AFTER: '0',
    });
    assert.strictEqual(await full.exit, 1);
    assert.match(full.output(), /cannot take a checkpoint of \d+ bytes \(ENOSPC: no space left on device/);
    const [atStart] = runsOf();
    assert.strictEqual(atStart.status, 'failed');
    assert.match(atStart.error ?? '', /free disk space/);
    assert.deepStrictEqual(loggedEpochs(atStart.runDir), [], 'no epoch trained');
    assert.ok(!fs.existsSync(path.join(atStart.runDir, 'checkpoints')));

    // The probe, then epoch 1's latest and best checkpoints succeed; epoch 2's latest fails.
    const later = startTraining(dir, ['disk.densenet.json', '--epochs', '4'], {
      DENSENET_TEST_FAIL_DIR_WRITES_AFTER: '3',
    });
    assert.strictEqual(await later.exit, 1);
    const [filled] = runsOf();
    assert.notStrictEqual(filled.runDir, atStart.runDir);
    assert.strictEqual(filled.status, 'failed');
    assert.match(filled.error ?? '', /ENOSPC/);
    assert.strictEqual(readTrainingState(checkpointDir(filled.runDir, 'latest'))?.epoch, 1);
    assert.strictEqual(await evaluateCheckpoint(checkpointDir(filled.runDir, 'latest')), 6);
    assert.deepStrictEqual(fs.readdirSync(path.join(filled.runDir, 'checkpoints')).sort(), ['best', 'latest']);
    console.log('      full disk: tried 2, handled 2 (failed, last checkpoint loads), lost 0 checkpoints');
  });
});
