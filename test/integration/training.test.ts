import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DenseNetLabApi } from '../../src/extension';
import type { TrainingFinished } from '../../src/protocol/engine';
import type { TrainingEvents } from '../../src/editor/trainingController';
import { isResumable } from '../../src/runs/checkpointFiles';
import { readRunListing } from '../../src/runs/runFolder';
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
    fs.writeFileSync(spec.fsPath, SPEC(epochs));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(spec));
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

  it('Stop Training saves a checkpoint at a batch boundary; Resume Training continues the run', async () => {
    await open(40);
    const firstEpoch = next('training/epochEnd');
    const training = vscode.commands.executeCommand<TrainingFinished>('densenet.train', spec);
    await firstEpoch;
    await vscode.commands.executeCommand('densenet.stopTraining');
    const stopped = await training;
    assert.strictEqual(stopped.status, 'cancelled');
    const state = JSON.parse(
      fs.readFileSync(path.join(stopped.runDir, 'checkpoints', 'latest', 'training_state.json'), 'utf8'),
    );
    assert.ok(state.step > 0);

    fs.writeFileSync(spec.fsPath, SPEC(stopped.epochsCompleted + 1));
    const resumedStart = next('training/started');
    const resumed = await vscode.commands.executeCommand<TrainingFinished>('densenet.resumeTraining', stopped.runDir);
    assert.strictEqual((await resumedStart).startEpoch, state.epoch, 'starts where it stopped');
    assert.strictEqual(resumed.status, 'completed');
    assert.strictEqual(resumed.runDir, stopped.runDir);
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
