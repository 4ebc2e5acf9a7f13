/**
 * Training from the editor: `DenseNet: Train Model`, `Stop Training`, `Resume Training`. Each run has its
 * own engine process and its own lifetime (disposables); progress shows in a notification (epoch, loss,
 * ETA, cancel) and in the status bar. A crash marks the run failed and keeps its last checkpoint.
 */
import { logEngineReady } from './engineReadyLog';
import * as path from 'path';
import * as vscode from 'vscode';
import { checkBuildable } from '../core';
import { formatDuration } from '../metrics/dashboardMath';
import type {
  BatchMetrics,
  EngineEvent,
  EngineEvents,
  EpochMetrics,
  TrainingFinished,
  TrainingStarted,
} from '../protocol/engine';
import { RpcError } from '../protocol/rpc';
import { isResumable } from '../runs/checkpointFiles';
import { listRuns, markRunFailed, runsDirFor } from '../runs/runFolder';
import { describeExit, engineConfig, EngineProcess, enginePath } from './engineProcess';
import { isSpec, type SpecService } from './specService';

export interface RunState {
  specUri: vscode.Uri;
  started?: TrainingStarted;
  lastBatch?: BatchMetrics;
  epochs: EpochMetrics[];
  status: 'starting' | 'running' | 'stopping';
}

/**
 * What the controller announces (for the dashboard): every event of the running engine, and the end of its
 * training: the engine answered the train request (finished, or with the error it failed with).
 */
export type TrainingEvents = EngineEvents & {
  'training/ended': { finished?: TrainingFinished; error?: string };
};

/** One training event as a tagged value. */
export type TrainingEvent = {
  [K in keyof TrainingEvents]: { type: K; payload: TrainingEvents[K] };
}[keyof TrainingEvents];

/** One training: its engine process, what the status bar shows, and how to stop it. */
interface Run {
  engine: EngineProcess;
  state: RunState;
  /** Aborting it asks the engine to stop at the next batch boundary (a checkpoint is saved). */
  stop: AbortController;
  disposables: vscode.Disposable[];
  /** The percentage of the run's steps the notification has shown. */
  reported: number;
}

type Progress = vscode.Progress<{ message?: string; increment?: number }>;

export function describeBatch(m: BatchMetrics, epochs: number): string {
  return `epoch ${m.epoch}/${epochs} · step ${m.step}/${m.stepsPerEpoch} · loss ${m.loss.toFixed(4)} · acc ${(m.accuracy * 100).toFixed(1)}% · ${m.imagesPerSecond.toFixed(0)} img/s · ETA ${formatDuration(m.etaSeconds)}`;
}

export class TrainingController implements vscode.Disposable {
  private current: Run | undefined;
  private readonly statusItem = vscode.window.createStatusBarItem(
    'densenet.training',
    vscode.StatusBarAlignment.Left,
    50,
  );
  private readonly events = new vscode.EventEmitter<TrainingEvent>();
  /** Every event of the running engine, and the end of each training (for the dashboard). */
  readonly onTrainingEvent = this.events.event;
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
    const doc = await this.trainableSpec(uri);
    if (!doc) return undefined;
    const engine = new EngineProcess(enginePath(this.context), this.output);
    const state: RunState = { specUri: doc.uri, epochs: [], status: 'starting' };
    const run: Run = { engine, state, stop: new AbortController(), disposables: [engine], reported: 0 };
    this.current = run;
    this.updateStatus();
    try {
      return await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Training ${this.specs.get(doc).resolved?.name ?? path.basename(doc.uri.fsPath)}`,
          cancellable: true,
        },
        (progress, token) => {
          token.onCancellationRequested(() => this.stop());
          return this.runTraining(run, doc, resumeRunDir, progress);
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

  /** The spec to train, or undefined (said why) when the workspace is untrusted, a run is on, or it has errors. */
  private async trainableSpec(uri?: vscode.Uri): Promise<vscode.TextDocument | undefined> {
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
    const check = checkBuildable(this.specs.get(doc), path.basename(doc.uri.fsPath));
    if (!check.ok) {
      void vscode.window.showErrorMessage(
        `${check.summary}: fix them before training (${check.errors[0]?.message ?? 'the model could not be resolved'})`,
      );
      void vscode.commands.executeCommand('workbench.actions.view.problems');
      return undefined;
    }
    const noData = check.spec.diagnostics.find((d) => d.code === 'data-none');
    if (noData) {
      void vscode.window.showErrorMessage(noData.message);
      return undefined;
    }
    return doc;
  }

  /** Starts the run's engine, trains, and says how it ended; rejects when the engine fails or crashes. */
  private async runTraining(
    run: Run,
    doc: vscode.TextDocument,
    resumeRunDir: string | undefined,
    progress: Progress,
  ): Promise<TrainingFinished> {
    const { engine } = run;
    run.disposables.push(
      engine.onEvent((e) => {
        this.events.fire(e);
        this.onEngineEvent(run, e, progress);
      }),
    );
    const ready = await engine.start(engineConfig(this.context));
    logEngineReady(this.output, 'Engine backend', ready);
    for (const w of ready.warnings) {
      this.output.warn(w);
      void vscode.window.showWarningMessage(w);
    }
    const finished = await Promise.race([this.requestTraining(run, doc, resumeRunDir), this.crashOf(run)]);
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
  }

  /** The train request; its answer (a result, or the engine's error) ends the training for the listeners. */
  private async requestTraining(
    run: Run,
    doc: vscode.TextDocument,
    resumeRunDir: string | undefined,
  ): Promise<TrainingFinished> {
    const workspaceDir = vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath ?? path.dirname(doc.uri.fsPath);
    // densenet.engine.threads: 0 (the default) is one thread per core; the engine resolves it.
    const threads = Math.max(
      0,
      Math.floor(vscode.workspace.getConfiguration('densenet.engine').get<number>('threads', 0)),
    );
    try {
      const finished = await run.engine.train(
        { specPath: doc.uri.fsPath, specText: doc.getText(), workspaceDir, resumeRunDir, threads },
        run.stop.signal,
      );
      this.events.fire({ type: 'training/ended', payload: { finished } });
      return finished;
    } catch (e) {
      // An RpcError is the engine's answer; anything else is the channel closing (the process ended).
      if (e instanceof RpcError) this.events.fire({ type: 'training/ended', payload: { error: e.message } });
      throw e;
    }
  }

  /** Rejects when the run's engine ends without being asked to: the run is marked failed (keeping its checkpoint). */
  private crashOf(run: Run): Promise<never> {
    const { engine, state } = run;
    return new Promise<never>((_, reject) =>
      run.disposables.push(
        engine.onExit((e) => {
          if (e.expected) return;
          const how = describeExit(e);
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
  }

  /** Shows one engine event: in the log, the notification and the status bar. */
  private onEngineEvent(run: Run, e: EngineEvent, progress: Progress): void {
    const { state } = run;
    switch (e.type) {
      case 'log':
        this.output[e.payload.level](e.payload.message);
        break;
      case 'training/started': {
        const info = e.payload;
        state.started = info;
        state.status = 'running';
        this.output.info(
          `Run ${info.runDir}: ${info.trainExamples} training / ${info.validationExamples} validation images, ${info.classNames.length} classes, epochs ${info.startEpoch + 1}..${info.epochs}, backend ${info.backend}${info.threads !== undefined ? `, ${info.threads} thread${info.threads === 1 ? '' : 's'}` : ''}`,
        );
        progress.report({
          message: `${info.backend} · ${info.trainExamples} images · starting epoch ${info.startEpoch + 1}/${info.epochs}`,
        });
        // The training dashboard (src/panels/dashboard.ts) opens beside the editor unless turned off.
        if (vscode.workspace.getConfiguration('densenet.dashboard').get<boolean>('openOnTrain', true)) {
          void vscode.commands.executeCommand('densenet.openDashboard', state.specUri);
        }
        break;
      }
      case 'training/batch':
        this.showBatch(run, e.payload, progress);
        break;
      case 'training/epochEnd': {
        const m = e.payload;
        state.epochs.push(m);
        const v = m.valAccuracy !== undefined ? ` · val acc ${(m.valAccuracy * 100).toFixed(2)}%` : '';
        this.output.info(
          `Epoch ${m.epoch}/${m.epochs}: loss ${m.loss.toFixed(4)} · acc ${(m.accuracy * 100).toFixed(2)}%${v} · ${m.seconds.toFixed(1)} s${m.best ? ' (best)' : ''}`,
        );
        break;
      }
      case 'training/skipped':
        this.output.warn(`Skipped ${e.payload.file}: ${e.payload.reason} (${e.payload.total} skipped so far)`);
        break;
    }
  }

  /** A batch's progress: the notification's message and percentage, and the status bar. */
  private showBatch(run: Run, m: BatchMetrics, progress: Progress): void {
    const { state } = run;
    state.lastBatch = m;
    const total = state.started ? (state.started.epochs - state.started.startEpoch) * m.stepsPerEpoch : 0;
    const done = state.started ? (m.epoch - 1 - state.started.startEpoch) * m.stepsPerEpoch + m.step : 0;
    const percent = total > 0 ? (100 * done) / total : 0;
    progress.report({ message: describeBatch(m, state.started?.epochs ?? 0), increment: percent - run.reported });
    run.reported = percent;
    this.updateStatus();
  }

  stop(): void {
    if (!this.current) {
      void vscode.window.showInformationMessage('No training is running.');
      return;
    }
    this.current.state.status = 'stopping';
    this.current.stop.abort();
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
          `No run of ${name} to resume: only stopped, failed, early-stopped or interrupted runs with a checkpoint can be resumed.`,
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
      this.statusItem.text = `$(pulse) ${name} · ${s.started?.backend ?? ''}${b ? ` · epoch ${b.epoch}/${s.started?.epochs} · loss ${b.loss.toFixed(3)} · ETA ${formatDuration(b.etaSeconds)}` : ''}`;
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
