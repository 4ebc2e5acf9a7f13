/** Status bar item for the active spec: parameters and multiply-adds; click for the summary. */
import * as vscode from 'vscode';
import { formatCount, formatMacs } from '../core';
import { isSpec, type SpecService } from './specService';

export class SpecStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('densenet.spec', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [this.item];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly specs: SpecService) {
    this.item.name = 'DenseNet Model';
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === vscode.window.activeTextEditor?.document) {
          clearTimeout(this.timer);
          this.timer = setTimeout(() => this.update(), 300);
        }
      }),
      specs.onDidChange(() => this.update()),
    );
    this.update();
  }

  update(): void {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || !isSpec(doc)) {
      this.item.hide();
      return;
    }
    const result = this.specs.get(doc);
    const a = result.analysis;
    if (a && !a.problem) {
      this.item.text = `$(type-hierarchy) ${formatCount(a.totals.trainableParams)} params · ${formatMacs(a.totals.macs)}`;
      this.item.tooltip = `${result.resolved?.name}: ${a.totals.params.toLocaleString('en-US')} parameters (${a.totals.trainableParams.toLocaleString('en-US')} trainable), ${formatMacs(a.totals.macs)} per image. Click for the per-layer summary.`;
      this.item.backgroundColor = undefined;
    } else {
      const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
      this.item.text = `$(error) DenseNet: ${errors} error${errors === 1 ? '' : 's'}`;
      this.item.tooltip = 'The spec has errors: see the Problems view.';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    }
    this.item.command = { title: 'Show Model Summary', command: 'densenet.showSummary', arguments: [doc.uri] };
    this.item.show();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.disposables.forEach((d) => d.dispose());
  }
}
