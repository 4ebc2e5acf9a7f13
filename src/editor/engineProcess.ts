/**
 * One engine process (the pattern of VS Code's tsserver): `child_process.fork` with ELECTRON_RUN_AS_NODE=1,
 * an ipc channel, `--max-old-space-size` from a setting, an optional Node executable. Cancel is a message;
 * dispose asks the engine to stop and kills it after a grace period; an unexpected exit is reported with its
 * exit code or signal and the tail of its stderr.
 */
import { type ChildProcess, fork } from 'child_process';
import * as vscode from 'vscode';
import type {
  EngineConfig,
  FromEngine,
  InspectProgress,
  InspectRequest,
  ToEngine,
  TrainingFinished,
  TrainRequest,
} from '../protocol/engine';

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
  /** True when the host asked it to stop. */
  expected: boolean;
}

const STDERR_LINES = 40;
const GRACE_MS = 5000;

export class EngineProcess implements vscode.Disposable {
  private child: ChildProcess | undefined;
  private readonly stderr: string[] = [];
  private stopping = false;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private readonly messages = new vscode.EventEmitter<FromEngine>();
  private readonly exits = new vscode.EventEmitter<EngineExit>();
  readonly onMessage = this.messages.event;
  readonly onExit = this.exits.event;

  constructor(
    private readonly enginePath: string,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and waits for its backend to be ready. */
  start(config: EngineConfig): Promise<Extract<FromEngine, { type: 'ready' }>> {
    const settings = vscode.workspace.getConfiguration('densenet.engine');
    const memoryMB = settings.get<number>('maxMemoryMB', 8192);
    const nodePath = settings.get<string>('nodePath', '').trim();
    const child = fork(this.enginePath, [], {
      execPath: nodePath || process.execPath,
      execArgv: [`--max-old-space-size=${memoryMB}`],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Structured clone: Float32Arrays of feature maps and heatmaps cross as they are.
      serialization: 'advanced',
    });
    this.child = child;
    this.output.info(
      `Engine process ${child.pid} started (${nodePath || process.execPath}, --max-old-space-size=${memoryMB})`,
    );
    child.stdout?.on('data', (d: Buffer) => this.output.info(`[engine] ${d.toString().trimEnd()}`));
    child.stderr?.on('data', (d: Buffer) => {
      const lines = d
        .toString()
        .split('\n')
        .filter((l) => l.length > 0);
      this.stderr.push(...lines);
      this.stderr.splice(0, Math.max(0, this.stderr.length - STDERR_LINES));
      for (const l of lines) this.output.warn(`[engine stderr] ${l}`);
    });
    child.on('message', (msg: FromEngine) => {
      if (msg.type === 'response') {
        const p = this.pending.get(msg.inReplyTo);
        this.pending.delete(msg.inReplyTo);
        if (msg.ok) p?.resolve(msg.result);
        else p?.reject(new Error(msg.error));
      }
      this.messages.fire(msg);
    });
    child.on('exit', (code, signal) => {
      const exit: EngineExit = { code, signal, stderrTail: this.stderr.join('\n'), expected: this.stopping };
      this.child = undefined;
      const reason = signal ? `signal ${signal}` : `exit code ${code}`;
      for (const p of this.pending.values()) p.reject(new Error(`The engine process ended unexpectedly (${reason}).`));
      this.pending.clear();
      this.exits.fire(exit);
    });
    return new Promise((resolve, reject) => {
      const sub = this.onMessage((m) => {
        if (m.type === 'ready') {
          sub.dispose();
          exitSub.dispose();
          resolve(m);
        }
      });
      const exitSub = this.onExit((e) => {
        sub.dispose();
        exitSub.dispose();
        reject(
          new Error(
            `The engine process failed to start (${e.signal ? `signal ${e.signal}` : `exit code ${e.code}`}): ${e.stderrTail.split('\n').slice(-5).join(' ') || 'no output'}`,
          ),
        );
      });
      this.send({ type: 'init', config });
    });
  }

  train(request: TrainRequest): Promise<TrainingFinished> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (r) => resolve(r as TrainingFinished), reject });
      this.send({ type: 'train', id, request });
    });
  }

  /**
   * An inspection request (predictions, feature maps, Grad-CAM...); the result type depends on its kind.
   * `onProgress` receives maximisation progress; `cancel()` stops it at its next step.
   */
  inspect<T>(
    request: InspectRequest,
    onProgress?: (p: InspectProgress) => void,
  ): { result: Promise<T>; cancel(): void } {
    const id = this.nextId++;
    const sub = onProgress
      ? this.onMessage((m) => {
          if (m.type === 'inspect/progress' && m.inReplyTo === id) onProgress(m.progress);
        })
      : undefined;
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (r) => resolve(r as T), reject });
      this.send({ type: 'inspect', id, request });
    }).finally(() => sub?.dispose());
    return { result, cancel: () => this.send({ type: 'cancelInspect', id }) };
  }

  cancel(): void {
    this.send({ type: 'cancel' });
  }

  /** Kills the process now (tests use it to simulate a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  private send(msg: ToEngine): void {
    if (this.child?.connected) this.child.send(msg);
  }

  /** Asks the engine to stop (it saves at the next batch boundary) and kills it after a grace period. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.send({ type: 'shutdown' });
    const timer = setTimeout(() => child.kill('SIGKILL'), GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  dispose(): void {
    void this.stop();
    this.messages.dispose();
    this.exits.dispose();
  }
}
