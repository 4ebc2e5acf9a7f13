/**
 * Training from the editor: `DenseNet: Train Model`, `Stop Training`, `Resume Training`. Each run has its own
 * detached engine process (src/engine/detached.ts): it outlives the window, and a window that opens (or reloads)
 * reattaches to a run whose engine is alive. Progress shows in one status bar item and in the dashboard; a stop
 * says where it stopped, with Resume. Closing the window disconnects and asks nothing. An engine that dies marks
 * the run failed and keeps its last checkpoint.
 */
import { logEngineReady } from './engineReadyLog';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { checkBuildable } from '../core';
import { formatDuration } from '../metrics/dashboardMath';
import type { BatchMetrics, EngineEvents, TrainingEnded, TrainingFinished } from '../protocol/engine';
import { isResumable } from '../runs/checkpointFiles';
import { connectRun } from '../runs/runClient';
import { ENGINE_LOG, liveRunsIn, newSocketPath, specRunsFolders } from '../runs/runEngine';
import { describeStop, listRuns, readRunInfo, runsDirFor, SPEC_SNAPSHOT } from '../runs/runFolder';
import { engineConfig, enginePath, spawnTrainingEngine } from './engineProcess';
import { isSpec, type SpecService } from './specService';
import { type RunEngineEvent, type RunState, TrainingRun } from './trainingRun';
import { validationHeadline } from '../metrics/dashboardMath';
import { bestFigure, bestFigureText } from '../metrics/bestFigure';

export type { RunState } from './trainingRun';

/**
 * What the controller announces (for the dashboard): every event of the running engine, and the end of its
 * training: the engine answered the train request (finished, or with the error it failed with).
 */
export type TrainingEvents = EngineEvents & {
  'training/ended': TrainingEnded;
};

/** One training event as a tagged value. */
export type TrainingEvent = {
  [K in keyof TrainingEvents]: { type: K; payload: TrainingEvents[K] };
}[keyof TrainingEvents];

/** How long a new engine gets to listen on its socket. */
const CONNECT_TIMEOUT_MS = 60_000;

export function describeBatch(m: BatchMetrics, epochs: number): string {
  return `epoch ${m.epoch}/${epochs} · step ${m.step}/${m.stepsPerEpoch} · loss ${m.loss.toFixed(4)} · acc ${(m.accuracy * 100).toFixed(1)}% · ${m.imagesPerSecond.toFixed(0)} img/s · ETA ${formatDuration(m.etaSeconds)}`;
}

export class TrainingController implements vscode.Disposable {
  private current: TrainingRun | undefined;
  /** A training being started (the spec checked, the engine not yet reached): a second Train is refused. */
  private starting: vscode.Uri | undefined;
  private reattaching: Promise<boolean> | undefined;
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
    // A training started by an earlier window (before a reload) goes on: follow it.
    setTimeout(() => void this.reattach(), 0);
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
    await this.reattaching;
    const doc = await this.trainableSpec(uri);
    if (!doc) return undefined;
    this.starting = doc.uri;
    this.updateStatus();
    let run: TrainingRun;
    try {
      run = await this.launch(doc, resumeRunDir);
    } catch (e) {
      this.starting = undefined;
      this.updateStatus();
      this.showFailure(e instanceof Error ? e.message : String(e));
      return undefined;
    }
    this.starting = undefined;
    return this.follow(run, false);
  }

  /** Starts a detached engine for the spec (or the run to resume) and connects to it. */
  private async launch(doc: vscode.TextDocument, resumeRunDir: string | undefined): Promise<TrainingRun> {
    const workspaceDir = vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath ?? path.dirname(doc.uri.fsPath);
    // densenet.engine.threads: 0 (the default) is one thread per core; the engine resolves it.
    const threads = Math.max(
      0,
      Math.floor(vscode.workspace.getConfiguration('densenet.engine').get<number>('threads', 0)),
    );
    const name = this.specs.get(doc).resolved?.name ?? path.basename(doc.uri.fsPath).replace(/\.densenet\.json$/, '');
    const socket = newSocketPath();
    // A new run's folder does not exist yet: the log starts beside it and moves in (same file system).
    const log = resumeRunDir
      ? path.join(resumeRunDir, ENGINE_LOG)
      : path.join(runsDirFor(workspaceDir, name), `.engine-${crypto.randomBytes(4).toString('hex')}.log`);
    const child = spawnTrainingEngine(
      enginePath(this.context),
      {
        config: engineConfig(this.context),
        request: { specPath: doc.uri.fsPath, specText: doc.getText(), workspaceDir, resumeRunDir, threads },
        socket,
        log,
      },
      this.output,
    );
    let exited = false;
    child.once('exit', () => (exited = true));
    child.once('error', (e) => this.output.error(`The training engine could not start: ${e.message}`));
    const client = await connectRun(socket, { timeoutMs: CONNECT_TIMEOUT_MS, gone: () => exited }).catch((e) => {
      throw new Error(`${(e as Error).message}: the engine process did not start (see ${log})`);
    });
    return new TrainingRun(doc.uri, client, (r, e) => this.onEngineEvent(r, e, false), child);
  }

  /**
   * Follows a run until its training ends (or this window disconnects): the status bar, the dashboard's events,
   * the message at the end. Resolves with the result (undefined when it failed).
   */
  private async follow(run: TrainingRun, reattached: boolean): Promise<TrainingFinished | undefined> {
    this.current = run;
    this.updateStatus();
    let ended: TrainingEnded;
    try {
      await run.attach();
      ended = await run.ended;
    } catch (e) {
      ended = await Promise.race([
        run.ended,
        new Promise<TrainingEnded>((r) => setTimeout(() => r({ error: (e as Error).message }), 5000)),
      ]);
    }
    if (this.current !== run) return ended.finished; // disposed: the window is going away
    run.dispose();
    this.current = undefined;
    if (run.lost) {
      // The engine trains on: follow it again over a new connection.
      this.output.warn(ended.error ?? 'The connection to the training engine was lost.');
      this.updateStatus();
      void this.reattach();
      return undefined;
    }
    this.events.fire({ type: 'training/ended', payload: ended });
    this.updateStatus();
    if (ended.finished) this.showFinished(ended.finished);
    else this.showFailure(ended.error ?? 'the engine ended without a result', reattached);
    return ended.finished;
  }

  private showFailure(message: string, reattached = false): void {
    this.output.error(`Training failed: ${message}`);
    void vscode.window
      .showErrorMessage(`Training${reattached ? ' (reattached)' : ''} failed: ${message}`, 'Show Output')
      .then((c) => c && this.output.show());
  }

  /** The message at the end of a training: a stop says where, with Resume. */
  private showFinished(finished: TrainingFinished): void {
    this.output.info(`Run ${finished.status}: ${finished.runDir}`);
    const skipped =
      finished.skippedFiles > 0
        ? ` ${finished.skippedFiles} unreadable image(s) skipped (see the DenseNet Lab output).`
        : '';
    if (finished.status === 'stopped') {
      void vscode.window
        .showInformationMessage(
          `${describeStop(finished.stoppedAt, finished.epochsCompleted)}.${skipped}`,
          'Resume',
          'Open Run Folder',
        )
        .then((c) => {
          if (c === 'Resume') void vscode.commands.executeCommand('densenet.resumeTraining', finished.runDir);
          else if (c) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(finished.runDir));
        });
      return;
    }
    const figure = bestFigure(finished);
    const best = figure ? ` Best ${figure.label} ${figure.text}.` : '';
    void vscode.window
      .showInformationMessage(
        `Training ${finished.status} after ${finished.epochsCompleted} epoch(s).${best}${skipped}`,
        'Open Run Folder',
      )
      .then((c) => c && vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(finished.runDir)));
  }

  /**
   * Reattaches to a run of the workspace (or of `specRunsFolder`) still trained by a live detached engine,
   * unless this window already follows one. True when it did.
   */
  reattach(specRunsFolder?: string): Promise<boolean> {
    if (this.current || this.starting || this.reattaching) return this.reattaching ?? Promise.resolve(false);
    this.reattaching = this.findAndAttach(specRunsFolder).finally(() => (this.reattaching = undefined));
    return this.reattaching;
  }

  private async findAndAttach(specRunsFolder: string | undefined): Promise<boolean> {
    const folders = specRunsFolder
      ? [specRunsFolder]
      : specRunsFolders((vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath));
    for (const { run, engine } of liveRunsIn(folders)) {
      let client;
      try {
        client = await connectRun(engine.socket);
      } catch (e) {
        this.output.warn(`${run.runDir} is training but its engine cannot be reached: ${(e as Error).message}`);
        continue;
      }
      if (this.current) {
        client.close();
        return false;
      }
      const specFile = readRunInfo(run.runDir)?.specFile;
      const specUri = vscode.Uri.file(specFile ?? path.join(run.runDir, SPEC_SNAPSHOT));
      const tr = new TrainingRun(specUri, client, (r, e) => this.onEngineEvent(r, e, true));
      tr.state.pid = engine.pid;
      tr.state.status = 'running';
      this.output.info(`Reattached to the training of ${run.runDir} (engine process ${engine.pid})`);
      void this.follow(tr, true);
      return true;
    }
    return false;
  }

  /** The spec to train, or undefined (said why) when the workspace is untrusted, a run is on, or it has errors. */
  private async trainableSpec(uri?: vscode.Uri): Promise<vscode.TextDocument | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(
        'Training is disabled in an untrusted workspace: a spec can point the engine at any file. Trust this workspace (Manage Workspace Trust) to train.',
      );
      return undefined;
    }
    const busy = this.current?.state.specUri ?? this.starting;
    if (busy) {
      const choice = await vscode.window.showWarningMessage(
        `Already training ${path.basename(busy.fsPath)}.`,
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

  /** Shows one engine event: in the log, the status bar; forwards it to the dashboard. */
  private onEngineEvent(run: TrainingRun, e: RunEngineEvent, reattached: boolean): void {
    switch (e.type) {
      case 'engine/ready':
        if (!reattached) {
          logEngineReady(this.output, 'Engine backend', e.payload);
          for (const w of e.payload.warnings) {
            this.output.warn(w);
            void vscode.window.showWarningMessage(w);
          }
        }
        return;
      case 'training/ended':
        return; // follow() announces it, once the run is let go
      case 'log':
        this.output[e.payload.level](e.payload.message);
        break;
      case 'training/started': {
        const info = e.payload;
        this.output.info(
          `Run ${info.runDir}: ${info.trainExamples} training / ${info.validationExamples} validation images, ${info.classNames.length} classes, epochs ${info.startEpoch + 1}..${info.epochs}, backend ${info.backend}${info.threads !== undefined ? `, ${info.threads} thread${info.threads === 1 ? '' : 's'}` : ''}`,
        );
        // The training dashboard (src/panels/dashboard.ts) opens beside the editor unless turned off; a
        // reattached run's dashboard is restored with the window (or opened from the status bar's menu).
        if (!reattached && vscode.workspace.getConfiguration('densenet.dashboard').get<boolean>('openOnTrain', true)) {
          void vscode.commands.executeCommand('densenet.openDashboard', run.state.specUri);
        }
        break;
      }
      case 'training/epochEnd': {
        const m = e.payload;
        const v = m.valAccuracy !== undefined ? ` · ${validationHeadline(m)}` : '';
        this.output.info(
          `Epoch ${m.epoch}/${m.epochs}: loss ${m.loss.toFixed(4)} · acc ${(m.accuracy * 100).toFixed(2)}%${v} · ${m.seconds.toFixed(1)} s${m.best ? ' (best)' : ''}`,
        );
        break;
      }
      case 'training/skipped':
        this.output.warn(`Skipped ${e.payload.file}: ${e.payload.reason} (${e.payload.total} skipped so far)`);
        break;
      default:
        break;
    }
    if (this.current === run) {
      this.events.fire(e);
      if (e.type !== 'log') this.updateStatus();
    }
  }

  stop(): void {
    const run = this.current;
    if (!run) {
      void vscode.window.showInformationMessage('No training is running.');
      return;
    }
    void run.stop();
    this.updateStatus();
  }

  /** Resumes a run of the spec (the newest with a checkpoint, or the one chosen). */
  async resume(arg?: vscode.Uri | string): Promise<TrainingFinished | undefined> {
    let runDir = typeof arg === 'string' ? arg : undefined;
    let specUri = arg instanceof vscode.Uri ? arg : undefined;
    if (runDir) {
      specUri ??= this.specOfRun(runDir) ?? this.specFor()?.uri;
    } else {
      const doc = this.specFor(specUri);
      if (!doc) {
        void vscode.window.showWarningMessage('Open the *.densenet.json spec whose run you want to resume.');
        return undefined;
      }
      specUri = doc.uri;
      const name = this.specs.get(doc).resolved?.name ?? path.basename(doc.uri.fsPath).replace(/\.densenet\.json$/, '');
      const workspaceDir = vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath ?? path.dirname(doc.uri.fsPath);
      const runsFolder = runsDirFor(workspaceDir, name);
      // A run of the spec trained by a live engine (started before a reload): follow it instead.
      if (await this.reattach(runsFolder)) return undefined;
      const runs = listRuns(runsFolder).filter(isResumable);
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
                  detail: bestFigureText(r) || undefined,
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

  /** The spec file a run was started from, when it still exists. */
  private specOfRun(runDir: string): vscode.Uri | undefined {
    const file = readRunInfo(runDir)?.specFile;
    return file && fs.existsSync(file) ? vscode.Uri.file(file) : undefined;
  }

  /** The one status bar item of a training: what it does now; click to stop. */
  private updateStatus(): void {
    const cur = this.current;
    void vscode.commands.executeCommand('setContext', 'densenet.training', cur !== undefined || !!this.starting);
    const specUri = cur?.state.specUri ?? this.starting;
    if (!specUri) {
      this.statusItem.hide();
      return;
    }
    const name = path.basename(specUri.fsPath).replace(/\.densenet\.json$/, '');
    const s = cur?.state;
    if (!s || s.status === 'starting') this.statusItem.text = `$(loading~spin) ${name}: starting engine`;
    else if (s.status === 'stopping') this.statusItem.text = `$(loading~spin) ${name}: stopping at the next batch`;
    else this.statusItem.text = `$(pulse) ${name} · ${s.started?.backend ?? ''}${describeStatus(s)}`;
    this.statusItem.tooltip = s?.lastBatch
      ? `DenseNet training: ${describeBatch(s.lastBatch, s.started?.epochs ?? 0)}. Click to stop (a checkpoint is saved).`
      : 'DenseNet training: click to stop (a checkpoint is saved)';
    this.statusItem.command = 'densenet.stopTraining';
    this.statusItem.show();
  }

  /** Disconnects from the running training; it goes on (a window opened later reattaches). */
  dispose(): void {
    const run = this.current;
    this.current = undefined;
    run?.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}

/** ` · epoch 1/3 · loss 0.412 · ETA 2m 3s` of the status bar. */
function describeStatus(s: RunState): string {
  const b = s.lastBatch;
  return b
    ? ` · epoch ${b.epoch}/${s.started?.epochs} · loss ${b.loss.toFixed(3)} · ETA ${formatDuration(b.etaSeconds)}`
    : '';
}
