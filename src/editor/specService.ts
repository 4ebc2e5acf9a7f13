/** Validation results per open spec, cached by document version; settings read here. */
import * as vscode from 'vscode';
import { internalErrorResult, validateSpec, type ValidationResult } from '../core';
import { nodeFileProbe } from '../core/nodeFs';

export const SPEC_SELECTOR: vscode.DocumentSelector = [{ pattern: '**/*.densenet.json' }];

export function isSpec(doc: vscode.TextDocument): boolean {
  return doc.uri.path.endsWith('.densenet.json');
}

export class SpecService implements vscode.Disposable {
  private readonly cache = new Map<string, { version: number; result: ValidationResult }>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri | undefined>();
  /** Fires when a result may differ: settings changed (undefined) or a spec was re-validated. */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor() {
    this.disposables.push(
      vscode.workspace.onDidCloseTextDocument((d) => this.cache.delete(d.uri.toString())),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('densenet')) {
          this.cache.clear();
          this.changed.fire(undefined);
        }
      }),
    );
  }

  get(doc: vscode.TextDocument): ValidationResult {
    const key = doc.uri.toString();
    const hit = this.cache.get(key);
    if (hit && hit.version === doc.version) return hit.result;
    const text = doc.getText();
    let result: ValidationResult;
    try {
      const config = vscode.workspace.getConfiguration('densenet', doc.uri);
      result = validateSpec(text, {
        specPath: doc.uri.scheme === 'file' ? doc.uri.fsPath : undefined,
        fs: doc.uri.scheme === 'file' ? nodeFileProbe : undefined,
        maxTrainingMemoryBytes: config.get<number>('validation.maxTrainingMemoryMB', 8192) * 1024 * 1024,
      });
    } catch (e) {
      // validateSpec does not throw; a failure around it is still reported as one diagnostic, never thrown.
      result = internalErrorResult(text, e);
    }
    this.cache.set(key, { version: doc.version, result });
    return result;
  }

  /** Forgets a document's result (its data folders may have changed on disk). */
  invalidate(doc: vscode.TextDocument): void {
    this.cache.delete(doc.uri.toString());
    this.changed.fire(doc.uri);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

export function toRange(doc: vscode.TextDocument, offset: number, length: number): vscode.Range {
  return new vscode.Range(doc.positionAt(offset), doc.positionAt(offset + length));
}
