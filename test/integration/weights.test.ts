import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { ExportModelResult, ImportWeightsResult } from '../../src/protocol/engine';
import { readRunInfo } from '../../src/runs/runFolder';
import { readExpected, torchFixtures } from '../support/torchFixtures';
import { EXTENSION_ID, workspaceRoot } from '../support/vscode';

// Import Pretrained Weights… and Export Model… from the real VS Code, on torchvision's DenseNet-121 (seeded
// random weights made by Debian's python3-torch): the run it writes, the ONNX it exports (run in ONNX Runtime),
// and the code lens of a spec that starts from it.
describe('pretrained weights in a real VS Code', function () {
  this.timeout(600_000);
  let fixtures: string;
  let imported: ImportWeightsResult;
  const scratch = () => path.join(workspaceRoot().fsPath, '.scratch-weights');

  before(async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)!.activate();
    fixtures = await torchFixtures('densenet121');
  });
  after(() => fs.rmSync(scratch(), { recursive: true, force: true }));

  it('DenseNet: Import Pretrained Weights… writes a run folder recording where the weights came from', async () => {
    const result = await vscode.commands.executeCommand<ImportWeightsResult | undefined>('densenet.importWeights', {
      ref: path.join(fixtures, 'model.pth'),
      preset: null,
    });
    assert.ok(result, 'the command answered a result (errors are shown and logged instead)');
    imported = result;
    assert.strictEqual(imported.preset, 'densenet121');
    assert.strictEqual(imported.format, 'pytorch');
    assert.ok(imported.runDir.startsWith(path.join(workspaceRoot().fsPath, '.densenet', 'runs', 'densenet121')));
    const info = readRunInfo(imported.runDir) as unknown as { initialWeights?: { sha256?: string; format?: string } };
    assert.strictEqual(info.initialWeights?.format, 'pytorch');
    assert.strictEqual(info.initialWeights?.sha256, imported.sha256);
  });

  it('DenseNet: Export Model… writes an ONNX model that ONNX Runtime runs with torchvision’s logits', async () => {
    const outFile = path.join(scratch(), 'd121.onnx');
    const result = await vscode.commands.executeCommand<ExportModelResult | undefined>(
      'densenet.exportModel',
      vscode.Uri.file(imported.runDir),
      { format: 'onnx', outFile },
    );
    assert.strictEqual(result?.file, outFile);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    const session = await ort.InferenceSession.create(outFile, { intraOpNumThreads: 2 });
    const expected = readExpected(fixtures);
    const buf = fs.readFileSync(path.join(fixtures, 'inputs.bin'));
    const x = new ort.Tensor(
      'float32',
      new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)),
      expected.inputShape,
    );
    const z = (await session.run({ input: x })).logits.data as Float32Array;
    const want = expected.logits.flat();
    const diff = Math.max(...Array.from(z, (v, i) => Math.abs(v - want[i])));
    assert.ok(diff <= 1e-4, `max |logit difference| ${diff}`);
  });

  it('a spec starting from the imported run says so in a code lens', async () => {
    fs.mkdirSync(scratch(), { recursive: true });
    const file = path.join(scratch(), 'finetune.densenet.json');
    const ref = path.relative(scratch(), imported.runDir);
    fs.writeFileSync(
      file,
      JSON.stringify({ version: 1, name: 'ft', classes: 5, model: { preset: 'densenet121', weights: ref } }, null, 2),
    );
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>(
      'vscode.executeCodeLensProvider',
      doc.uri,
      100,
    );
    const titles = lenses.map((l) => l.command?.title ?? '');
    assert.ok(titles.includes(`$(file-binary) Starts from ${ref} (DenseNet Lab checkpoint)`), titles.join(' | '));
  });
});
