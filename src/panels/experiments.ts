/**
 * Compare Runs (`DenseNet: Compare Runs`): the experiment table of a spec's runs, or of every spec in a folder,
 * with the hyperparameters of the spec snapshot each run trained with as columns (the differing ones
 * highlighted), final and best metrics, duration; rename, notes, delete (to the trash); overlaid curves; CSV
 * export; TensorBoard. The table follows the run folders live (a file watcher, debounced). One panel; it survives
 * reloads. Contract: src/protocol/experiments.ts; data: ./experimentsData.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { paramKeys, tableColumns, toCsv } from '../metrics/experimentTable';
import type {
  ExperimentScope,
  ExperimentsHost,
  ExperimentsState,
  ExperimentsView,
  RunCurves,
} from '../protocol/experiments';
import type { SaveResult } from '../protocol/panel';
import {
  listRuns,
  MAX_DISPLAY_NAME,
  MAX_NOTES,
  readRunListing,
  runsDirFor,
  runsRoot,
  setRunLabels,
} from '../runs/runFolder';
import type { PanelDeps } from './deps';
import { ExperimentReader, findOnPath, folderRuns, readCurves, tensorboardCommand } from './experimentsData';
import { createWebviewPanel, PanelBase, registerPanelCommand, registerPanelSerializer } from './panelBase';

export const EXPERIMENTS_VIEW_TYPE = 'densenet.experiments';
/** Quiet time after the last change in a run folder before the table is read again (a training writes every batch). */
const REFRESH_DEBOUNCE_MS = 400;
/**
 * While the panel is visible the run folders are also read at this interval: file watchers can miss or delay
 * events (remote and network file systems, a loaded machine). Reads of unchanged runs come from a cache, and an
 * unchanged table is not sent again.
 */
const POLL_MS = 2000;

/** What the panel shows the runs of: a spec (and its folder), or a folder. */
export interface ExperimentsTarget {
  specUri?: vscode.Uri;
  folder: vscode.Uri;
  scope: ExperimentScope;
}

const isSpecUri = (uri: vscode.Uri): boolean => uri.path.endsWith('.densenet.json');

/** The workspace folder holding `uri` (where `.densenet/runs` is), else the folder itself. */
function baseFolderOf(uri: vscode.Uri, isFolder: boolean): string {
  return vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? (isFolder ? uri.fsPath : path.dirname(uri.fsPath));
}

class ExperimentsPanel extends PanelBase<ExperimentsState, ExperimentsHost, ExperimentsView> {
  private readonly reader = new ExperimentReader();
  private watcher: vscode.FileSystemWatcher | undefined;
  private watchedBase: string | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** The run folders of the table last sent: the only ones a request may name. */
  private shown = new Set<string>();
  private lastState: ExperimentsState | undefined;
  private lastSent = '';
  private readonly poll: NodeJS.Timeout;

  constructor(
    panel: vscode.WebviewPanel,
    deps: PanelDeps,
    public target: ExperimentsTarget,
  ) {
    super(panel, deps, { bundle: 'experiments', title: 'Compare Runs', name: 'Compare Runs' });
    this.updateTitle();
    this.channel.handle('setScope', ({ scope }) => {
      this.target.scope = scope === 'spec' && this.target.specUri ? 'spec' : 'folder';
      this.updateTitle();
      this.refresh(0);
    });
    this.channel.handle('rename', ({ runDir }) => this.rename(this.known(runDir)));
    this.channel.handle('editNotes', ({ runDir }) => this.editNotes(this.known(runDir)));
    this.channel.handle('deleteRun', ({ runDir }) => this.deleteRun(this.known(runDir)));
    this.channel.handle('curves', ({ runDirs }): RunCurves[] =>
      runDirs.map((d) => ({ runDir: d, points: readCurves(this.known(d)) })),
    );
    this.channel.handle('exportCsv', ({ columns, order }) => this.exportCsv(columns, order));
    this.channel.handle('openTensorBoard', () => this.openTensorBoard());
    this.channel.handle('copy', async ({ text }) => {
      await vscode.env.clipboard.writeText(text);
    });
    this.poll = setInterval(() => {
      if (this.panel.visible && !this.refreshTimer) this.refresh(0);
    }, POLL_MS);
    // A training's epoch ends and its end also refresh (the watcher may be slow on some file systems).
    this.own(
      deps.training.onTrainingEvent((m) => {
        if (m.type === 'training/epochEnd' || m.type === 'training/ended' || m.type === 'training/started')
          this.refresh();
      }),
    );
  }

  private known(runDir: string): string {
    if (!this.shown.has(runDir)) throw new Error(`${runDir} is not a run of this table: refresh the table.`);
    return runDir;
  }

  private updateTitle(): void {
    this.panel.title =
      this.target.scope === 'spec' && this.target.specUri
        ? `Runs: ${path.basename(this.target.specUri.fsPath).replace(/\.densenet\.json$/, '')}`
        : `Runs: ${path.basename(this.target.folder.fsPath)}/`;
  }

  show(target: ExperimentsTarget): void {
    this.target = target;
    this.updateTitle();
    this.refresh(0);
    this.panel.reveal(undefined, false);
  }

  /** The spec's name as its runs folder is named (the resolved `name`, else the file name). */
  private async specName(uri: vscode.Uri): Promise<string> {
    let name = path.basename(uri.fsPath).replace(/\.densenet\.json$/, '');
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      name = this.deps.specs.get(doc).resolved?.name ?? name;
    } catch {
      // the spec is gone: its file name will do
    }
    return name;
  }

  private watch(base: string): void {
    if (this.watchedBase === base) return;
    this.watcher?.dispose();
    this.watchedBase = base;
    const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, '.densenet/runs/**'));
    w.onDidChange(() => this.refresh());
    w.onDidCreate(() => this.refresh());
    w.onDidDelete(() => this.refresh());
    this.watcher = w;
  }

  /** Reads the table again after `delay` ms of quiet, and sends it to the page. */
  refresh(delay = REFRESH_DEBOUNCE_MS): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      if (this.disposed || !this.pageReady) return;
      this.channel.background(
        'refresh',
        this.fullState().then((s) => {
          const text = JSON.stringify(s);
          if (text === this.lastSent) return;
          this.lastSent = text;
          this.channel.notify('state', s);
        }),
      );
    }, delay);
  }

  protected async fullState(): Promise<ExperimentsState> {
    const { specUri, folder } = this.target;
    const scope: ExperimentScope = this.target.scope === 'spec' && specUri ? 'spec' : 'folder';
    const base = baseFolderOf(specUri ?? folder, !specUri);
    this.watch(base);
    let spec: ExperimentsState['spec'];
    let runs;
    let logdir: string;
    if (specUri) spec = { name: await this.specName(specUri), uri: specUri.toString() };
    if (scope === 'spec' && spec) {
      logdir = runsDirFor(base, spec.name);
      runs = listRuns(logdir);
    } else {
      runs = folderRuns(base, folder.fsPath);
      logdir = runsRoot(base);
    }
    const now = Date.now();
    const rows = runs.map((r) => this.reader.row(r, now));
    this.reader.keepOnly(rows.map((r) => r.runDir));
    this.shown = new Set(rows.map((r) => r.runDir));
    const state: ExperimentsState = {
      scope,
      folderUri: folder.toString(),
      folderLabel: vscode.workspace.asRelativePath(folder, true) || path.basename(folder.fsPath),
      rows,
      tensorboard: { available: !!findOnPath('tensorboard'), command: tensorboardCommand(logdir) },
    };
    if (spec) state.spec = spec;
    this.lastState = state;
    return state;
  }

  private runLabel(runDir: string): string {
    const row = this.lastState?.rows.find((r) => r.runDir === runDir);
    return row ? `"${row.name}" (${row.spec})` : path.basename(runDir);
  }

  private async rename(runDir: string): Promise<boolean> {
    const row = this.lastState?.rows.find((r) => r.runDir === runDir);
    const name = await vscode.window.showInputBox({
      title: `Rename run ${path.basename(runDir)}`,
      prompt: 'The name the table shows (the run folder keeps its id). Empty: the run id.',
      value: row?.displayName ?? '',
      validateInput: (v) => (v.trim().length > MAX_DISPLAY_NAME ? `At most ${MAX_DISPLAY_NAME} characters.` : null),
    });
    if (name === undefined) return false;
    setRunLabels(runDir, { displayName: name });
    this.refresh(0);
    return true;
  }

  private async editNotes(runDir: string): Promise<boolean> {
    const row = this.lastState?.rows.find((r) => r.runDir === runDir);
    const notes = await vscode.window.showInputBox({
      title: `Notes on ${this.runLabel(runDir)}`,
      prompt: 'Free text kept in the run (run.json). Empty: no notes.',
      value: row?.notes ?? '',
      validateInput: (v) => (v.length > MAX_NOTES ? `At most ${MAX_NOTES} characters.` : null),
    });
    if (notes === undefined) return false;
    setRunLabels(runDir, { notes });
    this.refresh(0);
    return true;
  }

  /** Confirms, then moves the run folder to the trash (or, where the file system has none, deletes it if the user agrees). */
  private async deleteRun(runDir: string): Promise<boolean> {
    const label = this.runLabel(runDir);
    if (readRunListing(runDir)?.status === 'running') {
      void vscode.window.showWarningMessage(
        `Run ${label} is training: stop it first (DenseNet: Stop Training), then delete it.`,
      );
      return false;
    }
    const ok = await vscode.window.showWarningMessage(
      `Delete run ${label}? Its folder (checkpoints, metrics, TensorBoard logs) goes to the trash.`,
      { modal: true },
      'Move to Trash',
    );
    if (ok !== 'Move to Trash') return false;
    const uri = vscode.Uri.file(runDir);
    try {
      await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: true });
    } catch (e) {
      if (!fs.existsSync(runDir)) throw e;
      const reason = e instanceof Error ? e.message : String(e);
      const again = await vscode.window.showWarningMessage(
        `The run could not go to the trash: ${reason} Delete run ${label} permanently?`,
        { modal: true },
        'Delete Permanently',
      );
      if (again !== 'Delete Permanently') return false;
      await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: false });
    }
    this.deps.output.info(`Compare Runs: deleted run ${runDir}`);
    this.refresh(0);
    return true;
  }

  /** Writes the table as CSV to `target`, or where the user picks. Columns and order default to the whole table. */
  async exportCsv(columns?: string[], order?: string[], target?: vscode.Uri): Promise<SaveResult> {
    const state = this.lastState ?? (await this.fullState());
    const all = tableColumns(paramKeys(state.rows), state.rows);
    const cols = columns?.length
      ? columns.map((k) => all.find((c) => c.key === k)).filter((c) => c !== undefined)
      : all;
    const byDir = new Map(state.rows.map((r) => [r.runDir, r]));
    const rows = order?.length ? order.map((d) => byDir.get(d)).filter((r) => r !== undefined) : state.rows;
    if (!target) {
      const base = this.target.specUri
        ? vscode.Uri.joinPath(this.target.specUri, '..')
        : (vscode.workspace.getWorkspaceFolder(this.target.folder)?.uri ?? this.target.folder);
      const stem = state.scope === 'spec' && state.spec ? state.spec.name : path.basename(this.target.folder.fsPath);
      target = await vscode.window.showSaveDialog({
        title: 'Export the runs table as CSV',
        defaultUri: vscode.Uri.joinPath(base, `${stem}.runs.csv`),
        filters: { 'CSV table': ['csv'] },
      });
      if (!target) return { saved: false };
    }
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(toCsv(cols, rows)));
    void vscode.window.showInformationMessage(
      `Runs table exported to ${vscode.workspace.asRelativePath(target)} (${rows.length} runs).`,
    );
    return { saved: true, path: target.fsPath };
  }

  private openTensorBoard(): boolean {
    const state = this.lastState;
    if (!state?.tensorboard || !findOnPath('tensorboard')) return false;
    const terminal = vscode.window.createTerminal({ name: 'TensorBoard' });
    terminal.sendText(state.tensorboard.command);
    terminal.show();
    return true;
  }

  protected onDisposed(): void {
    clearInterval(this.poll);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.watcher?.dispose();
  }
}

let current: ExperimentsPanel | undefined;

function adopt(panel: vscode.WebviewPanel, deps: PanelDeps, target: ExperimentsTarget): ExperimentsPanel {
  const p = new ExperimentsPanel(panel, deps, target);
  current = p;
  p.onDidDispose(() => {
    if (current === p) current = undefined;
  });
  return p;
}

/** What to show for a command argument: a spec file, a folder, else the active spec, else the first workspace folder. */
async function targetFor(arg: unknown): Promise<ExperimentsTarget | undefined> {
  let uri = arg instanceof vscode.Uri ? arg : undefined;
  if (!uri) {
    const doc =
      vscode.window.activeTextEditor?.document ??
      vscode.window.visibleTextEditors.map((e) => e.document).find((d) => isSpecUri(d.uri));
    uri = doc && isSpecUri(doc.uri) ? doc.uri : vscode.workspace.workspaceFolders?.[0]?.uri;
  }
  if (!uri) return undefined;
  if (isSpecUri(uri)) return { specUri: uri, folder: vscode.Uri.joinPath(uri, '..'), scope: 'spec' };
  const stat = await vscode.workspace.fs.stat(uri);
  const folder = stat.type & vscode.FileType.Directory ? uri : vscode.Uri.joinPath(uri, '..');
  return { folder, scope: 'folder' };
}

/** Opens (or reveals) Compare Runs for a spec, a folder, or the active spec. */
export async function openExperiments(deps: PanelDeps, arg?: unknown): Promise<void> {
  const target = await targetFor(arg);
  if (!target) {
    void vscode.window.showWarningMessage(
      'Open a folder or a *.densenet.json spec first: Compare Runs shows its runs.',
    );
    return;
  }
  if (current) {
    current.show(target);
    return;
  }
  const panel = createWebviewPanel(deps, EXPERIMENTS_VIEW_TYPE, 'Compare Runs', {
    viewColumn: vscode.ViewColumn.Active,
    preserveFocus: false,
  });
  adopt(panel, deps, target);
}

export function registerExperimentsPanel(deps: PanelDeps): vscode.Disposable[] {
  return [
    registerPanelCommand(deps, 'densenet.compareRuns', 'Compare Runs', (arg?: unknown) => openExperiments(deps, arg)),
    // For tests and keybindings: the open table as CSV, to a path (else the save dialog).
    registerPanelCommand(deps, 'densenet.exportRunsCsv', 'Compare Runs', async (target?: unknown) => {
      if (!current) throw new Error('Open DenseNet: Compare Runs first: the CSV is the table it shows.');
      const uri =
        target instanceof vscode.Uri ? target : typeof target === 'string' ? vscode.Uri.file(target) : undefined;
      return current.exportCsv(undefined, undefined, uri);
    }),
    registerPanelSerializer(deps, EXPERIMENTS_VIEW_TYPE, 'Compare Runs', (panel, ui) => {
      const parse = (v: unknown) => {
        try {
          return typeof v === 'string' ? vscode.Uri.parse(v, true) : undefined;
        } catch {
          return undefined;
        }
      };
      const specUri = parse(ui?.specUri);
      const folder = parse(ui?.folder) ?? (specUri ? vscode.Uri.joinPath(specUri, '..') : undefined);
      if (current || !folder) {
        panel.dispose();
        return;
      }
      adopt(panel, deps, { specUri, folder, scope: ui?.scope === 'folder' || !specUri ? 'folder' : 'spec' });
    }),
    { dispose: () => current?.dispose() },
  ];
}
