import * as assert from 'assert';
import * as vscode from 'vscode';
import { activate, cleanScratch, densenetDiagnostics, openSpec, waitFor, workspaceRoot } from '../support/vscode';
import type { ModelSummary } from '../../src/core/modelSummary';

const SPEC = `{
  "version": 1,
  "name": "bc100",
  "input": { "height": 32, "width": 32, "channels": 3 },
  "classes": 10,
  "model": {
    "preset": "densenet-bc-100-k12",
    "growthRate": 12,
    "blockConfig": [16, 16, 16],
    "compression": 0.5
  }
}
`;

/** Errors and warnings: SPEC has no data, which is an information ("No training data: ..."). */
const problems = (uri: vscode.Uri) =>
  densenetDiagnostics(uri).filter((d) => d.severity !== vscode.DiagnosticSeverity.Information);
const positionOf = (doc: vscode.TextDocument, needle: string) => doc.positionAt(doc.getText().indexOf(needle) + 1);
const hoverText = (hovers: vscode.Hover[]) =>
  hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');

describe('editor features in a real VS Code', () => {
  before(activate);
  afterEach(cleanScratch);

  it('opens *.densenet.json as JSON with comments', async () => {
    const editor = await openSpec('lang.densenet.json', SPEC);
    assert.strictEqual(editor.document.languageId, 'jsonc');
  });

  it('completes fields and documents them from the contributed JSON schema', async () => {
    const editor = await openSpec('complete.densenet.json', '{\n  "version": 1,\n  "model": {\n    \n  }\n}\n');
    const fields = [
      'preset',
      'growthRate',
      'blockConfig',
      'bnSize',
      'compression',
      'numInitFeatures',
      'stem',
      'dropRate',
    ];
    const labelsOf = (items: vscode.CompletionItem[]) =>
      items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    // Word-based suggestions (words of the open documents, e.g. growthRate) come before the JSON language server
    // has the schema on a loaded machine: wait until every field of the schema is offered.
    let last: string[] = [];
    await waitFor(
      'every field of the schema among the completions',
      async () => {
        const list = await vscode.commands.executeCommand<vscode.CompletionList>(
          'vscode.executeCompletionItemProvider',
          editor.document.uri,
          new vscode.Position(3, 4),
        );
        last = labelsOf(list.items);
        return fields.every((f) => last.some((l) => l.includes(f))) ? last : undefined;
      },
      30_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; the last completion offered: ${last.join(', ')}`);
    });
  });

  it('shows diagnostics on a broken spec and clears them when it is fixed', async () => {
    const editor = await openSpec('broken.densenet.json', SPEC.replace('"compression": 0.5', '"compression": 1.5'));
    const uri = editor.document.uri;
    const diags = await waitFor('a compression diagnostic', () => {
      const d = problems(uri);
      return d.length > 0 ? d : undefined;
    });
    assert.strictEqual(diags.length, 1);
    assert.match(diags[0].message, /compression must be in \(0, 1\], not 1\.5/);
    assert.strictEqual(diags[0].severity, vscode.DiagnosticSeverity.Error);
    assert.strictEqual(editor.document.getText(diags[0].range), '1.5');

    // Both values the message suggests are quick fixes; applying one clears the diagnostic.
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      uri,
      diags[0].range,
    );
    const titles = actions.map((a) => a.title);
    assert.ok(titles.includes('Set compression to 0.5'), `quick fixes offered: ${titles.join(', ')}`);
    const fix = actions.find((a) => a.title === 'Set compression to 1');
    assert.ok(fix?.edit, `quick fix offered: ${titles.join(', ')}`);
    assert.strictEqual(fix.isPreferred, true, 'the nearer value is preferred');
    await vscode.workspace.applyEdit(fix.edit);
    await waitFor('diagnostics to clear', () => (problems(uri).length === 0 ? true : undefined));
  });

  it('quick fixes for a bad block entry and an input too small, each clearing its diagnostic', async () => {
    const fixesFor = async (name: string, text: string, code: string) => {
      const editor = await openSpec(name, text);
      const uri = editor.document.uri;
      const diag = await waitFor(`a ${code} diagnostic`, () => densenetDiagnostics(uri).find((d) => d.code === code));
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
        'vscode.executeCodeActionProvider',
        uri,
        diag.range,
      );
      // The quick fixes (VS Code's JSON support adds source actions such as "Sort JSON").
      const ours = actions.filter((a) => a.kind && vscode.CodeActionKind.QuickFix.contains(a.kind));
      return { editor, uri, diag, actions: ours, titles: ours.map((a) => a.title) };
    };
    const apply = async (uri: vscode.Uri, action: vscode.CodeAction | undefined) => {
      assert.ok(action?.edit, 'the quick fix has an edit');
      await vscode.workspace.applyEdit(action.edit);
      // Errors and warnings clear (a spec without data keeps its information diagnostic with the how-to).
      await waitFor('diagnostics to clear', () =>
        densenetDiagnostics(uri).filter((d) => d.severity !== vscode.DiagnosticSeverity.Information).length === 0
          ? true
          : undefined,
      );
    };

    // blockConfig [16, -1, 16] over densenet-bc-100-k12: its 16 layers, or remove the block.
    const block = await fixesFor(
      'block.densenet.json',
      SPEC.replace('[16, 16, 16]', '[16, -1, 16]'),
      'blockConfig-invalid',
    );
    assert.deepStrictEqual(block.titles, ['Set dense block 2 to 16', 'Remove dense block 2']);
    await apply(block.uri, block.actions[1]);
    assert.match(block.editor.document.getText(), /"blockConfig": \[16, 16\]/);

    // An input too small: the message states the minimum and the fix sets it.
    const small = await fixesFor(
      'small.densenet.json',
      SPEC.replace('"height": 32, "width": 32', '"height": 3, "width": 3'),
      'input-too-small',
    );
    assert.match(small.diag.message, /at least 4x4 \(stem stride 1 and 2 transitions halving it\)/);
    assert.deepStrictEqual(small.titles, ['Set the input to at least 4x4']);
    await apply(small.uri, small.actions[0]);
    assert.match(small.editor.document.getText(), /"height": 4, "width": 4/);
  });

  it('re-validates while typing', async () => {
    const editor = await openSpec('typing.densenet.json', SPEC);
    const uri = editor.document.uri;
    await new Promise((r) => setTimeout(r, 500));
    assert.deepStrictEqual(problems(uri), []);
    const at = editor.document.getText().indexOf('"densenet-bc-100-k12"');
    await editor.edit((e) =>
      e.replace(
        new vscode.Range(editor.document.positionAt(at), editor.document.positionAt(at + 21)),
        '"densenet-bc-100-k13"',
      ),
    );
    const d = await waitFor('an unknown-preset diagnostic', () => problems(uri)[0]);
    assert.match(d.message, /Unknown preset "densenet-bc-100-k13": did you mean "densenet-bc-100-k12"\?/);
  });

  it('hovers explain growthRate, a block entry and the preset', async () => {
    const editor = await openSpec('hover.densenet.json', SPEC);
    const doc = editor.document;
    const growth = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      doc.uri,
      positionOf(doc, '"growthRate"'),
    );
    assert.match(
      hoverText(growth),
      /each layer adds k=12 feature maps; block 1 ends with 24\+16x12=216 channels; block 2 ends with 108\+16x12=300 channels/,
    );
    const blockPos = doc.positionAt(doc.getText().indexOf('16, 16]'));
    const block = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      doc.uri,
      blockPos.translate(0, 1),
    );
    assert.match(hoverText(block), /\*\*Dense block 2\*\*.*16 layers at 16x16: 108 \+ 16x12 = 300 channels/);
    const preset = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      doc.uri,
      positionOf(doc, 'densenet-bc'),
    );
    assert.match(hoverText(preset), /Preset `densenet-bc-100-k12`/);
  });

  it('code lenses show the model and block figures, and turn off by setting', async () => {
    const editor = await openSpec('lens.densenet.json', SPEC);
    const uri = editor.document.uri;
    const titles = async () => {
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>(
        'vscode.executeCodeLensProvider',
        uri,
        100,
      );
      return lenses.filter((l) => l.command?.command.startsWith('densenet.')).map((l) => l.command!.title);
    };
    const all = await titles();
    // Train first, then the short figures, Summary, Architecture: the model line fits beside a dashboard.
    assert.deepStrictEqual(
      all.slice(0, 3),
      ['$(play) Train', '0.77M params · 300.9 MMACs', 'Architecture'],
      all.join(' | '),
    );
    // The three entries share a line: one lens for them (side by side they would run off screen).
    assert.ok(all.includes('blocks 1–3: 16·16·16 layers · 32x32→8x8 · 24→342 ch'), all.join(' | '));
    // Entries on their own lines: one lens each.
    const perLine = await openSpec(
      'lens-lines.densenet.json',
      SPEC.replace('[16, 16, 16]', '[\n      16,\n      16,\n      16\n    ]'),
    );
    const perLineTitles = (
      await vscode.commands.executeCommand<vscode.CodeLens[]>(
        'vscode.executeCodeLensProvider',
        perLine.document.uri,
        100,
      )
    ).map((l) => l.command?.title ?? '');
    assert.ok(perLineTitles.includes('block 1: 16 layers · 32x32 · 24→216 ch'), perLineTitles.join(' | '));
    assert.ok(perLineTitles.includes('block 3: 16 layers · 8x8 · 150→342 ch'), perLineTitles.join(' | '));
    // Blocks from a preset: one line for all of them, not one lens per block stacked on the preset line.
    const presetOnly = await openSpec(
      'lens-preset.densenet.json',
      '{"version": 1, "model": {"preset": "densenet121"}}',
    );
    const presetLenses = await vscode.commands.executeCommand<vscode.CodeLens[]>(
      'vscode.executeCodeLensProvider',
      presetOnly.document.uri,
      100,
    );
    const presetTitles = presetLenses.map((l) => l.command?.title ?? '');
    assert.ok(
      presetTitles.includes('blocks 1–4: 6·12·24·16 layers · 56x56→7x7 · 64→1024 ch'),
      presetTitles.join(' | '),
    );
    assert.ok(!presetTitles.some((t) => t.startsWith('block ')), presetTitles.join(' | '));
    const config = vscode.workspace.getConfiguration('densenet.codeLens');
    await config.update('blocks', false, vscode.ConfigurationTarget.Global);
    try {
      const without = await waitFor('block lenses to go', async () => {
        const t = await titles();
        return t.some((x) => x.startsWith('block')) ? undefined : t;
      });
      assert.ok(
        without.some((x) => x.includes('params ·')),
        'the model lens stays',
      );
    } finally {
      await config.update('blocks', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('DenseNet: New Model Spec writes a valid spec and opens it', async () => {
    const uri = await vscode.commands.executeCommand<vscode.Uri>('densenet.newSpec', {
      preset: 'densenet-40-k12',
      input: '32x32x3',
      classes: 100,
      name: 'fresh',
      folder: vscode.Uri.joinPath(workspaceRoot(), '.scratch'),
    });
    assert.ok(uri, 'a file was written');
    assert.ok(uri.path.endsWith('/.scratch/fresh.densenet.json'));
    const written = JSON.parse((await vscode.workspace.fs.readFile(uri)).toString().replace(/^\s*\/\/.*$/gm, ''));
    assert.deepStrictEqual(
      [written.version, written.classes, written.model.preset, written.input],
      [1, 100, 'densenet-40-k12', { height: 32, width: 32, channels: 3 }],
    );
    await waitFor('the new spec to open', () =>
      vscode.window.activeTextEditor?.document.uri.toString() === uri.toString() ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 600));
    assert.deepStrictEqual(problems(uri), [], 'the new spec is valid');
    const info = densenetDiagnostics(uri).map((d) => d.message);
    assert.strictEqual(info.length, 1, 'analysis only: says there is no data');
    assert.match(info[0], /^No training data: download CIFAR-100/);
    const second = await vscode.commands.executeCommand<vscode.Uri>('densenet.newSpec', {
      preset: 'densenet-40-k12',
      name: 'fresh',
      folder: vscode.Uri.joinPath(workspaceRoot(), '.scratch'),
    });
    assert.ok(second?.path.endsWith('/fresh-1.densenet.json'), 'never overwrites');
  });

  it('DenseNet: Show Model Summary opens the per-layer table', async () => {
    const editor = await openSpec('summary.densenet.json', SPEC);
    const summary = await vscode.commands.executeCommand<ModelSummary | undefined>(
      'densenet.showSummary',
      editor.document.uri,
      'conv3',
    );
    assert.ok(summary, 'the command returns the summary it shows');
    assert.strictEqual(summary.totals.trainableParams, 769_162);
    assert.match(summary.text, /^Trainable params: 769,162$/m);
    const row = summary.rows.find((r) => r.name === 'conv2_block1_1_conv');
    assert.deepStrictEqual([row?.shape, row?.params], ['32x32x48', 1152]);
    const tab = await waitFor('the summary panel', () =>
      vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('densenet.summary')),
    );
    assert.strictEqual(tab.label, 'Summary: summary');
  });

  it('validates data paths and class folders against the workspace', async () => {
    const root = workspaceRoot();
    for (const c of ['cat', 'dog'])
      await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(root, '.scratch', 'pets', c));
    const editor = await openSpec(
      'data.densenet.json',
      SPEC.replace('"classes": 10,', '"classes": 10,\n  "data": { "train": "pets", "test": "missing/test" },'),
    );
    const diags = await waitFor('data diagnostics', () => {
      const d = densenetDiagnostics(editor.document.uri);
      return d.length >= 2 ? d : undefined;
    });
    const messages = diags.map((d) => d.message).join('\n');
    assert.match(messages, /classes is 10 but pets has 2 class folders \(cat, dog\): set "classes" to 2/);
    assert.match(messages, /Data path "missing\/test" does not exist/);
  });
});
