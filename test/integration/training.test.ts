import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DenseNetLabApi } from '../../src/extension';
import type { RunLaunch, TrainingFinished } from '../../src/protocol/engine';
import type { TrainingEvents } from '../../src/editor/trainingController';
import { isResumable } from '../../src/runs/checkpointFiles';
import { readRunListing } from '../../src/runs/runFolder';
import { liveRunsIn, newSocketPath } from '../../src/runs/runEngine';
import { runSummary } from '../../src/panels/dashboardData';
import { densenetDiagnostics, EXTENSION_ID, waitFor, workspaceRoot } from '../support/vscode';

// Training in the engine process from the real VS Code, on a small slice of the example's MNIST digits, with
// the tiny spec the UI tests train too (test/fixtures/digits.densenet.json).
const FIXTURE = path.resolve(__dirname, '../../../test/fixtures/digits.densenet.json');
const SPEC = (epochs: number) => {
  const spec = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
  return JSON.stringify({ ...spec, name: 'digits-it', training: { ...spec.training, epochs } }, null, 2);
};

describe('training in a real VS Code', function () {
  this.timeout(240_000);
  let api: DenseNetLabApi;
  let dir: string;
  let spec: vscode.Uri;

  before(async () => {
    const ext = vscode.extensions.getExtension<DenseNetLabApi>(EXTENSION_ID)!;
    api = await ext.activate();
    dir = path.join(workspaceRoot().fsPath, '.scratch-train');
    const mnist = path.join(workspaceRoot().fsPath, 'mnist', 'data', 'train');
    assert.ok(fs.existsSync(mnist), 'the example MNIST data is built (npm run build)');
    for (const digit of ['0', '1', '2']) {
      fs.mkdirSync(path.join(dir, 'data', 'train', digit), { recursive: true });
      for (const f of fs.readdirSync(path.join(mnist, digit)).slice(0, 20))
        fs.copyFileSync(path.join(mnist, digit, f), path.join(dir, 'data', 'train', digit, f));
    }
    spec = vscode.Uri.file(path.join(dir, 'digits.densenet.json'));
  });
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function open(epochs: number): Promise<void> {
    const text = SPEC(epochs);
    fs.writeFileSync(spec.fsPath, text);
    const doc = await vscode.workspace.openTextDocument(spec);
    await vscode.window.showTextDocument(doc);
    // An open document takes the file's new text when VS Code notices the change: train only that text.
    await waitFor(`the editor to read the spec with ${epochs} epochs`, () =>
      doc.getText() === text ? true : undefined,
    );
  }

  /** The payload of the next training event of a kind. */
  function next<T extends keyof TrainingEvents>(type: T): Promise<TrainingEvents[T]> {
    return new Promise((resolve) => {
      const sub = api.training.onTrainingEvent((m) => {
        if (m.type === type) {
          sub.dispose();
          resolve(m.payload as TrainingEvents[T]);
        }
      });
    });
  }

  it('DenseNet: Train Model trains in its own process and keeps the run on disk', async () => {
    await open(2);
    const started = next('training/started');
    const result = await vscode.commands.executeCommand<TrainingFinished>('densenet.train', spec);
    assert.ok(result, 'the command returns the finished run');
    assert.strictEqual(result.status, 'completed');
    assert.strictEqual(result.epochsCompleted, 2);
    const info = await started;
    assert.strictEqual(info.backend, 'wasm', 'tfjs-node cannot install here: WASM is chosen');
    assert.notStrictEqual(
      JSON.parse(fs.readFileSync(path.join(result.runDir, 'run.json'), 'utf8')).pid,
      process.pid,
      'not on the extension host',
    );
    assert.ok(
      result.runDir.startsWith(path.join(workspaceRoot().fsPath, '.densenet', 'runs', 'digits-it')),
      result.runDir,
    );
    for (const f of [
      'run.json',
      'metrics.jsonl',
      'checkpoints/latest/model.json',
      'checkpoints/best/weights.bin',
      'tensorboard/train',
      'tensorboard/validation',
    ]) {
      assert.ok(fs.existsSync(path.join(result.runDir, f)), f);
    }
  });

  it('Stop Training stops at a batch boundary: status stopped, a message with the position and Resume, which continues the run', async () => {
    await open(40);
    const firstEpoch = next('training/epochEnd');
    const training = vscode.commands.executeCommand<TrainingFinished>('densenet.train', spec);
    await firstEpoch;
    await next('training/batch'); // into the second epoch
    // The messages the controller shows; the stop's is answered with its Resume button.
    const shown: { text: string; items: string[] }[] = [];
    const original = vscode.window.showInformationMessage;
    const patched = (text: string, ...items: string[]) => {
      shown.push({ text, items });
      return Promise.resolve(items.includes('Resume') ? 'Resume' : undefined);
    };
    (vscode.window as { showInformationMessage: unknown }).showInformationMessage = patched;
    try {
      const resumedStart = next('training/started');
      const resumedEnd = next('training/ended');
      await vscode.commands.executeCommand('densenet.stopTraining');
      const stopped = await training;
      assert.strictEqual(stopped.status, 'stopped');
      const at = stopped.stoppedAt!;
      assert.ok(at.epoch >= 2 && at.step >= 1 && at.step <= at.stepsPerEpoch, JSON.stringify(at));
      const state = JSON.parse(
        fs.readFileSync(path.join(stopped.runDir, 'checkpoints', 'latest', 'training_state.json'), 'utf8'),
      );
      assert.strictEqual(state.step, (at.epoch - 1) * at.stepsPerEpoch + at.step, 'the checkpoint is where it stopped');
      const message = shown.find((m) => m.text.startsWith('Stopped'));
      assert.ok(message, JSON.stringify(shown));
      assert.strictEqual(
        message.text,
        `Stopped at epoch ${at.epoch}, batch ${at.step}/${at.stepsPerEpoch}; checkpoint saved.`,
      );
      assert.deepStrictEqual(message.items, ['Resume', 'Open Run Folder']);
      assert.ok(!shown.some((m) => /cancel/i.test(m.text)), 'no word of a cancel');
      // The runs table's figures: stopped, with the fraction of the epoch it stopped in.
      const listed = runSummary(readRunListing(stopped.runDir)!);
      assert.strictEqual(listed.status, 'stopped');
      assert.strictEqual(listed.epochsTrained, at.epoch - 1 + at.step / at.stepsPerEpoch);
      assert.ok(!Number.isInteger(listed.epochsTrained) || at.step === at.stepsPerEpoch);

      // Resume (the message's button) continues that run from where it stopped.
      assert.strictEqual((await resumedStart).runDir, stopped.runDir);
      assert.strictEqual((await resumedStart).startEpoch, state.epoch, 'starts where it stopped');
      await vscode.commands.executeCommand('densenet.stopTraining');
      const resumed = await resumedEnd;
      assert.strictEqual(resumed.finished?.runDir, stopped.runDir);
      assert.strictEqual(resumed.finished?.status, 'stopped');
    } finally {
      (vscode.window as { showInformationMessage: unknown }).showInformationMessage = original;
    }
  });

  it('a window reattaches to a training whose engine outlived the window that started it, and stops it', async () => {
    await open(200);
    const extension = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
    const socket = newSocketPath();
    const log = path.join(dir, 'detached-engine.log');
    const launch: RunLaunch = {
      config: { backend: 'wasm', nativeSearchPaths: [], wasmDir: path.join(extension, 'dist') },
      request: {
        specPath: spec.fsPath,
        specText: fs.readFileSync(spec.fsPath, 'utf8'),
        workspaceDir: workspaceRoot().fsPath,
        threads: 1,
      },
      socket,
      log,
    };
    const launchFile = path.join(dir, 'launch.json');
    fs.writeFileSync(launchFile, JSON.stringify(launch));
    // An engine no window follows, as a reload leaves it.
    const fd = fs.openSync(log, 'a');
    const engine = spawn(process.execPath, [path.join(extension, 'dist', 'engine.js'), '--run', launchFile], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    fs.closeSync(fd);
    engine.unref();
    const runsFolder = path.join(workspaceRoot().fsPath, '.densenet', 'runs', 'digits-it');
    const runDir = await waitFor(
      'the engine to record its socket in the run',
      () => liveRunsIn([runsFolder]).find((l) => l.engine.pid === engine.pid)?.run.runDir,
      60_000,
    );
    assert.strictEqual(api.training.state, undefined);
    const started = next('training/started');
    assert.strictEqual(await api.training.reattach(), true);
    assert.strictEqual((await started).runDir, runDir);
    assert.strictEqual((api.training.state as { pid?: number } | undefined)?.pid, engine.pid);
    const live = await next('training/batch');
    assert.ok(live.globalStep > 0, 'live batches arrive');
    const ended = next('training/ended');
    await vscode.commands.executeCommand('densenet.stopTraining');
    assert.strictEqual((await ended).finished?.status, 'stopped');
    assert.strictEqual(readRunListing(runDir)?.status, 'stopped');
    await waitFor('the engine to exit', () =>
      engine.exitCode !== null || engine.signalCode !== null ? true : undefined,
    );
    assert.strictEqual(api.training.state, undefined);
  });

  it('a corrupt image in the dataset is skipped, counted and training goes on', async () => {
    const bad = path.join(dir, 'data', 'train', '1', 'corrupt.png');
    fs.writeFileSync(bad, 'not an image at all');
    try {
      await open(1);
      const skipped = next('training/skipped');
      const result = await vscode.commands.executeCommand<TrainingFinished>('densenet.train', spec);
      assert.strictEqual(result.status, 'completed');
      assert.ok(result.skippedFiles >= 1);
      assert.ok((await skipped).file.endsWith('corrupt.png'));
    } finally {
      fs.rmSync(bad);
    }
  });

  it('a killed engine process marks the run failed and keeps its last checkpoint', async () => {
    await open(40);
    const started = next('training/started');
    const firstEpoch = next('training/epochEnd');
    const training = vscode.commands.executeCommand<TrainingFinished | undefined>('densenet.train', spec);
    const { runDir } = await started;
    await firstEpoch;
    const pid = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')).pid as number;
    process.kill(pid, 'SIGKILL');
    assert.strictEqual(await training, undefined, 'the command reports the failure');
    const info = await waitFor('run.json to say failed', () => {
      const r = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
      return r.status === 'failed' ? r : undefined;
    });
    assert.strictEqual(info.signal, 'SIGKILL');
    assert.ok(fs.existsSync(path.join(runDir, 'checkpoints', 'latest', 'model.json')), 'the last checkpoint is kept');
    assert.strictEqual(api.training.state, undefined, 'ready to train again');
  });

  it('a run whose training process died outside the editor reads interrupted and resumes from the editor', async () => {
    await open(40);
    // Train with the command line in the workspace, and kill it (SIGKILL) after its first epoch.
    const cli = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'cli.js');
    const child = spawn(
      process.execPath,
      [cli, 'train', spec.fsPath, '--backend', 'wasm', '--threads', '1', '--json'],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise((resolve) => child.on('close', resolve));
    await waitFor(
      'the first epoch of the command-line training',
      () => /"epoch":1,/.test(output) || undefined,
      120_000,
    );
    child.kill('SIGKILL');
    await exited;
    const runDir = /^run (.+)$/m.exec(output)![1].trim();
    const listing = readRunListing(runDir)!;
    assert.strictEqual(listing.status, 'interrupted');
    assert.ok(isResumable(listing), 'offered by the Resume picker');

    fs.writeFileSync(spec.fsPath, SPEC(listing.epochsCompleted! + 1));
    const resumedStart = next('training/started');
    const resumed = await vscode.commands.executeCommand<TrainingFinished>('densenet.resumeTraining', runDir);
    assert.ok((await resumedStart).startEpoch >= 1, 'starts after the checkpointed epoch');
    assert.strictEqual(resumed.status, 'completed');
    assert.strictEqual(readRunListing(runDir)!.status, 'completed');
  });

  it('a spec the editor marks with an error never trains', async () => {
    const base = JSON.parse(SPEC(1));
    const broken: [string, (s: Record<string, Record<string, unknown>>) => void][] = [
      ['optimizer adagrad', (s) => (s.training.optimizer = 'adagrad')],
      ['a negative learning rate', (s) => (s.training.learningRate = -0.1)],
      ['a misspelt lrSchedule', (s) => (s.training.lrSchedul = { type: 'cosine' })],
      ['a misspelt training section', (s) => ((s.trainig = s.training), delete s.training)],
      ['batchSize 0', (s) => (s.training.batchSize = 0)],
      ['epochs as a string', (s) => (s.training.epochs = '3')],
    ];
    for (const [what, breakIt] of broken) {
      const name = `broken-${what.replace(/\W+/g, '-')}`;
      const doc = structuredClone(base) as Record<string, Record<string, unknown>>;
      (doc as Record<string, unknown>).name = name;
      breakIt(doc);
      const text = JSON.stringify(doc, null, 2);
      fs.writeFileSync(spec.fsPath, text);
      const opened = await vscode.workspace.openTextDocument(spec);
      await vscode.window.showTextDocument(opened);
      await waitFor(`the editor to read the spec with ${what}`, () => (opened.getText() === text ? true : undefined));
      await waitFor(`an error diagnostic for ${what}`, () =>
        densenetDiagnostics(spec).some((d) => d.severity === vscode.DiagnosticSeverity.Error) ? true : undefined,
      );
      const result = await vscode.commands.executeCommand<TrainingFinished | undefined>('densenet.train', spec);
      assert.strictEqual(result, undefined, `${what}: not trained`);
      for (const folder of [dir, workspaceRoot().fsPath])
        assert.ok(!fs.existsSync(path.join(folder, '.densenet', 'runs', name)), `${what}: no run folder`);
    }
    assert.strictEqual(api.training.state, undefined);
  });
});
