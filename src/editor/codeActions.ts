/** Quick fixes carried by the validator's diagnostics (nearest preset, clamp compression, class count...). */
import * as vscode from 'vscode';
import type { SpecService } from './specService';
import { toRange } from './specService';

export class SpecCodeActionProvider implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  constructor(private readonly specs: SpecService) {}

  provideCodeActions(
    doc: vscode.TextDocument,
    range: vscode.Range,
    context: vscode.CodeActionContext,
  ): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const d of this.specs.get(doc).diagnostics) {
      if (!d.fixes) continue;
      const diagRange = toRange(doc, d.offset, d.length);
      if (!diagRange.intersection(range)) continue;
      const shown = context.diagnostics.find(
        (x) => x.source === 'densenet' && x.code === d.code && x.range.isEqual(diagRange),
      );
      d.fixes.forEach((fix, i) => {
        const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        action.edit = new vscode.WorkspaceEdit();
        for (const e of fix.edits) action.edit.replace(doc.uri, toRange(doc, e.offset, e.length), e.newText);
        if (shown) action.diagnostics = [shown];
        action.isPreferred = i === 0;
        actions.push(action);
      });
    }
    return actions;
  }
}
