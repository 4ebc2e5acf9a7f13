/** Hovers on model fields, block entries, presets, input, classes and training batch size. */
import * as vscode from 'vscode';
import { hoverAt } from '../core';
import type { SpecService } from './specService';
import { toRange } from './specService';

export class SpecHoverProvider implements vscode.HoverProvider {
  constructor(private readonly specs: SpecService) {}

  provideHover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const content = hoverAt(this.specs.get(doc), doc.offsetAt(position));
    if (!content) return undefined;
    return new vscode.Hover(new vscode.MarkdownString(content.markdown), toRange(doc, content.offset, content.length));
  }
}
