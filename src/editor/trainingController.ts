/**
 * Training from the editor: `DenseNet: Train Model`, `Stop Training`, `Resume Training`. Each run has its
 * own engine process and its own lifetime (disposables); progress shows in a notification (epoch, loss,
 * ETA, cancel) and in the status bar. A crash marks the run failed and keeps its last checkpoint.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type {
  BackendPreference,
  BatchMetrics,
  EpochMetrics,
  FromEngine,
  TrainingFinished,
  TrainingStarted,
} from '../protocol/engine';
import { isResumable } from '../runs/checkpointFiles';
import { listRuns, markRunFailed, runsDirFor } from '../runs/runFolder';
import { EngineProcess } from './engineProcess';
import { isSpec, type SpecService } from './specService';

export interface RunState {
  specUri: vscode.Uri;
  started?: TrainingStarted;
  lastBatch?: BatchMetrics;
  epochs: EpochMetrics[];
  status: 'starting' | 'running' | 'stopping';
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function describeBatch(m: BatchMetrics, epochs: number): string {
  return `epoch ${m.epoch}/${epochs} · step ${m.step}/${m.stepsPerEpoch} · loss ${m.loss.toFixed(4)} · acc ${(m.accuracy * 100).toFixed(1)}% · ${m.imagesPerSecond.toFixed(0)} img/s · ETA ${formatEta(m.etaSeconds)}`;
}

export class TrainingController implements vscode.Disposable {
  private current: { engine: EngineProcess; state: RunState; disposables: vscode.Disposable[] } | undefined;
  private readonly statusItem = vscode.window.createStatusBarItem(
    'densenet.training',
    vscode.StatusBarAlignment.Left,
    50,
  );
  private readonly events = new vscode.EventEmitter<FromEngine>();
  /** Every message of the running engine (for the dashboard). */
  readonly onEngineMessage = this.events.event;
  private readonly disposables: vscode.Disposable[] = [this.statusItem, this.events];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly specs: SpecService,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.statusItem.name = 'DenseNet Training';
    this.disposables.push(
      vscode.commands.registerCommand('densenet.train', (uri?: vscode.Uri) => this.train(uri)),
      vscode.commands.registerCommand('densenet.stopTraining', () => this.stop()),
      vscode.commands.registerCommand('densenet.resumeTraining', (arg?: vscode.Uri | string) => this.resume(arg)),
    );
  }

  get state(): RunState | undefined {
    return this.current?.state;
  }

  private specFor(uri?: vscode.Uri): vscode.TextDocument | undefined {
    if (uri instanceof vscode.Uri)
      return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    const doc = vscode.window.activeTextEditor?.document;
    return doc && isSpec(doc) ? doc : vscode.window.visibleTextEditors.map((e) => e.document).find(isSpec);
  }

  async train(uri?: vscode.Uri, resumeRunDir?: string): Promise<TrainingFinished | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(
        'Training is disabled in an untrusted workspace: a spec can point the engine at any file. Trust this workspace (Manage Workspace Trust) to train.',
      );
      return undefined;
    }
    if (this.current) {
      const choice = await vscode.window.showWarningMessage(
        `Already training ${path.basename(this.current.state.specUri.fsPath)}.`,
        'Stop It',
      );
      if (choice === 'Stop It') this.stop();
      return undefined;
    }
    let doc = this.specFor(uri);
    if (!doc && uri instanceof vscode.Uri) doc = await vscode.workspace.openTextDocument(uri);
    if (!doc) {
      void vscode.window.showWarningMessage('Open a *.densenet.json spec to train it.');
      return undefined;
    }
    const result = this.specs.get(doc);
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      void vscode.window.showErrorMessage(
        `${path.basename(doc.uri.fsPath)} has ${errors.length} error(s): fix them before training (${errors[0].message})`,
      );
      void vscode.commands.executeCommand('workbench.actions.view.problems');
      return undefined;
    }
    const workspaceDir = vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath ?? path.dirname(doc.uri.fsPath);
    const engine = new EngineProcess(this.context.asAbsolutePath(path.join('dist', 'engine.js')), this.output);
    const state: RunState = { specUri: doc.uri, epochs: [], status: 'starting' };
    const run = { engine, state, disposables: [engine] as vscode.Disposable[] };
    this.current = run;
    this.updateStatus();
    try {
      return await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Training ${result.resolved?.name ?? path.basename(doc.uri.fsPath)}`,
          cancellable: true,
        },
        async (progress, token) => {
          token.onCancellationRequested(() => this.stop());
          let reported = 0;
          run.disposables.push(
            engine.onMessage((m) => {
              this.events.fire(m);
              switch (m.type) {
                case 'log':
                  this.output[m.level](m.message);
                  break;
                case 'training/started':
                  state.started = m.info;
                  state.status = 'running';
                  this.output.info(
                    `Run ${m.info.runDir}: ${m.info.trainExamples} training / ${m.info.validationExamples} validation images, ${m.info.classNames.length} classes, epochs ${m.info.startEpoch + 1}..${m.info.epochs}, backend ${m.info.backend}${m.info.threads !== undefined ? `, ${m.info.threads} thread${m.info.threads === 1 ? '' : 's'}` : ''}`,
                  );
                  progress.report({
                    message: `${m.info.backend} · ${m.info.trainExamples} images · starting epoch ${m.info.startEpoch + 1}/${m.info.epochs}`,
                  });
                  // The training dashboard (src/panels/dashboard.ts) opens beside the editor unless turned off.
                  if (vscode.workspace.getConfiguration('densenet.dashboard').get<boolean>('openOnTrain', true)) {
                    void vscode.commands.executeCommand('densenet.openDashboard', state.specUri);
                  }
                  break;
                case 'training/batch': {
                  state.lastBatch = m.metrics;
                  const total = state.started
                    ? (state.started.epochs - state.started.startEpoch) * m.metrics.stepsPerEpoch
                    : 0;
                  const done = state.started
                    ? (m.metrics.epoch - 1 - state.started.startEpoch) * m.metrics.stepsPerEpoch + m.metrics.step
                    : 0;
                  const percent = total > 0 ? (100 * done) / total : 0;
                  progress.report({
                    message: describeBatch(m.metrics, state.started?.epochs ?? 0),
                    increment: percent - reported,
                  });
                  reported = percent;
                  this.updateStatus();
                  break;
                }
                case 'training/epochEnd': {
                  state.epochs.push(m.metrics);
                  const v =
                    m.metrics.valAccuracy !== undefined
                      ? ` · val acc ${(m.metrics.valAccuracy * 100).toFixed(2)}%`
                      : '';
                  this.output.info(
                    `Epoch ${m.metrics.epoch}/${m.metrics.epochs}: loss ${m.metrics.loss.toFixed(4)} · acc ${(m.metrics.accuracy * 100).toFixed(2)}%${v} · ${m.metrics.seconds.toFixed(1)} s${m.metrics.best ? ' (best)' : ''}`,
                  );
                  break;
                }
                case 'training/skipped':
                  this.output.warn(`Skipped ${m.file}: ${m.reason} (${m.total} skipped so far)`);
                  break;
              }
            }),
          );
          const ready = await engine.start({
            backend: vscode.workspace.getConfiguration('densenet.engine').get<BackendPreference>('backend', 'auto'),
            nativeSearchPaths: [path.join(this.context.globalStorageUri.fsPath, 'native')],
            wasmDir: this.context.asAbsolutePath('dist'),
          });
          this.output.info(`Engine backend: ${ready.backend} — ${ready.reason}`);
          for (const w of ready.warnings) {
            this.output.warn(w);
            void vscode.window.showWarningMessage(w);
          }
          const crashed = new Promise<never>((_, reject) =>
            run.disposables.push(
              engine.onExit((e) => {
                if (e.expected) return;
                const how = e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
                const runDir = state.started?.runDir;
                if (runDir)
                  markRunFailed(runDir, {
                    error: `The engine process ended unexpectedly (${how})`,
                    exitCode: e.code,
                    signal: e.signal,
                    stderrTail: e.stderrTail,
                  });
                this.output.error(
                  `The engine process ended unexpectedly (${how}).${e.stderrTail ? `\nLast stderr:\n${e.stderrTail}` : ''}`,
                );
                reject(
                  new Error(
                    `the engine process ended unexpectedly (${how})${runDir ? '; the run is marked failed and keeps its last checkpoint' : ''}`,
                  ),
                );
              }),
            ),
          );
          // densenet.engine.threads: 0 (the default) is one thread per core; the engine resolves it.
          const threads = Math.max(
            0,
            Math.floor(vscode.workspace.getConfiguration('densenet.engine').get<number>('threads', 0)),
          );
          const finished = await Promise.race([
            engine.train({ specPath: doc!.uri.fsPath, specText: doc!.getText(), workspaceDir, resumeRunDir, threads }),
            crashed,
          ]);
          const best =
            finished.bestValAccuracy !== undefined
              ? ` Best validation accuracy ${(finished.bestValAccuracy * 100).toFixed(2)}%.`
              : '';
          const skipped =
            finished.skippedFiles > 0
              ? ` ${finished.skippedFiles} unreadable image(s) skipped (see the DenseNet Lab output).`
              : '';
          this.output.info(`Run ${finished.status}: ${finished.runDir}`);
          void vscode.window
            .showInformationMessage(
              `Training ${finished.status} after ${finished.epochsCompleted} epoch(s).${best}${skipped}`,
              'Open Run Folder',
            )
            .then((c) => c && vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(finished.runDir)));
          return finished;
        },
      );
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.output.error(`Training failed: ${message}`);
      void vscode.window
        .showErrorMessage(`Training failed: ${message}`, 'Show Output')
        .then((c) => c && this.output.show());
      return undefined;
    } finally {
      await engine.stop();
      run.disposables.forEach((d) => d.dispose());
      if (this.current === run) this.current = undefined;
      this.updateStatus();
    }
  }

  stop(): void {
    if (!this.current) {
      void vscode.window.showInformationMessage('No training is running.');
      return;
    }
    this.current.state.status = 'stopping';
    this.current.engine.cancel();
    this.updateStatus();
  }

  /** Resumes a run of the spec (the newest with a checkpoint, or the one chosen). */
  async resume(arg?: vscode.Uri | string): Promise<TrainingFinished | undefined> {
    let runDir = typeof arg === 'string' ? arg : undefined;
    let specUri = arg instanceof vscode.Uri ? arg : undefined;
    if (runDir) {
      specUri ??= this.specFor()?.uri;
    } else {
      const doc = this.specFor(specUri);
      if (!doc) {
        void vscode.window.showWarningMessage('Open the *.densenet.json spec whose run you want to resume.');
        return undefined;
      }
      specUri = doc.uri;
      const name = this.specs.get(doc).resolved?.name ?? path.basename(doc.uri.fsPath).replace(/\.densenet\.json$/, '');
      const workspaceDir = vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath ?? path.dirname(doc.uri.fsPath);
      const runs = listRuns(runsDirFor(workspaceDir, name)).filter(isResumable);
      if (runs.length === 0) {
        void vscode.window.showInformationMessage(
          `No run of ${name} to resume: only stopped, failed or early-stopped runs with a checkpoint can be resumed.`,
        );
        return undefined;
      }
      const picked =
        runs.length === 1
          ? runs[0]
          : (
              await vscode.window.showQuickPick(
                runs.map((r) => ({
                  label: path.basename(r.runDir),
                  description: `${r.status} · epoch ${r.epochsCompleted ?? 0}/${r.epochs ?? '?'}`,
                  detail:
                    r.bestValAccuracy !== undefined
                      ? `best val acc ${(r.bestValAccuracy * 100).toFixed(2)}%`
                      : undefined,
                  run: r,
                })),
                { title: 'Resume which run?' },
              )
            )?.run;
      if (!picked) return undefined;
      runDir = picked.runDir;
    }
    return this.train(specUri, runDir);
  }

  private updateStatus(): void {
    const cur = this.current;
    void vscode.commands.executeCommand('setContext', 'densenet.training', cur !== undefined);
    if (!cur) {
      this.statusItem.hide();
      return;
    }
    const s = cur.state;
    const name = path.basename(s.specUri.fsPath).replace(/\.densenet\.json$/, '');
    if (s.status === 'starting') this.statusItem.text = `$(loading~spin) ${name}: starting engine`;
    else if (s.status === 'stopping') this.statusItem.text = `$(loading~spin) ${name}: stopping at the next batch`;
    else {
      const b = s.lastBatch;
      this.statusItem.text = `$(pulse) ${name} · ${s.started?.backend ?? ''}${b ? ` · epoch ${b.epoch}/${s.started?.epochs} · loss ${b.loss.toFixed(3)} · ETA ${formatEta(b.etaSeconds)}` : ''}`;
    }
    this.statusItem.tooltip = 'DenseNet training: click to stop (a checkpoint is saved)';
    this.statusItem.command = 'densenet.stopTraining';
    this.statusItem.show();
  }

  dispose(): void {
    this.current?.engine.dispose();
    this.current?.disposables.forEach((d) => d.dispose());
    this.disposables.forEach((d) => d.dispose());
  }
}
