/**
 * The host's client of the inspection engine: ONE long-lived engine process (src/engine/main.ts) answering
 * inspection requests for the panels (describe, predict, activations, Grad-CAM, saliency, activation
 * maximisation). Started lazily on the first request (or `warm()`), started again on the next request if it
 * died, stopped when disposed. The host never computes tensors: it forwards requests and plain results, typed
 * by the contract of src/protocol/engine.ts.
 */
import { logEngineReady } from './engineReadyLog';
import * as vscode from 'vscode';
import type { ServiceKind, ServiceRequests } from '../protocol/engine';
import { describeExit, engineConfig, EngineProcess, enginePath, type InspectionProgress } from './engineProcess';

export interface InspectOptions<K extends ServiceKind> {
  /** Progress values (maximise's). */
  onProgress?: (progress: InspectionProgress<K>) => void;
  /** Aborting it cancels the request (maximise stops at its next step and answers what it has). */
  signal?: AbortSignal;
}

export class InspectionClient implements vscode.Disposable {
  private engine: EngineProcess | undefined;
  private starting: Promise<EngineProcess> | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private disposed = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  /** Starts the engine in the background (e.g. while the user picks a checkpoint). */
  warm(): void {
    this.ensure().catch(() => undefined); // reported by the request that needs it
  }

  private ensure(): Promise<EngineProcess> {
    if (this.disposed) return Promise.reject(new Error('The inspection engine has been disposed.'));
    if (this.engine?.running) return Promise.resolve(this.engine);
    if (this.starting) return this.starting;
    const proc = new EngineProcess(enginePath(this.context), this.output);
    const started = Date.now();
    this.starting = proc.start(engineConfig(this.context)).then(
      (ready) => {
        logEngineReady(this.output, `Inspection engine ready in ${Date.now() - started} ms`, ready);
        for (const w of ready.warnings) this.output.warn(w);
        const exitSub = proc.onExit((e) => {
          exitSub.dispose();
          if (this.engine === proc) this.engine = undefined;
          proc.dispose();
          if (!e.expected) {
            this.output.error(
              `The inspection engine ended unexpectedly (${describeExit(e)}); it starts again on the next request.${e.stderrTail ? `\n${e.stderrTail}` : ''}`,
            );
          }
        });
        const logSub = proc.onEvent((m) => {
          if (m.type === 'log') this.output[m.payload.level](`[inspection] ${m.payload.message}`);
        });
        this.subscriptions.push(exitSub, logSub);
        this.engine = proc;
        this.starting = undefined;
        if (this.disposed) proc.dispose();
        return proc;
      },
      (e: unknown) => {
        this.starting = undefined;
        proc.dispose();
        throw e;
      },
    );
    return this.starting;
  }

  /** One inspection request (the engine starts if it is not running); its result type is the contract's. */
  async inspect<K extends ServiceKind>(
    kind: K,
    params: ServiceRequests[K]['params'],
    options: InspectOptions<K> = {},
  ): Promise<ServiceRequests[K]['result']> {
    const proc = await this.ensure();
    return proc.inspect(kind, params, options);
  }

  dispose(): void {
    this.disposed = true;
    for (const d of this.subscriptions) d.dispose();
    this.subscriptions.length = 0;
    this.engine?.dispose();
    this.engine = undefined;
  }
}
