/**
 * The webview side of messaging: a typed wrapper around acquireVsCodeApi (which may be called once), with
 * state that survives the panel being hidden or the window reloading (setState/getState).
 */
interface VsCodeApi<S> {
  postMessage(message: unknown): void;
  getState(): S | undefined;
  setState(state: S): void;
}

declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

let api: VsCodeApi<unknown> | undefined;

export function vscodeApi<S>(): VsCodeApi<S> {
  api ??= acquireVsCodeApi<unknown>();
  return api as VsCodeApi<S>;
}

/** Sends a typed message to the host. */
export function post<T>(message: T): void {
  vscodeApi().postMessage(message);
}

/** Listens to typed messages from the host. */
export function onMessage<T>(handler: (message: T) => void): void {
  window.addEventListener('message', (e: MessageEvent<T>) => handler(e.data));
}
