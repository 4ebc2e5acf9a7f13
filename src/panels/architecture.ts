/**
 * The architecture panel (`DenseNet: Show Architecture`): a diagram of the spec's network, one panel per spec.
 * The host owns the spec: it announces a compact diagram model (src/core/diagram.ts) after each edit and the
 * groups under the cursor as it moves, reveals the spec text of a clicked node, and writes exports the webview
 * makes (contract: src/protocol/architecture.ts). After a reload the panel comes back from the spec URI its page
 * keeps in its state.
 */
import * as vscode from 'vscode';
import { looksPretrained } from '../core/pretrainedNames';
import { describeWeightsRef } from '../core/weightsOrigin';
import type {
  ArchitectureHost,
  ArchitectureRendered,
  ArchitectureState,
  ArchitectureView,
  ExportFormat,
} from '../protocol/architecture';
import type { SaveResult } from '../protocol/panel';
import { diagramModel } from '../core/diagram';
import { definingRange, specName } from './specText';
import { nodeProperties } from '../core/nodeProperties';
import type { ValidationResult } from '../core/validate';
import { isSpec } from '../editor/specService';
import type { PanelDeps } from './deps';
import { createWebviewPanel, PanelBase, registerPanelCommand, registerPanelSerializer } from './panelBase';

export const ARCHITECTURE_VIEW_TYPE = 'densenet.architecture';
const DEBOUNCE_MS = 100;

class ArchitecturePanel extends PanelBase<ArchitectureState, ArchitectureHost, ArchitectureView> {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private highlight: string[] = [];
  /** Document version -> time of the change, to log the edit-to-render latency. */
  private readonly changedAt = new Map<number, number>();

  constructor(
    readonly uri: vscode.Uri,
    panel: vscode.WebviewPanel,
    deps: PanelDeps,
  ) {
    super(panel, deps, { bundle: 'architecture', title: panel.title, name: 'Architecture' });
    this.channel.handle('reveal', ({ group, keepFocus }) => this.reveal(group, keepFocus === true));
    this.channel.handle('properties', async ({ id }) => {
      const a = this.deps.specs.get(await this.openDocument()).analysis;
      return (a && nodeProperties(a, id)) ?? null;
    });
    this.channel.handle('export', ({ format, data }) => this.export(format, data));
    this.channel.on('rendered', (m) => this.rendered(m));
    const isMine = (u: vscode.Uri) => u.toString() === uri.toString();
    this.own(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (!isMine(e.document.uri) || e.contentChanges.length === 0) return;
        this.changedAt.set(e.document.version, Date.now());
        this.schedule();
      }),
      vscode.workspace.onDidOpenTextDocument((d) => {
        if (isMine(d.uri)) this.schedule();
      }),
      deps.specs.onDidChange((changed) => {
        if (!changed || isMine(changed)) this.schedule();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (isMine(e.textEditor.document.uri)) this.updateHighlight(e.textEditor);
      }),
    );
  }

  private document(): vscode.TextDocument | undefined {
    return vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.uri.toString());
  }

  private async openDocument(): Promise<vscode.TextDocument> {
    return this.document() ?? vscode.workspace.openTextDocument(this.uri);
  }

  private schedule(): void {
    if (!this.pageReady) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.channel.background('model', this.sendModel());
    }, DEBOUNCE_MS);
  }

  private modelOf(doc: vscode.TextDocument): Pick<ArchitectureState, 'model' | 'problem' | 'weights'> {
    const result: ValidationResult = this.deps.specs.get(doc);
    const a = result.analysis;
    if (!a) {
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      return {
        problem: errors.length
          ? `The spec has ${errors.length} error${errors.length === 1 ? '' : 's'}: ${errors[0].message}`
          : 'The model could not be resolved.',
      };
    }
    const ref = result.resolved?.weights;
    const weights =
      ref === undefined ? undefined : describeWeightsRef(ref, a.classes, { pretrained: looksPretrained(ref) });
    return { model: diagramModel(a), problem: a.problem?.message, weights };
  }

  private async sendModel(): Promise<void> {
    if (this.changedAt.size > 50) this.changedAt.clear();
    const doc = await this.openDocument();
    const m = this.modelOf(doc);
    this.channel.notify('model', {
      ...m,
      version: doc.version,
      sentAt: Date.now(),
      changedAt: this.changedAt.get(doc.version),
    });
  }

  protected async fullState(): Promise<ArchitectureState> {
    const doc = await this.openDocument();
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.uri.toString());
    if (editor) this.highlight = this.groupsAt(doc, editor.selection.active);
    return {
      specUri: this.uri.toString(),
      specName: specName(this.uri),
      ...this.modelOf(doc),
      version: doc.version,
      highlight: this.highlight,
    };
  }

  /** The groups whose defining spec text contains `pos` (the most specific text wins). */
  private groupsAt(doc: vscode.TextDocument, pos: vscode.Position): string[] {
    const result = this.deps.specs.get(doc);
    const a = result.analysis;
    if (!a) return [];
    const offset = doc.offsetAt(pos);
    let best: string[] = [];
    let bestLength = Infinity;
    for (const g of a.groups) {
      const range = definingRange(result.parsed, g);
      if (!range || offset < range.offset || offset > range.offset + range.length) continue;
      if (range.length < bestLength) {
        best = [g.name];
        bestLength = range.length;
      } else if (range.length === bestLength) best.push(g.name);
    }
    return best;
  }

  private updateHighlight(editor: vscode.TextEditor): void {
    const groups = this.groupsAt(editor.document, editor.selection.active);
    if (groups.join() === this.highlight.join()) return;
    this.highlight = groups;
    this.channel.notify('highlight', { groups });
  }

  private rendered(m: ArchitectureRendered): void {
    const latency = m.latencyMs !== undefined ? ` (edit to render ${m.latencyMs} ms)` : '';
    this.changedAt.clear();
    this.deps.output.debug(
      `Architecture ${specName(this.uri)} v${m.version}: ${m.nodes} nodes rendered in ${m.renderMs.toFixed(1)} ms${latency}`,
    );
  }

  private async reveal(group: string, keepFocus: boolean): Promise<void> {
    const doc = await this.openDocument();
    const result = this.deps.specs.get(doc);
    const g = result.analysis?.groups.find((x) => x.name === group);
    if (!g) return;
    const range = definingRange(result.parsed, g);
    if (!range) return;
    const selection = new vscode.Selection(doc.positionAt(range.offset), doc.positionAt(range.offset + range.length));
    const existing = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.uri.toString());
    const column =
      existing?.viewColumn ??
      (this.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One);
    const editor = await vscode.window.showTextDocument(doc, {
      viewColumn: column,
      selection,
      preserveFocus: keepFocus,
    });
    editor.selection = selection;
    editor.revealRange(selection, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  /** Asks where and writes the export; a failure is reported by the channel and answered to the page. */
  private async export(format: ExportFormat, data: string): Promise<SaveResult> {
    const base = specName(this.uri);
    const folder =
      this.uri.scheme === 'file' ? vscode.Uri.joinPath(this.uri, '..') : vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      title: `Export the architecture of ${base} as ${format.toUpperCase()}`,
      defaultUri: folder ? vscode.Uri.joinPath(folder, `${base}.architecture.${format}`) : undefined,
      filters: format === 'svg' ? { 'SVG image': ['svg'] } : { 'PNG image': ['png'] },
    });
    if (!target) return { saved: false };
    let bytes: Uint8Array;
    if (format === 'svg') bytes = new TextEncoder().encode(data);
    else {
      const match = /^data:image\/png;base64,(.*)$/s.exec(data);
      if (!match) throw new Error('the webview sent no PNG data');
      bytes = Buffer.from(match[1], 'base64');
    }
    await vscode.workspace.fs.writeFile(target, bytes);
    void vscode.window.showInformationMessage(`Architecture exported to ${vscode.workspace.asRelativePath(target)}`);
    return { saved: true, path: target.fsPath };
  }

  protected onDisposed(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

export function registerArchitecturePanel(deps: PanelDeps): vscode.Disposable[] {
  const panels = new Map<string, ArchitecturePanel>();
  const create = (uri: vscode.Uri, panel: vscode.WebviewPanel) => {
    const p = new ArchitecturePanel(uri, panel, deps);
    panels.set(uri.toString(), p);
    p.onDidDispose(() => {
      if (panels.get(uri.toString()) === p) panels.delete(uri.toString());
    });
  };
  const show = (uri: vscode.Uri) => {
    const open = panels.get(uri.toString());
    if (open) {
      open.panel.reveal(undefined, false);
      return;
    }
    const panel = createWebviewPanel(deps, ARCHITECTURE_VIEW_TYPE, `Architecture: ${specName(uri)}`, {
      viewColumn: vscode.ViewColumn.Beside,
      preserveFocus: false,
    });
    create(uri, panel);
  };
  return [
    registerPanelCommand(deps, 'densenet.showArchitecture', 'Show Architecture failed', (arg?: unknown) => {
      const uri = arg instanceof vscode.Uri ? arg : activeSpecUri();
      if (!uri) {
        void vscode.window.showWarningMessage(
          'Open a *.densenet.json spec first: the architecture is of the spec in the active editor.',
        );
        return;
      }
      show(uri);
    }),
    registerPanelSerializer(deps, ARCHITECTURE_VIEW_TYPE, 'Architecture', (panel, state) => {
      const specUri = state?.specUri;
      if (typeof specUri !== 'string' || !specUri) {
        panel.dispose();
        return;
      }
      const uri = vscode.Uri.parse(specUri);
      if (panels.has(uri.toString())) {
        panel.dispose();
        return;
      }
      create(uri, panel);
    }),
    { dispose: () => [...panels.values()].forEach((p) => p.dispose()) },
  ];
}

function activeSpecUri(): vscode.Uri | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  if (doc && isSpec(doc)) return doc.uri;
  return vscode.window.visibleTextEditors.map((e) => e.document).find(isSpec)?.uri;
}
