/**
 * The training dashboard (`DenseNet: Open Training Dashboard`): live charts of a training (loss, accuracy, learning
 * rate, images/s), its confusion matrix after each validation, and the spec's past runs with their curves.
 * One panel; it survives reloads (WebviewPanelSerializer) and reattaches to a running training. Contract:
 * src/protocol/dashboard.ts.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { listRuns, runsDirFor } from '../runs/runFolder';
import type { CurrentRun, DashboardHost, DashboardState, DashboardView, RunSummary } from '../protocol/dashboard';
import type { EpochMetrics } from '../protocol/engine';
import type { TrainingEvent } from '../editor/trainingController';
import { readHistory, readSavedEvaluations, runSummary } from './dashboardData';
import { openExamplesGallery } from './evaluationGallery';
import type { PanelDeps } from './deps';
import { createWebviewPanel, PanelBase, registerPanelCommand, registerPanelSerializer } from './panelBase';

export const DASHBOARD_VIEW_TYPE = 'densenet.dashboard';

class DashboardPanel extends PanelBase<DashboardState, DashboardHost, DashboardView> {
  /** Epoch ends seen live, by run folder (their confusion matrices are also in each run's evaluations.jsonl). */
  private readonly liveEpochs = new Map<string, EpochMetrics[]>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    panel: vscode.WebviewPanel,
    deps: PanelDeps,
    public specUri: vscode.Uri | undefined,
  ) {
    super(panel, deps, { bundle: 'dashboard', title: 'Training Dashboard', name: 'Dashboard' });
    this.updateTitle();
    this.channel.handle('stop', () => this.stop());
    this.channel.handle('resume', ({ runDir }) => {
      // Not awaited: the command runs the whole training.
      this.channel.background(
        'resume',
        vscode.commands.executeCommand('densenet.resumeTraining', runDir ?? this.specUri),
      );
    });
    this.channel.handle('train', () => {
      if (this.specUri)
        this.channel.background('train', vscode.commands.executeCommand('densenet.train', this.specUri));
    });
    this.channel.handle('runHistory', ({ runDir }) => {
      // Only run folders of this spec's listing may be read.
      const known = this.runs().some((r) => r.runDir === runDir);
      return known ? readHistory(runDir) : [];
    });
    this.channel.handle('evaluate', ({ runDir }) => {
      const target = runDir ?? this.shownRunDir;
      if (!target || !this.runs().some((r) => r.runDir === target))
        throw new Error('Pick a run of this spec to evaluate.');
      this.pinnedRun = target;
      // Not awaited: the command shows its progress and, once saved, the dashboard shows the result.
      this.channel.background('evaluate', vscode.commands.executeCommand('densenet.evaluate', { runDir: target }));
    });
    this.channel.handle('openExamples', (cell) => {
      if (!this.shownRunDir) throw new Error('No run is shown.');
      openExamplesGallery(this.deps, { runDir: this.shownRunDir, ...cell });
    });
    this.channel.handle('compareRuns', async () => {
      await vscode.commands.executeCommand('densenet.compareRuns', this.specUri);
    });
    this.own(deps.training.onTrainingEvent((m) => this.onTrainingEvent(m)));
  }

  /** The run shown when no training of this spec runs: the one last evaluated from here, else the newest. */
  private pinnedRun: string | undefined;
  private shownRunDir: string | undefined;

  /** After an evaluate of `runDir`: shows it if it is a run of this dashboard's spec (else changes nothing). */
  showEvaluated(runDir: string): void {
    this.pinnedRun = runDir;
    if (!this.runsDir || path.dirname(runDir) === this.runsDir) this.sendState();
  }

  private onTrainingEvent(m: TrainingEvent): void {
    const training = this.deps.training;
    switch (m.type) {
      case 'training/started': {
        const state = training.state;
        if (state && (!this.specUri || state.specUri.toString() !== this.specUri.toString())) {
          // A training of another spec: follow it.
          this.specUri = state.specUri;
          this.updateTitle();
        }
        this.liveEpochs.set(m.payload.runDir, []);
        this.pinnedRun = undefined; // the new run is the one to show
        this.sendState();
        break;
      }
      case 'training/batch':
        if (this.showsRunning()) this.channel.notify('batch', m.payload);
        break;
      case 'training/epochEnd': {
        const runDir = training.state?.started?.runDir;
        if (runDir) {
          const list = this.liveEpochs.get(runDir) ?? [];
          list.push(m.payload);
          this.liveEpochs.set(runDir, list);
        }
        if (this.showsRunning()) {
          this.channel.notify('epochEnd', m.payload);
          this.channel.notify('runs', this.runs());
        }
        break;
      }
      case 'training/ended':
        // The train request answered: the run has ended. Wait for the controller to let it go, then refresh.
        this.whenIdle(() => this.sendState());
        break;
      default:
        break;
    }
  }

  private showsRunning(): boolean {
    const s = this.deps.training.state;
    return !!s && !!this.specUri && s.specUri.toString() === this.specUri.toString();
  }

  private whenIdle(then: () => void, tries = 40): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.disposed) return;
      if (this.deps.training.state && tries > 0) this.whenIdle(then, tries - 1);
      else then();
    }, 250);
  }

  private updateTitle(): void {
    this.panel.title = this.specUri
      ? `Training: ${path.basename(this.specUri.fsPath).replace(/\.densenet\.json$/, '')}`
      : 'Training Dashboard';
  }

  reveal(specUri?: vscode.Uri): void {
    if (specUri && specUri.toString() !== this.specUri?.toString()) {
      this.specUri = specUri;
      this.updateTitle();
      this.sendState();
    }
    this.panel.reveal(undefined, true);
  }

  /** The spec's name (as the engine names its runs folder) and the runs folder. */
  private async specInfo(): Promise<{ name: string; runsDir: string } | undefined> {
    const running = this.deps.training.state;
    if (running?.started && this.showsRunning()) {
      return {
        name: path.basename(path.dirname(running.started.runDir)),
        runsDir: path.dirname(running.started.runDir),
      };
    }
    if (!this.specUri) return undefined;
    let name = path.basename(this.specUri.fsPath).replace(/\.densenet\.json$/, '');
    try {
      const doc = await vscode.workspace.openTextDocument(this.specUri);
      name = this.deps.specs.get(doc).resolved?.name ?? name;
    } catch {
      // the spec is gone: its file name will do
    }
    const base = vscode.workspace.getWorkspaceFolder(this.specUri)?.uri.fsPath ?? path.dirname(this.specUri.fsPath);
    return { name, runsDir: runsDirFor(base, name) };
  }

  private runsDir: string | undefined;

  private runs(): RunSummary[] {
    if (!this.runsDir) return [];
    try {
      return listRuns(this.runsDir).map(runSummary);
    } catch {
      return [];
    }
  }

  protected async fullState(): Promise<DashboardState> {
    const info = await this.specInfo();
    this.runsDir = info?.runsDir;
    const runs = this.runs();
    const running = this.deps.training.state;
    // A run of the spec trained by a live engine this window does not follow yet (started before a reload):
    // follow it; its `training/started` brings the live state.
    if (!running && this.runsDir && runs.some((r) => r.status === 'running'))
      void this.deps.training.reattach(this.runsDir);
    let current: CurrentRun | undefined;
    if (running && this.showsRunning()) {
      const runDir = running.started?.runDir ?? '';
      current = {
        runDir,
        runId: running.started?.runId ?? '',
        live: true,
        status: running.status,
        started: running.started,
        lastBatch: running.lastBatch,
        epochs: running.epochs,
        history: runDir ? readHistory(runDir) : [],
        evaluations: runDir ? readSavedEvaluations(runDir) : [],
      };
    } else {
      const latest =
        runs.find((r) => r.runDir === this.pinnedRun) ??
        [...runs].sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
      if (latest) {
        current = {
          runDir: latest.runDir,
          runId: latest.runId,
          live: false,
          status: latest.status,
          epochs: this.liveEpochs.get(latest.runDir) ?? [],
          history: readHistory(latest.runDir),
          evaluations: readSavedEvaluations(latest.runDir),
        };
      }
    }
    this.shownRunDir = current?.runDir || undefined;
    const busyElsewhere = running && !this.showsRunning() ? path.basename(running.specUri.fsPath) : undefined;
    return { specUri: this.specUri?.toString(), specName: info?.name, current, runs, busyElsewhere };
  }

  /** Announces the full state again (what the dashboard shows changed). */
  private sendState(): void {
    this.channel.background(
      'state',
      this.fullState().then((state) => this.channel.notify('state', state)),
    );
  }

  /** Stops the running training; its status then, or null when nothing was running. */
  private async stop(): Promise<string | null> {
    if (!this.deps.training.state) return null;
    await vscode.commands.executeCommand('densenet.stopTraining');
    return this.deps.training.state?.status ?? 'stopping';
  }

  protected onDisposed(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
  }
}

let current: DashboardPanel | undefined;

function adopt(panel: vscode.WebviewPanel, deps: PanelDeps, specUri: vscode.Uri | undefined): void {
  const p = new DashboardPanel(panel, deps, specUri);
  current = p;
  p.onDidDispose(() => {
    if (current === p) current = undefined;
  });
}

/** Opens (or reveals) the dashboard, showing `specUri` (else the running training's spec, else the active spec). */
export function openDashboard(deps: PanelDeps, specUri?: vscode.Uri): void {
  const uri = specUri instanceof vscode.Uri ? specUri : (deps.training.state?.specUri ?? activeSpecUri());
  if (current) {
    current.reveal(uri);
    return;
  }
  const panel = createWebviewPanel(deps, DASHBOARD_VIEW_TYPE, 'Training Dashboard', {
    viewColumn: vscode.ViewColumn.Beside,
    preserveFocus: true,
  });
  adopt(panel, deps, uri);
}

function activeSpecUri(): vscode.Uri | undefined {
  const doc =
    vscode.window.activeTextEditor?.document ??
    vscode.window.visibleTextEditors.map((e) => e.document).find((d) => d.uri.path.endsWith('.densenet.json'));
  return doc && doc.uri.path.endsWith('.densenet.json') ? doc.uri : undefined;
}

/** After an evaluate of `runDir`: the open dashboard shows it (when it is a run of its spec). */
export function showEvaluatedRun(runDir: string): void {
  current?.showEvaluated(runDir);
}

export function registerDashboardPanel(deps: PanelDeps): vscode.Disposable[] {
  return [
    registerPanelCommand(deps, 'densenet.openDashboard', 'Open Training Dashboard', (uri?: unknown) =>
      openDashboard(deps, uri instanceof vscode.Uri ? uri : undefined),
    ),
    registerPanelSerializer(deps, DASHBOARD_VIEW_TYPE, 'Dashboard', (panel, ui) => {
      let uri: vscode.Uri | undefined;
      try {
        uri = typeof ui?.specUri === 'string' ? vscode.Uri.parse(ui.specUri) : undefined;
      } catch {
        uri = undefined;
      }
      uri ??= deps.training.state?.specUri;
      if (current) {
        // Only one dashboard: keep the one already open.
        panel.dispose();
        return;
      }
      adopt(panel, deps, uri);
    }),
    { dispose: () => current?.dispose() },
  ];
}
