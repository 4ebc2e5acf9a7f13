/**
 * One engine process (the pattern of VS Code's tsserver): `child_process.fork` with ELECTRON_RUN_AS_NODE=1,
 * an ipc channel spoken through an `RpcEndpoint` (the contract of src/protocol/engine.ts),
 * `--max-old-space-size` from a setting, an optional Node executable. Cancelling a request is its signal;
 * stop asks the engine to stop and kills it after a grace period; an unexpected exit rejects the requests
 * still waiting and is reported with its exit code or signal and the tail of its stderr.
 */
import { type ChildProcess, fork, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  type BackendPreference,
  type InferencePreference,
  type EngineConfig,
  type EngineContract,
  type EngineEvent,
  type EngineReady,
  ENGINE_EVENTS,
  type HostContract,
  type RunLaunch,
  type ServiceKind,
  type ServiceRequests,
  type TrainingFinished,
  type TrainRequest,
} from '../protocol/engine';
import { ipcPipe, type RequestOptions, RpcEndpoint, type RpcMessage } from '../protocol/rpc';

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
  /** True when the host asked it to stop. */
  expected: boolean;
}

/** The progress values of an inspection kind (none but maximise's). */
export type InspectionProgress<K extends ServiceKind> = ServiceRequests[K] extends { progress: infer P } ? P : never;

const STDERR_LINES = 40;
const GRACE_MS = 5000;

/** `exit code 1`, `signal SIGKILL`: how the host names the end of an engine process. */
export function describeExit(e: { code: number | null; signal: NodeJS.Signals | null }): string {
  return e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
}

/** The engine bundle of the extension. */
export function enginePath(context: vscode.ExtensionContext): string {
  return context.asAbsolutePath(path.join('dist', 'engine.js'));
}

/**
 * The engine's configuration from the settings (densenet.engine.backend, densenet.engine.inference) and the
 * extension's folders.
 */
export function engineConfig(context: vscode.ExtensionContext): EngineConfig {
  const settings = vscode.workspace.getConfiguration('densenet.engine');
  return {
    backend: settings.get<BackendPreference>('backend', 'auto'),
    inference: settings.get<InferencePreference>('inference', 'auto'),
    nativeSearchPaths: [path.join(context.globalStorageUri.fsPath, 'native')],
    wasmDir: context.asAbsolutePath('dist'),
    weightsCacheDir: path.join(context.globalStorageUri.fsPath, 'weights'),
  };
}

/** The Node executable and memory limit of engine processes (densenet.engine.nodePath, maxMemoryMB). */
function nodeSettings(): { execPath: string; memoryMB: number } {
  const settings = vscode.workspace.getConfiguration('densenet.engine');
  const nodePath = settings.get<string>('nodePath', '').trim();
  return { execPath: nodePath || process.execPath, memoryMB: settings.get<number>('maxMemoryMB', 8192) };
}

/**
 * Starts a detached training engine (`engine.js --run <launch file>`): its own process group (a window reload,
 * closing VS Code or the extension host's end do not reach it), stdout and stderr appended to `launch.log`, not
 * waited for by this process. The launch file (the request and the spec's text) is private to the user and
 * removed by the engine once read.
 */
export function spawnTrainingEngine(
  enginePath: string,
  launch: RunLaunch,
  output: vscode.LogOutputChannel,
): ChildProcess {
  const { execPath, memoryMB } = nodeSettings();
  const launchFile = path.join(os.tmpdir(), `dnl-${randomBytes(6).toString('hex')}.json`);
  fs.writeFileSync(launchFile, JSON.stringify(launch), { mode: 0o600 });
  fs.mkdirSync(path.dirname(launch.log), { recursive: true });
  const log = fs.openSync(launch.log, 'a');
  try {
    const child = spawn(execPath, [`--max-old-space-size=${memoryMB}`, enginePath, '--run', launchFile], {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      windowsHide: true,
    });
    child.unref();
    output.info(`Training engine process ${child.pid} started (detached; socket ${launch.socket}, log ${launch.log})`);
    return child;
  } finally {
    fs.closeSync(log);
  }
}

export class EngineProcess implements vscode.Disposable {
  private child: ChildProcess | undefined;
  private rpc: RpcEndpoint<HostContract, EngineContract> | undefined;
  private exited: EngineExit | undefined;
  private readonly stderr: string[] = [];
  private stopping = false;
  private readonly events = new vscode.EventEmitter<EngineEvent>();
  private readonly exits = new vscode.EventEmitter<EngineExit>();
  /** Every event the engine announces (training progress, log lines). */
  readonly onEvent = this.events.event;
  readonly onExit = this.exits.event;

  /** `enginePath`: the engine bundle (dist/engine.js). */
  constructor(
    private readonly enginePath: string,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and waits for its backend to be ready. */
  async start(config: EngineConfig): Promise<EngineReady> {
    const child = this.fork();
    const rpc = new RpcEndpoint<HostContract, EngineContract>(
      // A message to a process that has lost its channel is dropped (the exit that follows closes the endpoint).
      ipcPipe({
        send: (message) => child.connected && child.send(message as RpcMessage),
        on: (event, listener) => child.on(event, listener),
        off: (event, listener) => child.off(event, listener),
      }),
    );
    this.rpc = rpc;
    for (const type of ENGINE_EVENTS) rpc.on(type, (payload) => this.events.fire({ type, payload } as EngineEvent));
    child.on('exit', (code, signal) => {
      const exit: EngineExit = { code, signal, stderrTail: this.stderr.join('\n'), expected: this.stopping };
      this.exited = exit;
      this.child = undefined;
      rpc.close(new Error(`The engine process ended unexpectedly (${describeExit(exit)}).`));
      this.exits.fire(exit);
    });
    try {
      return await rpc.request('init', config);
    } catch (e) {
      const exit = this.exited;
      if (!exit) throw e;
      const tail = exit.stderrTail.split('\n').slice(-5).join(' ');
      throw new Error(`The engine process failed to start (${describeExit(exit)}): ${tail || 'no output'}`);
    }
  }

  private fork(): ChildProcess {
    const { execPath, memoryMB } = nodeSettings();
    const child = fork(this.enginePath, [], {
      execPath,
      execArgv: [`--max-old-space-size=${memoryMB}`],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Structured clone: Float32Arrays of feature maps and heatmaps cross as they are.
      serialization: 'advanced',
    });
    this.child = child;
    this.output.info(`Engine process ${child.pid} started (${execPath}, --max-old-space-size=${memoryMB})`);
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
    return child;
  }

  private get endpoint(): RpcEndpoint<HostContract, EngineContract> {
    if (!this.rpc) throw new Error('The engine process has not been started.');
    return this.rpc;
  }

  /** Trains; aborting `signal` stops at the next batch boundary (a checkpoint is saved, status `stopped`). */
  train(request: TrainRequest, signal?: AbortSignal): Promise<TrainingFinished> {
    return this.endpoint.request('train', request, { signal });
  }

  /** One inspection; its result type is the contract's for `kind`. */
  inspect<K extends ServiceKind>(
    kind: K,
    params: ServiceRequests[K]['params'],
    options: RequestOptions<InspectionProgress<K>> = {},
  ): Promise<ServiceRequests[K]['result']> {
    return this.endpoint.request(kind, params, options);
  }

  /** Kills the process now (tests use it to simulate a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  /** Asks the engine to stop (it saves at the next batch boundary) and kills it after a grace period. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Answered by the exit: the rejection that closes the request is expected.
    this.endpoint.request('shutdown', null).catch(() => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  dispose(): void {
    void this.stop();
    this.events.dispose();
    this.exits.dispose();
  }
}
