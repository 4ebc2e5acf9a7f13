/**
 * A detached training engine: started by the host (`dist/engine.js --run <launch file>`) in its own process
 * group with its stdout and stderr in a log file, it listens on the run's local socket, trains, and writes the
 * run whether or not a client is connected. Clients (the window that started it, a reloaded window,
 * `densenet-lab stop`) connect and disconnect at will: `attach` answers what happened so far, the events follow;
 * `stop`, SIGTERM or SIGINT stop at the next batch boundary with a checkpoint (status `stopped`).
 *
 * Once the run folder exists it holds `engine.json` (the socket, src/runs/runEngine.ts) and `engine.log`.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type {
  RunEngineContract,
  RunEngineEvents,
  RunEngineState,
  RunLaunch,
  TrainingEnded,
  TrainingStarted,
} from '../protocol/engine';
import { type NoContract, RpcEndpoint, socketPipe } from '../protocol/rpc';
import { ENGINE_LOG, removeEngineRecord, writeEngineRecord } from '../runs/runEngine';
import { initBackend } from './backend';
import { setWeightsCacheDir } from './initialWeights';
import { setInferencePreference } from './onnxRuntime';
import { train, type TrainControl } from './training/train';

/** How long the engine waits for the window that started it to connect before training without it. */
const FIRST_CLIENT_MS = 10_000;
/** How long, at the end, connected clients get to read the last messages. */
const GOODBYE_MS = 2_000;

type Client = RpcEndpoint<RunEngineContract, NoContract>;

/** Reads and removes the launch file the host wrote; throws naming what is missing. */
export function readLaunch(file: string): RunLaunch {
  if (!file) throw new Error('--run needs the launch file the editor writes');
  const launch = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RunLaunch>;
  fs.rmSync(file, { force: true });
  if (!launch.config || !launch.request || typeof launch.socket !== 'string' || typeof launch.log !== 'string')
    throw new Error(`${file} is not a launch file: it needs config, request, socket and log`);
  return launch as RunLaunch;
}

/** The engine's server: its clients, what it has done so far, and the stop. */
class RunServer {
  readonly state: RunEngineState = { epochs: [], stopping: false };
  readonly control: TrainControl = { cancelled: false };
  private readonly clients = new Set<{ endpoint: Client; socket: net.Socket }>();
  private readonly server: net.Server;
  private firstClient: (() => void) | undefined;
  readonly connected: Promise<void>;

  constructor() {
    this.connected = new Promise((resolve) => (this.firstClient = resolve));
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(socketPath: string): Promise<void> {
    // A socket file left by a crashed engine of the same name would refuse the listen.
    if (process.platform !== 'win32') fs.rmSync(socketPath, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private accept(socket: net.Socket): void {
    socket.setEncoding('utf8');
    const endpoint: Client = new RpcEndpoint(socketPipe(socket));
    const client = { endpoint, socket };
    this.clients.add(client);
    endpoint.handle('attach', () => this.state);
    endpoint.handle('stop', () => {
      this.stop();
      return null;
    });
    const drop = () => {
      this.clients.delete(client);
      endpoint.close();
    };
    socket.on('close', drop);
    socket.on('error', () => socket.destroy());
    this.firstClient?.();
  }

  get hasClients(): boolean {
    return this.clients.size > 0;
  }

  notify<K extends keyof RunEngineEvents & string>(name: K, payload: RunEngineEvents[K]): void {
    for (const c of this.clients) c.endpoint.notify(name, payload);
  }

  stop(): void {
    if (this.state.stopping || this.state.ended) return;
    this.state.stopping = true;
    this.control.cancelled = true;
    this.notify('log', { level: 'info', message: 'Stopping at the next batch boundary (a checkpoint is saved)' });
  }

  /** Ends every connection once its last messages are written (or after a grace period), and stops listening. */
  async close(): Promise<void> {
    const ends = [...this.clients].map(
      ({ socket }) =>
        new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          socket.end();
        }),
    );
    await Promise.race([Promise.all(ends), new Promise((r) => setTimeout(r, GOODBYE_MS))]);
    for (const { socket } of this.clients) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Once the run folder exists: the engine record and the log inside it. */
function settleInRun(launch: RunLaunch, info: TrainingStarted): void {
  let log = launch.log;
  const inRun = path.join(info.runDir, ENGINE_LOG);
  if (path.resolve(log) !== path.resolve(inRun)) {
    try {
      // The file stays open as stdout and stderr: renamed, it is written where it now is.
      fs.renameSync(log, inRun);
      log = inRun;
    } catch {
      // another file system (or a file Windows keeps): the log stays where it was, and the record says where
    }
  }
  writeEngineRecord(info.runDir, {
    pid: process.pid,
    socket: launch.socket,
    log,
    host: os.hostname(),
    since: new Date().toISOString(),
  });
}

/** Trains the launch's request, serving its socket; resolves with the process's exit code. */
export async function runDetached(launchFile: string): Promise<number> {
  const launch = readLaunch(launchFile);
  const server = new RunServer();
  await server.listen(launch.socket);
  const stop = () => server.stop();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A closed terminal or session is no reason to stop: the training outlives them.
  if (process.platform !== 'win32') process.on('SIGHUP', () => undefined);
  await Promise.race([server.connected, new Promise((r) => setTimeout(r, FIRST_CLIENT_MS))]);
  const { state } = server;
  let runDir: string | undefined;
  let ended: TrainingEnded;
  try {
    const { config, request } = launch;
    if (config.weightsCacheDir) setWeightsCacheDir(config.weightsCacheDir);
    setInferencePreference(config.inference ?? 'auto');
    const choice = await initBackend(config.backend, {
      nativeSearchPaths: config.nativeSearchPaths,
      wasmDir: config.wasmDir ?? __dirname,
    });
    state.ready = { backend: choice.backend, reason: choice.reason, warnings: choice.warnings, note: choice.note };
    server.notify('engine/ready', state.ready);
    const finished = await train(
      request,
      {
        started: (info) => {
          runDir = info.runDir;
          settleInRun(launch, info);
          state.started = info;
          server.notify('training/started', info);
        },
        batch: (m) => {
          state.lastBatch = m;
          server.notify('training/batch', m);
        },
        epochEnd: (m) => {
          state.epochs.push(m);
          server.notify('training/epochEnd', m);
        },
        skipped: (file, reason, total) => server.notify('training/skipped', { file, reason, total }),
        log: (level, message) => {
          process.stdout.write(`${level}: ${message}\n`);
          server.notify('log', { level, message });
        },
      },
      server.control,
    );
    ended = { finished };
  } catch (e) {
    ended = { error: e instanceof Error ? e.message : String(e) };
    process.stderr.write(`Training failed: ${ended.error}\n`);
  }
  state.ended = ended;
  server.notify('training/ended', ended);
  if (runDir) removeEngineRecord(runDir);
  // A new run that never began (refused before its folder existed): the error reached a client, and the log
  // beside the runs would be left behind.
  else if (!launch.request.resumeRunDir && server.hasClients) fs.rmSync(launch.log, { force: true });
  await server.close();
  return ended.error === undefined ? 0 : 1;
}
