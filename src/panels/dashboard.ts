/**
 * The training dashboard (`DenseNet: Open Training Dashboard`): live charts of a training (loss, accuracy, learning
 * rate, images/s), its confusion matrix after each validation, and the spec's past runs with their curves.
 * One panel; it survives reloads (WebviewPanelSerializer) and reattaches to a running training.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { listRuns, runsDirFor, type RunListing } from '../runs/runFolder';
import { METRICS_FILE, readMetrics, type MetricRecord } from '../runs/metricsLog';
import { isResumable } from '../runs/checkpointFiles';
import type {
  CurrentRun,
  DashboardState,
  DashboardUiState,
  FromDashboard,
  HistoryPoint,
  RunSummary,
  ToDashboard,
} from '../protocol/dashboard';
import type { EpochMetrics } from '../protocol/engine';
import { downsample } from '../metrics/dashboardMath';
import type { PanelDeps } from './deps';
import { webviewHtml, webviewOptions } from './webviewHtml';

export const DASHBOARD_VIEW_TYPE = 'densenet.dashboard';
/** Most batch points sent for one run's history (the charts stay fast on long runs). */
const MAX_BATCH_POINTS = 3000;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** metrics.jsonl records -> history points (batches downsampled, epochs all kept). */
export function historyFromRecords(records: readonly MetricRecord[]): HistoryPoint[] {
  const toPoint = (r: MetricRecord): HistoryPoint => {
    const p: HistoryPoint = {
      kind: r.kind,
      epoch: r.epoch,
      step: r.step,
      loss: num(r.loss) ?? NaN,
      acc: num(r.acc) ?? NaN,
    };
    const valLoss = num(r.val_loss);
    const valAcc = num(r.val_acc);
    const lr = num(r.lr);
    const ips = num(r.imagesPerSec);
    if (valLoss !== undefined) p.valLoss = valLoss;
    if (valAcc !== undefined) p.valAcc = valAcc;
    if (lr !== undefined) p.lr = lr;
    if (ips !== undefined) p.imagesPerSec = ips;
    return p;
  };
  const batches = downsample(
    records.filter((r) => r.kind === 'batch'),
    MAX_BATCH_POINTS,
  ).map(toPoint);
  const epochs = records.filter((r) => r.kind === 'epoch').map(toPoint);
  return [...batches, ...epochs].sort((a, b) => a.step - b.step || (a.kind === 'batch' ? -1 : 1));
}

function readHistory(runDir: string): HistoryPoint[] {
  try {
    return historyFromRecords(readMetrics(path.join(runDir, METRICS_FILE)));
  } catch {
    return [];
  }
}

function summary(r: RunListing): RunSummary {
  return {
    runDir: r.runDir,
    runId: r.runId ?? path.basename(r.runDir),
    status: r.status,
    backend: r.backend,
    startedAt: r.startedAt,
    epochs: r.epochs,
    epochsCompleted: r.epochsCompleted,
    bestValAccuracy: r.bestValAccuracy,
    resumable: isResumable(r),
  };
}

class DashboardPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** Epoch ends seen live, by run folder (the confusion matrices are not on disk). */
  private readonly liveEpochs = new Map<string, EpochMetrics[]>();
  private disposed = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: PanelDeps,
    public specUri: vscode.Uri | undefined,
    private readonly onDispose: () => void,
  ) {
    const extensionUri = deps.context.extensionUri;
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri, { bundle: 'dashboard', title: 'Training Dashboard' });
    this.updateTitle();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage(
        (m: FromDashboard) =>
          void this.receive(m).catch((e) =>
            deps.output.error(`Dashboard: ${e instanceof Error ? e.message : String(e)}`),
          ),
      ),
      deps.training.onTrainingEvent((m) => {
        switch (m.type) {
          case 'training/started': {
            const state = deps.training.state;
            if (state && (!this.specUri || state.specUri.toString() !== this.specUri.toString())) {
              // A training of another spec: follow it.
              this.specUri = state.specUri;
              this.updateTitle();
            }
            this.liveEpochs.set(m.payload.runDir, []);
            void this.sendState();
            break;
          }
          case 'training/batch':
            if (this.showsRunning()) this.post({ type: 'batch', metrics: m.payload });
            break;
          case 'training/epochEnd': {
            const runDir = deps.training.state?.started?.runDir;
            if (runDir) {
              const list = this.liveEpochs.get(runDir) ?? [];
              list.push(m.payload);
              this.liveEpochs.set(runDir, list);
            }
            if (this.showsRunning()) {
              this.post({ type: 'epochEnd', metrics: m.payload });
              this.post({ type: 'runs', runs: this.runs() });
            }
            break;
          }
          case 'training/ended':
            // The train request answered: the run has ended. Wait for the controller to let it go, then refresh.
            this.whenIdle(() => void this.sendState());
            break;
          default:
            break;
        }
      }),
    );
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
      void this.sendState();
    }
    this.panel.reveal(undefined, true);
  }

  private post(message: ToDashboard): void {
    if (!this.disposed) void this.panel.webview.postMessage(message);
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
      return listRuns(this.runsDir).map(summary);
    } catch {
      return [];
    }
  }

  async state(): Promise<DashboardState> {
    const info = await this.specInfo();
    this.runsDir = info?.runsDir;
    const runs = this.runs();
    const running = this.deps.training.state;
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
      };
    } else {
      const latest = [...runs].sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
      if (latest) {
        current = {
          runDir: latest.runDir,
          runId: latest.runId,
          live: false,
          status: latest.status,
          epochs: this.liveEpochs.get(latest.runDir) ?? [],
          history: readHistory(latest.runDir),
        };
      }
    }
    const busyElsewhere = running && !this.showsRunning() ? path.basename(running.specUri.fsPath) : undefined;
    return { specUri: this.specUri?.toString(), specName: info?.name, current, runs, busyElsewhere };
  }

  async sendState(): Promise<void> {
    const state = await this.state();
    this.post({ type: 'state', state });
  }

  private async receive(m: FromDashboard): Promise<void> {
    switch (m.type) {
      case 'ready':
        await this.sendState();
        break;
      case 'refresh':
        await this.sendState();
        break;
      case 'stop':
        if (this.deps.training.state) {
          await vscode.commands.executeCommand('densenet.stopTraining');
          this.post({ type: 'status', status: this.deps.training.state?.status ?? 'stopping' });
        }
        break;
      case 'resume':
        void vscode.commands.executeCommand('densenet.resumeTraining', m.runDir ?? this.specUri);
        break;
      case 'train':
        if (this.specUri) void vscode.commands.executeCommand('densenet.train', this.specUri);
        break;
      case 'loadRun': {
        // Only run folders of this spec's listing may be read.
        const known = this.runs().some((r) => r.runDir === m.runDir);
        this.post({ type: 'runHistory', runDir: m.runDir, history: known ? readHistory(m.runDir) : [] });
        break;
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.disposables.forEach((d) => d.dispose());
    this.panel.dispose();
    this.onDispose();
  }
}

let current: DashboardPanel | undefined;

/** Opens (or reveals) the dashboard, showing `specUri` (else the running training's spec, else the active spec). */
export function openDashboard(deps: PanelDeps, specUri?: vscode.Uri): void {
  const uri = specUri instanceof vscode.Uri ? specUri : (deps.training.state?.specUri ?? activeSpecUri());
  if (current) {
    current.reveal(uri);
    return;
  }
  const panel = vscode.window.createWebviewPanel(
    DASHBOARD_VIEW_TYPE,
    'Training Dashboard',
    { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
    webviewOptions(deps.context.extensionUri),
  );
  current = new DashboardPanel(panel, deps, uri, () => {
    current = undefined;
  });
}

function activeSpecUri(): vscode.Uri | undefined {
  const doc =
    vscode.window.activeTextEditor?.document ??
    vscode.window.visibleTextEditors.map((e) => e.document).find((d) => d.uri.path.endsWith('.densenet.json'));
  return doc && doc.uri.path.endsWith('.densenet.json') ? doc.uri : undefined;
}

export function registerDashboardPanel(deps: PanelDeps): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('densenet.openDashboard', (uri?: vscode.Uri) => openDashboard(deps, uri)),
    vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        const ui = state as Partial<DashboardUiState> | undefined;
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
        current = new DashboardPanel(panel, deps, uri, () => {
          current = undefined;
        });
      },
    }),
    { dispose: () => current?.dispose() },
  ];
}
