import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { MetricsWriter } from '../../src/runs/metricsLog';
import { createRun, finishRun, runsDirFor, setRunLabels } from '../../src/runs/runFolder';
import { activate, cleanScratch, openSpec, waitFor, workspaceRoot } from '../support/vscode';

const spec = (learningRate: number) =>
  JSON.stringify({
    version: 1,
    name: 'cmp-int',
    input: { height: 28, width: 28, channels: 1 },
    classes: 3,
    model: { growthRate: 4, blockConfig: [2, 2], bnSize: 2, compression: 0.5, numInitFeatures: 8 },
    training: { epochs: 1, optimizer: 'adam', learningRate },
  });

/** RFC 4180 records (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  return records;
}

describe('Compare Runs in a real VS Code', () => {
  before(activate);
  after(async () => {
    await cleanScratch();
    fs.rmSync(runsDirFor(workspaceRoot().fsPath, 'cmp-int'), { recursive: true, force: true });
  });

  it('exports the table to a path given to densenet.exportRunsCsv, hyperparameters from each run snapshot', async () => {
    const editor = await openSpec('cmp.densenet.json', spec(0.5)); // the spec now: not what the runs trained with
    const base = workspaceRoot().fsPath;
    const runs = [0.01, 0.001].map((lr, i) => {
      const now = new Date(Date.UTC(2026, 0, 1, 0, i));
      const { runDir } = createRun({
        baseFolder: base,
        specName: 'cmp-int',
        specText: spec(lr),
        epochs: 1,
        specFile: editor.document.uri.fsPath,
        now,
      });
      const w = new MetricsWriter(path.join(runDir, 'metrics.jsonl'));
      w.append({ kind: 'batch', epoch: 1, step: 1, loss: 1, acc: 0.5, time: now.getTime() + 1000 });
      w.append({ kind: 'epoch', epoch: 1, step: 1, loss: 1, acc: 0.5, val_loss: 1.2, val_acc: 0.4 + i / 10 });
      w.close();
      finishRun(runDir, 'completed', { epochsCompleted: 1, endedAt: new Date(now.getTime() + 2000).toISOString() });
      return runDir;
    });
    setRunLabels(runs[0], { displayName: 'first, "fast"', notes: '=not a formula' });

    await vscode.commands.executeCommand('densenet.compareRuns', editor.document.uri);
    const target = path.join(base, '.scratch', 'runs.csv');
    await vscode.commands.executeCommand('densenet.exportRunsCsv', target);
    const text = await waitFor('the CSV', () => (fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined));
    assert.ok(text.endsWith('\r\n'));
    const [header, ...records] = parseCsv(text);
    assert.strictEqual(records.length, 2, 'two runs');
    for (const column of ['run', 'spec', 'status', 'training.learningRate', 'training.optimizer', 'best val acc'])
      assert.ok(header.includes(column), `${column} in ${header.join()}`);
    assert.ok(records.every((r) => r.length === header.length));
    const column = (name: string) => records.map((r) => r[header.indexOf(name)]);
    assert.deepStrictEqual(column('training.learningRate'), ['0.001', '0.01'], 'newest first, from the snapshots');
    assert.strictEqual(column('run')[1], 'first, "fast"');
    assert.strictEqual(column('notes')[1], "'=not a formula", 'a formula-like note is defused');
    assert.deepStrictEqual(column('model.blockConfig'), ['[2, 2]', '[2, 2]']);
    assert.deepStrictEqual(column('val acc'), ['0.5', '0.4']);
    assert.ok(text.includes('"first, ""fast"""'), 'quoted as RFC 4180');
  });
});
