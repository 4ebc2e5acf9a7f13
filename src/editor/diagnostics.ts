/** Diagnostics for every open `*.densenet.json`: on open, on change (debounced), on save, on settings change. */
import * as vscode from 'vscode';
import { internalErrorDiagnostic, type Severity, type SpecDiagnostic } from '../core';
import { isSpec, type SpecService, toRange } from './specService';

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  information: vscode.DiagnosticSeverity.Information,
};

export class SpecDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('densenet');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor(private readonly specs: SpecService) {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.refresh(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)),
      vscode.workspace.onDidSaveTextDocument((d) => {
        // Data folders may have changed on disk since the last check.
        if (isSpec(d)) this.specs.invalidate(d);
        this.refresh(d);
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.cancel(d);
        this.collection.delete(d.uri);
      }),
      specs.onDidChange((uri) => {
        if (!uri) vscode.workspace.textDocuments.forEach((d) => this.refresh(d));
      }),
    );
    vscode.workspace.textDocuments.forEach((d) => this.refresh(d));
  }

  private schedule(doc: vscode.TextDocument): void {
    if (!isSpec(doc)) return;
    this.cancel(doc);
    const delay = vscode.workspace.getConfiguration('densenet', doc.uri).get<number>('validation.debounceMs', 250);
    this.timers.set(
      doc.uri.toString(),
      setTimeout(() => this.refresh(doc), delay),
    );
  }

  private cancel(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  refresh(doc: vscode.TextDocument): void {
    if (!isSpec(doc) || doc.isClosed) return;
    this.cancel(doc);
    let diagnostics: SpecDiagnostic[];
    try {
      diagnostics = this.specs.get(doc).diagnostics;
    } catch (e) {
      diagnostics = [internalErrorDiagnostic(doc.getText(), e)];
    }
    this.collection.set(
      doc.uri,
      diagnostics.map((d) => {
        const diagnostic = new vscode.Diagnostic(toRange(doc, d.offset, d.length), d.message, SEVERITY[d.severity]);
        diagnostic.source = 'densenet';
        diagnostic.code = d.code;
        return diagnostic;
      }),
    );
  }

  dispose(): void {
    this.timers.forEach((t) => clearTimeout(t));
    this.disposables.forEach((d) => d.dispose());
  }
}
