/**
 * `DenseNet: Show Model Summary`: a read-only, torchinfo-style text document per spec
 * (`densenet-summary:` scheme), kept up to date while the spec changes.
 */
import * as vscode from 'vscode';
import { summaryTable } from '../core';
import { isSpec, type SpecService } from './specService';

export const SUMMARY_SCHEME = 'densenet-summary';

export function summaryUri(spec: vscode.Uri): vscode.Uri {
  const base =
    spec.path
      .split('/')
      .pop()
      ?.replace(/\.densenet\.json$/, '') ?? 'model';
  return vscode.Uri.from({ scheme: SUMMARY_SCHEME, path: `/${base} summary.txt`, query: spec.toString() });
}

export class SummaryProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly specs: SpecService) {
    const refresh = (doc: vscode.TextDocument) => {
      if (isSpec(doc)) this.changed.fire(summaryUri(doc.uri));
    };
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => refresh(e.document)),
      specs.onDidChange(() => vscode.workspace.textDocuments.forEach(refresh)),
    );
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const specUri = vscode.Uri.parse(uri.query);
    const doc = await vscode.workspace.openTextDocument(specUri);
    const result = this.specs.get(doc);
    if (!result.analysis || !result.resolved || result.analysis.problem) {
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      return (
        `${specUri.fsPath} has ${errors.length} error(s); the summary appears when they are fixed:\n\n` +
        errors
          .map((d) => {
            const p = doc.positionAt(d.offset);
            return `  line ${p.line + 1}, column ${p.character + 1}: ${d.message}`;
          })
          .join('\n') +
        '\n'
      );
    }
    return summaryTable(result.analysis, result.resolved);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

/** Opens (or focuses) the summary of `spec`, optionally scrolled to a group such as `conv3`. */
export async function showSummary(spec: vscode.Uri, group?: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(summaryUri(spec));
  const editor = await vscode.window.showTextDocument(doc, {
    viewColumn: vscode.ViewColumn.Beside,
    preview: true,
    preserveFocus: false,
  });
  if (group) {
    const line = doc
      .getText()
      .split('\n')
      .findIndex((l) => l.startsWith('──') && l.includes(`(${group})`));
    if (line >= 0) {
      const pos = new vscode.Position(line, 0);
      editor.selection = new vscode.Selection(pos, pos);
      editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.AtTop);
    }
  }
  return editor;
}
