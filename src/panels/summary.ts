/**
 * The model summary panel (`DenseNet: Show Model Summary`): a Keras-style table of the spec's layers (rows,
 * groups, totals: src/core/modelSummary.ts), one panel per spec. The host owns the spec: it announces the summary
 * after each edit (debounced; while the spec has errors it says so and the page keeps the last good table), scrolls
 * the page to a part a block lens asks for, reveals the spec text of a clicked row and copies the text summary
 * (contract: src/protocol/summary.ts). After a reload the panel comes back from the spec URI its page keeps.
 */
import * as vscode from 'vscode';
import { definingRange, specName } from './specText';
import { type ModelSummary, modelSummary } from '../core/modelSummary';
import type { SummaryHost, SummaryRendered, SummaryState, SummaryUpdate, SummaryView } from '../protocol/summary';
import { isSpec } from '../editor/specService';
import type { PanelDeps } from './deps';
import { createWebviewPanel, PanelBase, registerPanelCommand, registerPanelSerializer } from './panelBase';

export const SUMMARY_VIEW_TYPE = 'densenet.summary';
const DEBOUNCE_MS = 150;

class SummaryPanel extends PanelBase<SummaryState, SummaryHost, SummaryView> {
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The part to scroll to on the next full state (a block lens opened the panel). */
  private focus: string | undefined;
  /** The text of the version the page shows last ("Copy as text" copies what is on screen). */
  private lastText: string | undefined;

  constructor(
    readonly uri: vscode.Uri,
    panel: vscode.WebviewPanel,
    deps: PanelDeps,
    focus?: string,
  ) {
    super(panel, deps, { bundle: 'summary', title: panel.title, name: 'Model summary' });
    this.focus = focus;
    this.channel.handle('reveal', ({ layer }) => this.reveal(layer));
    this.channel.handle('copyText', () => this.copyText());
    this.channel.on('rendered', (m) => this.rendered(m));
    const isMine = (u: vscode.Uri) => u.toString() === uri.toString();
    this.own(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (isMine(e.document.uri) && e.contentChanges.length > 0) this.schedule();
      }),
      vscode.workspace.onDidOpenTextDocument((d) => {
        if (isMine(d.uri)) this.schedule();
      }),
      deps.specs.onDidChange((changed) => {
        if (!changed || isMine(changed)) this.schedule();
      }),
    );
  }

  private async openDocument(): Promise<vscode.TextDocument> {
    return (
      vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.uri.toString()) ??
      vscode.workspace.openTextDocument(this.uri)
    );
  }

  private schedule(): void {
    if (!this.pageReady) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.channel.background('summary', this.sendSummary());
    }, DEBOUNCE_MS);
  }

  private async sendSummary(): Promise<void> {
    this.channel.notify('summary', this.update(await this.openDocument()));
  }

  /** The summary of the document as it is now, or the spec's errors. */
  private update(doc: vscode.TextDocument): SummaryUpdate {
    const u = summaryUpdate(this.deps, doc);
    if (u.summary) this.lastText = u.summary.text;
    return u;
  }

  /** Scrolls the page to a part (a block lens while the panel is open). */
  showPart(group: string | undefined): void {
    if (!group) return;
    if (this.pageReady) this.channel.notify('focus', { group });
    else this.focus = group;
  }

  protected async fullState(): Promise<SummaryState> {
    const doc = await this.openDocument();
    const focus = this.focus;
    this.focus = undefined;
    return { specUri: this.uri.toString(), specName: specName(this.uri), ...this.update(doc), focus };
  }

  private rendered(m: SummaryRendered): void {
    this.deps.output.debug(
      `Model summary ${specName(this.uri)} v${m.version}: ${m.rows} rows rendered in ${m.renderMs.toFixed(1)} ms`,
    );
  }

  private async copyText(): Promise<{ text: string }> {
    const text = this.lastText ?? this.update(await this.openDocument()).summary?.text;
    if (!text) throw new Error('the spec has errors and no summary was shown yet: fix the errors first');
    await vscode.env.clipboard.writeText(text);
    return { text };
  }

  /** Selects the spec text that defines the part of `layer` (its blockConfig entry, the stem, `classes`...). */
  private async reveal(layer: string): Promise<void> {
    const doc = await this.openDocument();
    const result = this.deps.specs.get(doc);
    const a = result.analysis;
    const l = a?.layers.find((x) => x.name === layer);
    if (!a || !l) return;
    const g = a.groups[l.group];
    const range = definingRange(result.parsed, g);
    if (!range) return;
    const selection = new vscode.Selection(doc.positionAt(range.offset), doc.positionAt(range.offset + range.length));
    const existing = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.uri.toString());
    const column =
      existing?.viewColumn ??
      (this.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One);
    const editor = await vscode.window.showTextDocument(doc, { viewColumn: column, selection, preserveFocus: true });
    editor.selection = selection;
    editor.revealRange(selection, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  protected onDisposed(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/**
 * The summary of `doc`, or what stops it (the first error and how many there are): a syntax error, or an error
 * that leaves no model. Other errors (a data path) do not stop the summary: the Problems view lists them.
 */
function summaryUpdate(deps: PanelDeps, doc: vscode.TextDocument): SummaryUpdate {
  const result = deps.specs.get(doc);
  const a = result.analysis;
  // Broken JSON mid-edit is read as best it can be: its figures would flicker, so the last good table stays.
  const broken = result.parsed.syntaxErrors.length > 0;
  if (a && result.resolved && !a.problem && !broken)
    return { summary: modelSummary(a, result.resolved), version: doc.version };
  const errors = broken ? result.parsed.syntaxErrors : result.diagnostics.filter((d) => d.severity === 'error');
  const first = errors[0];
  const where = first ? ` (line ${doc.positionAt(first.offset).line + 1})` : '';
  return {
    problem: a?.problem
      ? a.problem.message
      : first
        ? `The spec has ${errors.length} error${errors.length === 1 ? '' : 's'}: ${first.message}${where}`
        : 'The model could not be resolved: see the Problems view.',
    version: doc.version,
  };
}

function activeSpecUri(): vscode.Uri | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  if (doc && isSpec(doc)) return doc.uri;
  return vscode.window.visibleTextEditors.map((e) => e.document).find(isSpec)?.uri;
}

/**
 * `densenet.showSummary(uri?, group?)`: opens (or reveals) the summary panel of the spec beside it, scrolled to
 * `group` (e.g. `conv3`) when given. Returns the summary shown (undefined while the spec has errors), for tests.
 */
export function registerSummaryPanel(deps: PanelDeps): vscode.Disposable[] {
  const panels = new Map<string, SummaryPanel>();
  const create = (uri: vscode.Uri, panel: vscode.WebviewPanel, focus?: string) => {
    const p = new SummaryPanel(uri, panel, deps, focus);
    panels.set(uri.toString(), p);
    p.onDidDispose(() => {
      if (panels.get(uri.toString()) === p) panels.delete(uri.toString());
    });
  };
  const show = async (uri: vscode.Uri, group: string | undefined): Promise<ModelSummary | undefined> => {
    const open = panels.get(uri.toString());
    if (open) {
      open.panel.reveal(undefined, false);
      open.showPart(group);
    } else {
      const panel = createWebviewPanel(deps, SUMMARY_VIEW_TYPE, `Summary: ${specName(uri)}`, {
        viewColumn: vscode.ViewColumn.Beside,
        preserveFocus: false,
      });
      create(uri, panel, group);
    }
    return summaryUpdate(deps, await vscode.workspace.openTextDocument(uri)).summary;
  };
  return [
    registerPanelCommand(
      deps,
      'densenet.showSummary',
      'Show Model Summary failed',
      (arg?: unknown, group?: unknown) => {
        const uri = arg instanceof vscode.Uri ? arg : activeSpecUri();
        if (!uri) {
          void vscode.window.showWarningMessage(
            'Open a *.densenet.json spec first: the summary is of the spec in the active editor.',
          );
          return undefined;
        }
        return show(uri, typeof group === 'string' ? group : undefined);
      },
    ),
    registerPanelSerializer(deps, SUMMARY_VIEW_TYPE, 'Model summary', (panel, state) => {
      const specUri = state?.specUri;
      if (typeof specUri !== 'string' || !specUri || panels.has(vscode.Uri.parse(specUri).toString())) {
        panel.dispose();
        return;
      }
      create(vscode.Uri.parse(specUri), panel);
    }),
    { dispose: () => [...panels.values()].forEach((p) => p.dispose()) },
  ];
}
