/**
 * One typed request/response endpoint over any message pipe: the engine process's ipc channel, a worker
 * thread's port, a webview's `postMessage`. Both sides of a channel share one pair of contracts (what each side
 * answers and what it announces), so a caller never picks the type of a result.
 *
 * - `request(method, params, { onProgress, signal })` sends a request with an id and resolves with its result,
 *   or rejects with the error the other side threw (an `RpcError`). Aborting `signal` sends a cancel: the
 *   handler's own `signal` aborts, and the handler decides what it returns.
 * - `handle(method, handler)` answers requests; a handler that throws (or rejects) answers with an error, so
 *   no request is left hanging. A request for a method with no handler is answered with an error too.
 * - `notify(name, payload)` / `on(name, listener)`: one-way events (training progress, state pushes).
 * - `close(error)` rejects every request still waiting (the process exited, the panel was closed).
 *
 * Pure: no Node or DOM imports, so the host, the engine, workers and webviews all use it.
 */

/** What crosses the pipe. Everything else that arrives is ignored. */
export type RpcMessage =
  | { rpc: 'request'; id: number; method: string; params: unknown }
  | { rpc: 'result'; id: number; result: unknown }
  | { rpc: 'error'; id: number; error: { message: string; name?: string } }
  | { rpc: 'progress'; id: number; value: unknown }
  | { rpc: 'cancel'; id: number }
  | { rpc: 'event'; name: string; payload: unknown };

/** Buffers handed over instead of copied (worker ports); pipes that cannot transfer ignore the list. */
export type TransferList = ArrayBuffer[];

/** A send/receive pair. `onMessage` returns a function that stops listening. */
export interface MessagePipe {
  send(message: RpcMessage, transfer?: TransferList): void;
  onMessage(listener: (message: unknown) => void): () => void;
}

/** One request of a contract: its parameters, its result and (optionally) its progress values. */
export interface RequestType {
  params: unknown;
  result: unknown;
  progress?: unknown;
}

/** What one side of a channel answers (`requests`) and announces (`events`). */
export interface Contract {
  requests: Record<string, RequestType>;
  events: Record<string, unknown>;
}

/** An empty side: answers nothing, announces nothing. */
export interface NoContract {
  requests: Record<never, RequestType>;
  events: Record<never, unknown>;
}

type Progress<R extends RequestType> = R extends { progress: infer P } ? P : never;

/** A value with the buffers to transfer along with it (results, progress values and events). */
export class Transfer<T> {
  constructor(
    readonly value: T,
    readonly list: TransferList,
  ) {}
}
type MaybeTransfer<T> = T | Transfer<T>;

export interface HandlerContext<P> {
  /** Aborted when the caller cancels the request or the endpoint closes. */
  signal: AbortSignal;
  progress(value: MaybeTransfer<P>): void;
}

export type Handler<R extends RequestType> = (
  params: R['params'],
  context: HandlerContext<Progress<R>>,
) => MaybeTransfer<R['result']> | Promise<MaybeTransfer<R['result']>>;

export interface RequestOptions<P> {
  onProgress?: (value: P) => void;
  signal?: AbortSignal;
  transfer?: TransferList;
}

/** The error a request rejects with when the other side failed, or the endpoint closed. */
export class RpcError extends Error {
  constructor(message: string, name?: string) {
    super(message);
    this.name = name ?? 'RpcError';
  }
}

export function isRpcMessage(m: unknown): m is RpcMessage {
  if (typeof m !== 'object' || m === null) return false;
  const { rpc, id, method, name } = m as Record<string, unknown>;
  switch (rpc) {
    case 'request':
      return typeof id === 'number' && typeof method === 'string';
    case 'result':
    case 'error':
    case 'progress':
    case 'cancel':
      return typeof id === 'number';
    case 'event':
      return typeof name === 'string';
    default:
      return false;
  }
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
  onProgress?: (value: unknown) => void;
  cleanup(): void;
}

const unwrap = <T>(v: MaybeTransfer<T>): [T, TransferList | undefined] =>
  v instanceof Transfer ? [v.value, v.list] : [v, undefined];

export interface EndpointOptions {
  /**
   * The id of the first request (default 1). A side that may be started again while the other side keeps
   * running (a webview page reloads when its panel is shown again, the host lives on) picks a fresh range, so an
   * answer to the previous page's request can never settle a request of the new page.
   */
  firstId?: number;
}

/**
 * `Mine` is the contract this side implements (requests it answers, events it sends); `Theirs` the other side's.
 */
export class RpcEndpoint<Mine extends Contract, Theirs extends Contract> {
  private nextId: number;
  private closed: Error | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly running = new Map<number, AbortController>();
  private readonly handlers = new Map<string, Handler<RequestType>>();
  private readonly listeners = new Map<string, Set<(payload: unknown) => void>>();
  private readonly stopListening: () => void;

  constructor(
    private readonly pipe: MessagePipe,
    options: EndpointOptions = {},
  ) {
    this.nextId = options.firstId ?? 1;
    this.stopListening = pipe.onMessage((m) => {
      if (isRpcMessage(m)) this.receive(m);
    });
  }

  request<K extends keyof Theirs['requests'] & string>(
    method: K,
    params: Theirs['requests'][K]['params'],
    options: RequestOptions<Progress<Theirs['requests'][K]>> = {},
  ): Promise<Theirs['requests'][K]['result']> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    const { signal, onProgress } = options;
    return new Promise((resolve, reject) => {
      const onAbort = () => this.send({ rpc: 'cancel', id });
      const cleanup = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: resolve as (r: unknown) => void,
        reject,
        onProgress: onProgress as ((v: unknown) => void) | undefined,
        cleanup,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.send({ rpc: 'request', id, method, params }, options.transfer);
      if (signal?.aborted) onAbort();
    });
  }

  handle<K extends keyof Mine['requests'] & string>(method: K, handler: Handler<Mine['requests'][K]>): () => void {
    // Stored untyped: the method name is what ties a request to its handler's types.
    const stored = handler as unknown as Handler<RequestType>;
    this.handlers.set(method, stored);
    return () => {
      if (this.handlers.get(method) === stored) this.handlers.delete(method);
    };
  }

  notify<K extends keyof Mine['events'] & string>(name: K, payload: MaybeTransfer<Mine['events'][K]>): void {
    const [value, transfer] = unwrap(payload);
    this.send({ rpc: 'event', name, payload: value }, transfer);
  }

  on<K extends keyof Theirs['events'] & string>(name: K, listener: (payload: Theirs['events'][K]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    const l = listener as (payload: unknown) => void;
    set.add(l);
    return () => set.delete(l);
  }

  /** Requests sent and not yet answered. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Rejects every waiting request with `error`, aborts running handlers and stops listening. Idempotent. */
  close(error: Error = new RpcError('The channel was closed.')): void {
    if (this.closed) return;
    this.closed = error;
    this.stopListening();
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(error);
    }
    this.pending.clear();
    for (const c of this.running.values()) c.abort();
    this.running.clear();
    this.listeners.clear();
  }

  private send(message: RpcMessage, transfer?: TransferList): void {
    if (!this.closed) this.pipe.send(message, transfer);
  }

  private receive(m: RpcMessage): void {
    switch (m.rpc) {
      case 'request':
        void this.answer(m.id, m.method, m.params);
        return;
      case 'cancel':
        this.running.get(m.id)?.abort();
        return;
      case 'progress':
        this.pending.get(m.id)?.onProgress?.(m.value);
        return;
      case 'event':
        for (const l of [...(this.listeners.get(m.name) ?? [])]) l(m.payload);
        return;
      case 'result':
      case 'error': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        p.cleanup();
        if (m.rpc === 'result') p.resolve(m.result);
        else p.reject(new RpcError(m.error.message, m.error.name));
        return;
      }
    }
  }

  private async answer(id: number, method: string, params: unknown): Promise<void> {
    const handler = this.handlers.get(method);
    if (!handler) {
      this.send({ rpc: 'error', id, error: { message: `No handler for '${method}'.` } });
      return;
    }
    const controller = new AbortController();
    this.running.set(id, controller);
    try {
      const out = await handler(params, {
        signal: controller.signal,
        progress: (v) => {
          const [value, transfer] = unwrap(v);
          this.send({ rpc: 'progress', id, value }, transfer);
        },
      });
      const [result, transfer] = unwrap(out);
      this.send({ rpc: 'result', id, result }, transfer);
    } catch (e) {
      const error = e instanceof Error ? { message: e.message, name: e.name } : { message: String(e) };
      this.send({ rpc: 'error', id, error });
    } finally {
      this.running.delete(id);
    }
  }
}

/** Two endpoints' pipes joined in memory (tests, and a webview-less use of a contract). */
export function pipePair(): [MessagePipe, MessagePipe] {
  const listeners: [Set<(m: unknown) => void>, Set<(m: unknown) => void>] = [new Set(), new Set()];
  const end = (mine: 0 | 1): MessagePipe => ({
    send: (message) => {
      const other = listeners[1 - mine];
      queueMicrotask(() => other.forEach((l) => l(structuredClone(message))));
    },
    onMessage: (l) => {
      listeners[mine].add(l);
      return () => listeners[mine].delete(l);
    },
  });
  return [end(0), end(1)];
}

/** The `process` of a forked child, or the `ChildProcess` that forked it (ipc channel; transfers are copies). */
export interface IpcTarget {
  send?(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

export function ipcPipe(target: IpcTarget): MessagePipe {
  return {
    send: (message) => {
      target.send?.(message);
    },
    onMessage: (listener) => {
      target.on('message', listener);
      return () => target.off('message', listener);
    },
  };
}

/**
 * A byte stream (a `net.Socket`: Unix domain socket, Windows named pipe): one JSON message per line. Lines that
 * are not JSON are dropped; a line longer than `MAX_LINE_CHARS` ends what was buffered (a peer that does not speak
 * the protocol cannot grow it without bound). Nothing is sent once the stream is no longer writable.
 */
export interface StreamTarget {
  readonly writable?: boolean;
  write(chunk: string): unknown;
  on(event: 'data', listener: (chunk: string | Uint8Array) => void): unknown;
  off(event: 'data', listener: (chunk: string | Uint8Array) => void): unknown;
}

export const MAX_LINE_CHARS = 64 * 2 ** 20;

export function socketPipe(stream: StreamTarget): MessagePipe {
  return {
    send: (message) => {
      if (stream.writable !== false) stream.write(JSON.stringify(message) + '\n');
    },
    onMessage: (listener) => {
      const decoder = new TextDecoder();
      let buffer = '';
      const onData = (chunk: string | Uint8Array) => {
        buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (line.trim() === '') continue;
          let message: unknown;
          try {
            message = JSON.parse(line);
          } catch {
            continue;
          }
          listener(message);
        }
        if (buffer.length > MAX_LINE_CHARS) buffer = '';
      };
      stream.on('data', onData);
      return () => stream.off('data', onData);
    },
  };
}

/** A worker thread's `parentPort`, or the `Worker` (transfers hand the buffers over). */
export interface PortTarget {
  postMessage(message: unknown, transfer?: TransferList): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

export function portPipe(port: PortTarget): MessagePipe {
  return {
    send: (message, transfer) => port.postMessage(message, transfer),
    onMessage: (listener) => {
      port.on('message', listener);
      return () => port.off('message', listener);
    },
  };
}
