/**
 * Code lenses: above `model` Train, the totals (params, multiply-adds; a click opens the summary) and
 * Architecture, short so that the line fits beside a panel; above each blockConfig entry that block's figures
 * (entries on one line, or blocks from a preset, share one lens). Each kind has a setting `densenet.codeLens.*`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { looksPretrained } from '../core/pretrainedNames';
import { weightsLensTitle } from '../core/weightsOrigin';
import {
  blockLensTitle,
  blocksLensTitle,
  blocksOf,
  formatCount,
  type GroupInfo,
  lensAnchors,
  modelLensTitle,
} from '../core';
import type { SpecService } from './specService';

export class SpecCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly specs: SpecService) {
    this.subscription = specs.onDidChange(() => this.changed.fire());
  }

  refresh(): void {
    this.changed.fire();
  }

  /** The lenses of a spec; one that says so when building them fails (never a throw into VS Code). */
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    try {
      return this.lenses(doc);
    } catch (e) {
      const why = String(e instanceof Error ? e.message : e).slice(0, 200);
      const title = `$(warning) DenseNet Lab could not build the code lenses (internal error: ${why})`;
      return [new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { title, command: '' })];
    }
  }

  private lenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const config = vscode.workspace.getConfiguration('densenet.codeLens', doc.uri);
    const result = this.specs.get(doc);
    const anchors = lensAnchors(result);
    const lenses: vscode.CodeLens[] = [];
    const at = (offset: number) => new vscode.Range(doc.positionAt(offset), doc.positionAt(offset));
    const a = result.analysis;
    if (config.get<boolean>('model', true) && anchors.model !== undefined) {
      const range = at(anchors.model);
      if (a && !a.problem) {
        // Train first and the figures short: the line must fit beside a dashboard (a cut lens hides its end).
        if (vscode.workspace.isTrusted && doc.uri.scheme === 'file') {
          lenses.push(
            new vscode.CodeLens(range, {
              title: '$(play) Train',
              command: 'densenet.train',
              arguments: [doc.uri],
              tooltip: 'Train this model in the engine process',
            }),
          );
        }
        lenses.push(
          new vscode.CodeLens(range, {
            title: modelLensTitle(a, result.resolved),
            command: 'densenet.showSummary',
            arguments: [doc.uri],
            tooltip: `Trainable parameters and multiply-adds per image (${a.input.height}x${a.input.width}x${a.input.channels} -> ${a.classes} classes). Click for the summary: per-layer Keras names, output shapes, parameters, multiply-adds`,
          }),
        );
        lenses.push(
          new vscode.CodeLens(range, {
            title: 'Architecture',
            command: 'densenet.showArchitecture',
            arguments: [doc.uri],
            tooltip: 'Diagram of the network: blocks, dense connections, channels',
          }),
        );
      } else {
        const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
        lenses.push(
          new vscode.CodeLens(range, {
            title: `$(error) ${errors} error${errors === 1 ? '' : 's'}: no figures until the spec is valid`,
            command: 'workbench.actions.view.problems',
          }),
        );
      }
    }
    const ref = result.resolved?.weights;
    if (config.get<boolean>('weights', true) && anchors.weights !== undefined && ref !== undefined && a) {
      lenses.push(
        new vscode.CodeLens(at(anchors.weights), { title: this.weightsTitle(doc, ref, a.classes), command: '' }),
      );
    }
    if (config.get<boolean>('blocks', true) && a && !a.problem) {
      // One lens per block entry on its own line; one lens for the entries that share a line (or the preset).
      const blocks = blocksOf(a);
      const byLine = new Map<number, { offset: number; blocks: GroupInfo[] }>();
      blocks.forEach((g, i) => {
        const offset = anchors.blocks[i] ?? anchors.presetBlocks;
        if (offset === undefined) return;
        const line = doc.positionAt(offset).line;
        const entry = byLine.get(line) ?? { offset, blocks: [] };
        entry.blocks.push(g);
        byLine.set(line, entry);
      });
      for (const { offset, blocks: shown } of byLine.values()) {
        lenses.push(
          new vscode.CodeLens(at(offset), {
            title: blocksLensTitle(shown),
            command: 'densenet.showSummary',
            arguments: [doc.uri, shown[0].name],
            tooltip: shown
              .map((g) => `${blockLensTitle(g)} · ${formatCount(g.trainableParams)} params`)
              .concat(['Click for the summary at this block'])
              .join('\n'),
          }),
        );
      }
    }
    return lenses;
  }

  /** Where the model starts from: a known pretrained model, or a weights file (its format and size). */
  private weightsTitle(doc: vscode.TextDocument, ref: string, classes: number): string {
    if (looksPretrained(ref)) return weightsLensTitle(ref, classes, { pretrained: true });
    if (doc.uri.scheme !== 'file') return weightsLensTitle(ref, classes, { pretrained: false });
    try {
      const stat = fs.statSync(path.resolve(path.dirname(doc.uri.fsPath), ref));
      return weightsLensTitle(ref, classes, {
        pretrained: false,
        exists: true,
        bytes: stat.isFile() ? stat.size : undefined,
      });
    } catch {
      return weightsLensTitle(ref, classes, { pretrained: false, exists: false });
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
