/**
 * One training followed by this window: the detached engine's connection (src/runs/runClient.ts), what it has
 * done so far, and how it ended. The engine may have been started by this window (then its exit code and
 * signal are known) or by an earlier one (a reload reattaches). Disconnecting never stops the engine; an
 * engine that dies without ending its training marks the run failed (its last checkpoint is kept).
 */
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type {
  BatchMetrics,
  EpochMetrics,
  RunEngineEvents,
  RunEngineState,
  TrainingEnded,
  TrainingStarted,
} from '../protocol/engine';
import { RUN_ENGINE_EVENTS } from '../protocol/engine';
import type { RunClient } from '../runs/runClient';
import { ENGINE_LOG } from '../runs/runEngine';
import { markRunFailed, readRunInfo } from '../runs/runFolder';
import { isPidAlive } from '../runs/runLock';
import { describeExit } from './engineProcess';

export interface RunState {
  specUri: vscode.Uri;
  started?: TrainingStarted;
  lastBatch?: BatchMetrics;
  epochs: EpochMetrics[];
  status: 'starting' | 'running' | 'stopping';
  /** The engine's process id. */
  pid?: number;
}

export type RunEngineEvent = {
  [K in keyof RunEngineEvents]: { type: K; payload: RunEngineEvents[K] };
}[keyof RunEngineEvents];

/** How long after its connection closed an engine started here gets to report its exit. */
const EXIT_WAIT_MS = 3000;

export class TrainingRun implements vscode.Disposable {
  readonly state: RunState;
  /** Resolves with the end of the training: its result, its error, or the engine's crash (as an error). */
  readonly ended: Promise<TrainingEnded>;
  private resolveEnded!: (e: TrainingEnded) => void;
  private done = false;
  /** The connection ended while the engine still runs (it trains on; a window may reattach). */
  lost = false;
  private childExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private disposed = false;

  constructor(
    specUri: vscode.Uri,
    readonly client: RunClient,
    private readonly onEvent: (run: TrainingRun, e: RunEngineEvent) => void,
    readonly child?: ChildProcess,
  ) {
    this.state = { specUri, epochs: [], status: 'starting', pid: child?.pid };
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    child?.on('exit', (code, signal) => (this.childExit = { code, signal }));
    for (const type of RUN_ENGINE_EVENTS)
      client.endpoint.on(type, (payload) => this.receive({ type, payload } as RunEngineEvent));
    void client.closed.then(() => this.onClosed());
  }

  /** Asks the engine what it has done so far and takes it in (events already received win). */
  async attach(): Promise<RunEngineState> {
    const s = await this.client.endpoint.request('attach', null);
    if (s.ready) this.onEvent(this, { type: 'engine/ready', payload: s.ready });
    if (s.started && !this.state.started) this.receive({ type: 'training/started', payload: s.started });
    if (s.lastBatch && (this.state.lastBatch?.globalStep ?? -1) < s.lastBatch.globalStep)
      this.state.lastBatch = s.lastBatch;
    for (const e of s.epochs) if (!this.state.epochs.some((m) => m.epoch === e.epoch)) this.state.epochs.push(e);
    this.state.epochs.sort((a, b) => a.epoch - b.epoch);
    if (s.stopping) this.state.status = 'stopping';
    if (s.ended) this.receive({ type: 'training/ended', payload: s.ended });
    return s;
  }

  private receive(e: RunEngineEvent): void {
    const { state } = this;
    switch (e.type) {
      case 'training/started':
        state.started = e.payload;
        if (state.status === 'starting') state.status = 'running';
        break;
      case 'training/batch':
        state.lastBatch = e.payload;
        break;
      case 'training/epochEnd':
        state.epochs.push(e.payload);
        break;
      case 'training/ended':
        this.settle(e.payload);
        break;
      default:
        break;
    }
    this.onEvent(this, e);
  }

  private settle(e: TrainingEnded): void {
    this.done = true;
    this.resolveEnded(e);
  }

  /** Asks the engine to stop at its next batch boundary; a signal to its process if the socket cannot. */
  async stop(): Promise<void> {
    this.state.status = 'stopping';
    try {
      await this.client.endpoint.request('stop', null);
    } catch {
      if (this.state.pid !== undefined && isPidAlive(this.state.pid)) process.kill(this.state.pid, 'SIGTERM');
    }
  }

  /** The connection ended without the training's end: the engine died (the run is marked failed). */
  private async onClosed(): Promise<void> {
    if (this.disposed || this.done) return;
    const deadline = Date.now() + EXIT_WAIT_MS;
    while (this.child && !this.childExit && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (this.done) return;
    const pid = this.state.pid;
    if (!this.childExit && pid !== undefined && isPidAlive(pid)) {
      this.lost = true;
      this.settle({ error: `The connection to the training engine (process ${pid}) was lost; it is still training.` });
      return;
    }
    const how = this.childExit ? describeExit(this.childExit) : 'it is gone';
    const runDir = this.state.started?.runDir;
    let failed = false;
    if (runDir && readRunInfo(runDir)?.status === 'running') {
      markRunFailed(runDir, {
        error: `The engine process ended unexpectedly (${how})`,
        ...(this.childExit ? { exitCode: this.childExit.code, signal: this.childExit.signal } : {}),
        ...logTail(path.join(runDir, ENGINE_LOG)),
      });
      failed = true;
    }
    this.settle({
      error: `the engine process ended unexpectedly (${how})${failed ? '; the run is marked failed and keeps its last checkpoint' : ''}`,
    });
  }

  /** Disconnects; the engine trains on. */
  dispose(): void {
    this.disposed = true;
    this.client.close();
  }
}

/** The last lines of the engine's log, as run.json keeps them for a crash. */
function logTail(file: string): { stderrTail?: string } {
  try {
    const text = fs.readFileSync(file, 'utf8');
    const tail = text.trimEnd().split('\n').slice(-40).join('\n');
    return tail ? { stderrTail: tail } : {};
  } catch {
    return {};
  }
}
