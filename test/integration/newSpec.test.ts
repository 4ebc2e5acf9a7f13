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

  /** The spec written at `uri` with `epochs` epochs (its comments dropped). */
  function withEpochs(uri: vscode.Uri, epochs: number): Record<string, unknown> {
    const spec = JSON.parse(fs.readFileSync(uri.fsPath, 'utf8').replace(/^\s*\/\/.*$/gm, ''));
    spec.training.epochs = epochs;
    fs.writeFileSync(uri.fsPath, JSON.stringify(spec, null, 2));
    return spec;
  }

  /** Opened, the spec has no error or warning; the Train command trains it, its best checkpoint chosen by `monitor`. */
  async function trainsAsWritten(uri: vscode.Uri, monitor: string): Promise<void> {
    await vscode.window.showTextDocument(uri);
    await new Promise((r) => setTimeout(r, 800));
    assert.deepStrictEqual(errorsAndWarnings(uri), []);
    const result = await vscode.commands.executeCommand<TrainingFinished>('densenet.train', uri);
    assert.strictEqual(result?.status, 'completed');
    assert.strictEqual(result.bestMonitor, monitor);
  }

  it("a multi-label CSV: task multilabel, the labels counted, the manifest's paths; it trains", async () => {
    const from = path.join(workspaceRoot().fsPath, 'multi-mnist', 'data');
    assert.ok(fs.existsSync(from), 'the multi-label example data is built (npm run build)');
    const to = path.join(dir, 'multi');
    for (const [split, n] of [
      ['train', 40],
      ['test', 8],
    ] as const) {
      const [header, ...rows] = fs
        .readFileSync(path.join(from, `${split}.csv`), 'utf8')
        .trim()
        .split('\n');
      for (const r of rows.slice(0, n)) {
        const image = r.split(',')[0];
        fs.mkdirSync(path.dirname(path.join(to, image)), { recursive: true });
        fs.copyFileSync(path.join(from, image), path.join(to, image));
      }
      fs.writeFileSync(path.join(to, `${split}.csv`), [header, ...rows.slice(0, n)].join('\n') + '\n');
    }
    const uri = await vscode.commands.executeCommand<vscode.Uri>('densenet.newSpec', {
      preset: 'densenet-40-k12',
      data: to,
      name: 'wizard-multi',
    });
    assert.ok(uri);
    const spec = withEpochs(uri, 1);
    const labels = new Set(
      fs
        .readFileSync(path.join(to, 'train.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .flatMap((r) => r.split(',')[1].split('|')),
    );
    assert.deepStrictEqual(
      [spec.task, spec.classes, spec.input, spec.data],
      [
        'multilabel',
        labels.size,
        { height: 48, width: 48, channels: 1 },
        { train: 'multi/train.csv', validation: { split: 0.1 }, test: 'multi/test.csv', normalize: 'auto' },
      ],
    );
    await trainsAsWritten(uri, 'val_mean_auroc');
  });

  it('images/ and masks/: an FC-DenseNet preset writes a segmentation spec that trains; a classifier refuses', async () => {
    const from = path.join(workspaceRoot().fsPath, 'm2nist', 'data');
    assert.ok(fs.existsSync(from), 'the segmentation example data is built (npm run build)');
    const to = path.join(dir, 'masks');
    for (const [split, n] of [
      ['train', 12],
      ['test', 4],
    ] as const)
      for (const kind of ['images', 'masks']) {
        fs.mkdirSync(path.join(to, split, kind), { recursive: true });
        for (const f of fs
          .readdirSync(path.join(from, split, 'images'))
          .sort()
          .slice(0, n))
          fs.copyFileSync(path.join(from, split, kind, f), path.join(to, split, kind, f));
      }
    const refused = await vscode.commands.executeCommand('densenet.newSpec', { preset: 'densenet-40-k12', data: to });
    assert.strictEqual(refused, undefined, 'a classifier preset on masks');

    const uri = await vscode.commands.executeCommand<vscode.Uri>('densenet.newSpec', {
      preset: 'fc-densenet56',
      data: to,
      classes: 11,
      name: 'wizard-masks',
    });
    assert.ok(uri);
    const spec = withEpochs(uri, 1);
    assert.deepStrictEqual(
      [spec.task, spec.classes, spec.input, spec.data],
      [
        'segmentation',
        11,
        { height: 64, width: 64, channels: 1 },
        {
          train: { images: 'masks/train/images', masks: 'masks/train/masks' },
          validation: { split: 0.1 },
          test: { images: 'masks/test/images', masks: 'masks/test/masks' },
          normalize: 'auto',
        },
      ],
    );
    await trainsAsWritten(uri, 'val_mean_iou');
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
