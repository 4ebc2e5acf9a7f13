import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DenseNetLabApi } from '../../src/extension';
import type { SavedEvaluation } from '../../src/protocol/evaluation';
import type { TrainingFinished } from '../../src/protocol/engine';
import { readEvaluations } from '../../src/runs/evaluations';
import { cellExamples, predictionsConfusion, readPredictions, sourcePath } from '../../src/runs/predictions';
import { EXTENSION_ID, workspaceRoot } from '../support/vscode';

// DenseNet: Evaluate from the real VS Code on a run of the tiny digits spec (test/fixtures/digits.densenet.json)
// trained for one epoch on a slice of the example's MNIST digits, with a test folder of other digits.
const FIXTURE = path.resolve(__dirname, '../../../test/fixtures/digits.densenet.json');
const TEST_PER_CLASS = 7;

describe('DenseNet: Evaluate in a real VS Code', function () {
  this.timeout(240_000);
  let dir: string;
  let runDir: string;

  before(async () => {
    const ext = vscode.extensions.getExtension<DenseNetLabApi>(EXTENSION_ID)!;
    await ext.activate();
    dir = path.join(workspaceRoot().fsPath, '.scratch-evaluate');
    const mnist = path.join(workspaceRoot().fsPath, 'mnist', 'data');
    assert.ok(fs.existsSync(path.join(mnist, 'test')), 'the example MNIST data is built (npm run build)');
    for (const digit of ['0', '1', '2']) {
      for (const [split, n] of [
        ['train', 20],
        ['test', TEST_PER_CLASS],
      ] as const) {
        fs.mkdirSync(path.join(dir, 'data', split, digit), { recursive: true });
        for (const f of fs.readdirSync(path.join(mnist, split, digit)).slice(0, n))
          fs.copyFileSync(path.join(mnist, split, digit, f), path.join(dir, 'data', split, digit, f));
      }
    }
    const spec = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
    const text = JSON.stringify(
      {
        ...spec,
        name: 'digits-eval-it',
        data: { ...spec.data, test: 'data/test' },
        training: { ...spec.training, epochs: 1 },
      },
      null,
      2,
    );
    const uri = vscode.Uri.file(path.join(dir, 'digits.densenet.json'));
    fs.writeFileSync(uri.fsPath, text);
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const trained = await vscode.commands.executeCommand<TrainingFinished>('densenet.train', uri);
    assert.strictEqual(trained?.status, 'completed');
    runDir = trained.runDir;
  });
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Checks what `densenet.evaluate` returned against evaluations.jsonl and the predictions file. */
  function checkSaved(e: SavedEvaluation, examples: number): void {
    const last = readEvaluations(runDir).records.at(-1);
    assert.deepStrictEqual(last, e, 'the command returns the line it appended to evaluations.jsonl');
    assert.strictEqual(e.kind, 'evaluate');
    assert.strictEqual(e.checkpoint, 'checkpoints/best');
    assert.strictEqual(e.epoch, 1);
    assert.strictEqual(e.examples, examples);
    const sum = e.confusion.flat().reduce((a, b) => a + b, 0);
    assert.strictEqual(sum, examples, 'the confusion matrix sums to the examples');
    assert.ok(e.id, 'it names its predictions');
    const p = readPredictions(runDir, e.id!);
    assert.strictEqual(p.split, e.split);
    assert.strictEqual(p.examples.length, examples);
    assert.deepStrictEqual(predictionsConfusion(p), e.confusion);
    for (let t = 0; t < 3; t++)
      for (let q = 0; q < 3; q++)
        assert.strictEqual(cellExamples(p, t, q).length, e.confusion[t][q], `cell ${t},${q}: one prediction per count`);
    for (const x of p.examples) {
      const file = sourcePath(p, x);
      assert.ok(fs.existsSync(file), file);
      assert.strictEqual(path.basename(path.dirname(file)), String(x.true), `${file} is of class ${x.true}`);
      assert.ok(x.probability > 1 / 3 - 1e-6 && x.probability <= 1, `probability ${x.probability}`);
    }
  }

  it('evaluates a run on its test data and saves the result and each prediction in the run', async () => {
    const e = await vscode.commands.executeCommand<SavedEvaluation>('densenet.evaluate', { runDir, split: 'test' });
    assert.ok(e, 'the command returns the saved evaluation');
    assert.strictEqual(e.split, 'test');
    checkSaved(e, 3 * TEST_PER_CLASS);
  });

  it("evaluates it on the run's validation split too: the examples the training held out", async () => {
    const e = await vscode.commands.executeCommand<SavedEvaluation>('densenet.evaluate', {
      runDir,
      split: 'validation',
    });
    assert.ok(e);
    assert.strictEqual(e.split, 'validation');
    const validation = readEvaluations(runDir).records.find((r) => r.kind === 'validation');
    assert.ok(validation, 'the training validated');
    assert.strictEqual(e.examples, validation.examples, 'the same held-out examples as the training validated');
    checkSaved(e, validation.examples);
    assert.deepStrictEqual(e.confusion, validation.confusion, 'the best checkpoint scores as it did at validation');
  });
});
