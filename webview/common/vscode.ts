/**
 * The page side of a panel: a typed wrapper around acquireVsCodeApi (which may be called once), with state that
 * survives the panel being hidden or the window reloading (setState/getState), and the page's RPC endpoint to
 * its panel (src/protocol/rpc.ts) over postMessage and the window's message events.
 */
import { type Contract, type MessagePipe, type NoContract, RpcEndpoint } from '../../src/protocol/rpc';

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

/** The page end of the panel's pipe: postMessage out, the window's message events in. */
export function hostPipe(): MessagePipe {
  return {
    send: (message) => vscodeApi().postMessage(message),
    onMessage: (listener) => {
      const onMessage = (e: MessageEvent<unknown>) => listener(e.data);
      window.addEventListener('message', onMessage);
      return () => window.removeEventListener('message', onMessage);
    },
  };
}

/**
 * The page's endpoint to its panel: `Host` is the panel's contract, `View` the page's. The page loads again each
 * time its hidden panel is shown while the panel lives on, so its request ids start in a fresh range: an answer
 * to a request of the previous page can never settle one of this page.
 */
export function connectToHost<Host extends Contract, View extends Contract = NoContract>(): RpcEndpoint<View, Host> {
  return new RpcEndpoint<View, Host>(hostPipe(), { firstId: 1 + Math.floor(Math.random() * 2 ** 40) });
}

/**
 * For a request whose failure the panel reports itself (it logs it and shows it: src/panels/panelBase.ts), so the
 * page has nothing to add.
 */
export function reportedByHost(request: Promise<unknown>): void {
  request.catch(() => undefined);
}
