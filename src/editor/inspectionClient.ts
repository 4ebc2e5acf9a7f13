/**
 * The inspection engine: ONE long-lived engine process (src/engine/main.ts) answering inspection requests for
 * the panels (describe, predict, activations, Grad-CAM, saliency, activation maximisation). Started lazily on
 * the first request (or `warm()`), started again on the next request if it died, stopped when disposed.
 * The host never computes tensors: it forwards requests and plain results.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { BackendPreference, FromEngine, ImageInput, InspectProgress, InspectRequest } from '../protocol/engine';
import type * as features from '../protocol/features';
import { EngineProcess } from './engineProcess';

// The engine's decoded image must fit what the protocol shows the webview: fail to compile if they drift apart.
type Fits<A extends B, B> = A;
export type _ProtocolFits = Fits<ImageInput, features.DisplayImage>;

/** `predict` answers the decoded image too. */
export interface PredictResult {
  image: features.DisplayImage & { input: Float32Array };
  predictions: features.Prediction[];
}

/** One running inspection: its result, and a way to stop it (maximise stops at its next step). */
export interface InspectionJob<T> {
  result: Promise<T>;
  cancel(): void;
}

export class InspectionService implements vscode.Disposable {
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
    const proc = new EngineProcess(this.context.asAbsolutePath(path.join('dist', 'engine.js')), this.output);
    const started = Date.now();
    this.starting = proc
      .start({
        backend: vscode.workspace.getConfiguration('densenet.engine').get<BackendPreference>('backend', 'auto'),
        nativeSearchPaths: [path.join(this.context.globalStorageUri.fsPath, 'native')],
        wasmDir: this.context.asAbsolutePath('dist'),
      })
      .then(
        (ready) => {
          this.output.info(`Inspection engine ready in ${Date.now() - started} ms: ${ready.backend} — ${ready.reason}`);
          for (const w of ready.warnings) this.output.warn(w);
          const exitSub = proc.onExit((e) => {
            exitSub.dispose();
            if (this.engine === proc) this.engine = undefined;
            proc.dispose();
            if (!e.expected) {
              this.output.error(
                `The inspection engine ended unexpectedly (${e.signal ? `signal ${e.signal}` : `exit code ${e.code}`}); it starts again on the next request.${e.stderrTail ? `\n${e.stderrTail}` : ''}`,
              );
            }
          });
          const logSub = proc.onMessage((m: FromEngine) => {
            if (m.type === 'log') this.output[m.level](`[inspection] ${m.message}`);
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

  /** Runs one request; `onProgress` receives maximisation progress. */
  inspect<T>(request: InspectRequest, onProgress?: (p: InspectProgress) => void): InspectionJob<T> {
    let cancelled = false;
    let cancelNow: (() => void) | undefined;
    const result = this.ensure().then((proc) => {
      const job = proc.inspect<T>(request, onProgress);
      cancelNow = job.cancel;
      if (cancelled) cancelNow();
      return job.result;
    });
    return {
      result,
      cancel: () => {
        cancelled = true;
        cancelNow?.();
      },
    };
  }

  /** Convenience: the result only. */
  run<T>(request: InspectRequest): Promise<T> {
    return this.inspect<T>(request).result;
  }

  dispose(): void {
    this.disposed = true;
    for (const d of this.subscriptions) d.dispose();
    this.subscriptions.length = 0;
    this.engine?.dispose();
    this.engine = undefined;
  }
}
