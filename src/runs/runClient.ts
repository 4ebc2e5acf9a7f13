/**
 * A client of a detached training engine (src/engine/detached.ts): connects to the run's socket (retrying while
 * the engine starts listening), speaks `RunEngineContract` over newline-delimited JSON, and tells when the
 * connection ends. Disconnecting never stops the training. The host and `densenet-lab stop` use it.
 */
import * as net from 'net';
import type { RunEngineContract } from '../protocol/engine';
import { type NoContract, RpcEndpoint, RpcError, socketPipe } from '../protocol/rpc';

export interface RunClient {
  readonly endpoint: RpcEndpoint<NoContract, RunEngineContract>;
  /** Resolves when the connection ends (the engine exited, or `close` was called). */
  readonly closed: Promise<void>;
  /** Disconnects (the engine goes on). */
  close(): void;
}

const RETRY_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);

function connectOnce(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export interface ConnectOptions {
  /** Keep retrying this long while the socket does not exist yet or refuses (default 0: one attempt). */
  timeoutMs?: number;
  /** Stop retrying when this says the engine is gone. */
  gone?: () => boolean;
}

/** Connects to the engine listening on `socketPath`; rejects naming the socket when it cannot. */
export async function connectRun(socketPath: string, options: ConnectOptions = {}): Promise<RunClient> {
  const deadline = Date.now() + (options.timeoutMs ?? 0);
  let socket: net.Socket | undefined;
  for (;;) {
    try {
      socket = await connectOnce(socketPath);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (!RETRY_CODES.has(code) || Date.now() >= deadline || options.gone?.())
        throw new Error(`Cannot reach the training engine at ${socketPath} (${code || (e as Error).message})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return clientOf(socket);
}

function clientOf(socket: net.Socket): RunClient {
  socket.setEncoding('utf8');
  const endpoint = new RpcEndpoint<NoContract, RunEngineContract>(socketPipe(socket));
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      endpoint.close(new RpcError('The connection to the training engine was closed.'));
      resolve();
    }),
  );
  // An error is followed by 'close'.
  socket.on('error', () => undefined);
  return {
    endpoint,
    closed,
    close: () => {
      socket.end();
      socket.destroy();
    },
  };
}
