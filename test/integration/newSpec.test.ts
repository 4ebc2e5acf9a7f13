import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DenseNetLabApi } from '../../src/extension';
import type { TrainingFinished } from '../../src/protocol/engine';
import { densenetDiagnostics, EXTENSION_ID, waitFor, workspaceRoot } from '../support/vscode';

// DenseNet: New Model Spec... with its answers as arguments, on a copy of a few of the MNIST example's digits:
// the written spec finds the data, validates without a problem and trains from the Train command.
describe('new model spec wizard in a real VS Code', function () {
  this.timeout(240_000);
  let dir: string;

  before(async () => {
    await vscode.extensions.getExtension<DenseNetLabApi>(EXTENSION_ID)!.activate();
    dir = path.join(workspaceRoot().fsPath, '.scratch-wizard');
    const mnist = path.join(workspaceRoot().fsPath, 'mnist', 'data');
    assert.ok(fs.existsSync(mnist), 'the example MNIST data is built (npm run build)');
    for (const [split, count] of [
      ['train', 20],
      ['test', 4],
    ] as const)
      for (const digit of ['0', '1', '2']) {
        fs.mkdirSync(path.join(dir, 'digits', split, digit), { recursive: true });
        for (const f of fs.readdirSync(path.join(mnist, split, digit)).slice(0, count))
          fs.copyFileSync(path.join(mnist, split, digit, f), path.join(dir, 'digits', split, digit, f));
      }
  });
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const errorsAndWarnings = (uri: vscode.Uri) =>
    densenetDiagnostics(uri).filter((d) => d.severity !== vscode.DiagnosticSeverity.Information);

  it('writes a spec next to the data that validates and trains for an epoch', async () => {
    const uri = await vscode.commands.executeCommand<vscode.Uri>('densenet.newSpec', {
      preset: 'densenet-40-k12',
      data: path.join(dir, 'digits'),
      name: 'wizard-digits',
    });
    assert.ok(uri, 'a file was written');
    assert.strictEqual(uri.fsPath, path.join(dir, 'wizard-digits.densenet.json'), "in the data folder's parent");
    const text = fs.readFileSync(uri.fsPath, 'utf8');
    const written = JSON.parse(text.replace(/^\s*\/\/.*$/gm, ''));
    assert.deepStrictEqual(
      [written.input, written.classes, written.data],
      [
        { height: 28, width: 28, channels: 1 },
        3,
        { train: 'digits/train', validation: { split: 0.1 }, test: 'digits/test', normalize: 'auto' },
      ],
      'paths relative to the spec, classes and input from the data',
    );

    // One epoch, so that the test is short: the rest is as the wizard wrote it.
    const doc = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(doc);
    const at = doc.getText().indexOf('"epochs": 300');
    assert.ok(at > 0, doc.getText());
    await editor.edit((e) =>
      e.replace(new vscode.Range(doc.positionAt(at), doc.positionAt(at + '"epochs": 300'.length)), '"epochs": 1'),
    );
    await doc.save();
    await new Promise((r) => setTimeout(r, 800));
    assert.deepStrictEqual(
      densenetDiagnostics(uri).map((d) => d.message),
      [],
      'valid, and no "no training data" information',
    );

    const result = await vscode.commands.executeCommand<TrainingFinished>('densenet.train', uri);
    assert.ok(result, 'the Train command returns the finished run');
    assert.strictEqual(result.status, 'completed');
    assert.strictEqual(result.epochsCompleted, 1);
  });

  it('analysis only: a spec without data says how to get it, and Train refuses it', async () => {
    const uri = await vscode.commands.executeCommand<vscode.Uri>('densenet.newSpec', {
      preset: 'densenet-40-k12',
      data: null,
      input: '32x32x3',
      classes: 10,
      name: 'wizard-analysis',
      folder: dir,
    });
    assert.ok(uri);
    await vscode.window.showTextDocument(uri);
    const info = await waitFor('the no-data information', () =>
      densenetDiagnostics(uri).find((d) => d.severity === vscode.DiagnosticSeverity.Information),
    );
    assert.match(info.message, /^No training data: download CIFAR-10 .*cifar-10-binary\.tar\.gz/);
    assert.deepStrictEqual(errorsAndWarnings(uri), []);
    const result = await vscode.commands.executeCommand<TrainingFinished | undefined>('densenet.train', uri);
    assert.strictEqual(result, undefined, 'not trained');
    assert.ok(!fs.existsSync(path.join(dir, '.densenet', 'runs', 'wizard-analysis')), 'no run folder');
  });

  it('a folder without data is refused (the error says why) and nothing is written', async () => {
    fs.mkdirSync(path.join(dir, 'nothing'), { recursive: true });
    const before = fs.readdirSync(dir).sort();
    const result = await vscode.commands.executeCommand('densenet.newSpec', {
      preset: 'densenet-40-k12',
      data: path.join(dir, 'nothing'),
    });
    assert.strictEqual(result, undefined);
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), before);
  });
});
