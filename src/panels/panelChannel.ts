/**
 * The host end of a panel's channel to its webview: an `RpcEndpoint` (src/protocol/rpc.ts) over
 * `webview.postMessage` / `webview.onDidReceiveMessage`, whose handlers and listeners cannot fail unnoticed.
 *
 * Every request handler and event listener a panel registers goes through `handle` / `on`: an error (thrown or
 * rejected) is caught here and handed to the panel's `PanelErrorSink`, the one place that logs and shows it
 * (src/panels/panelBase.ts); a failed request also answers the webview with the error, so the page never waits
 * for an answer that will not come. Work a handler starts without awaiting (a command that runs a training)
 * goes through `background`, for the same reason.
 *
 * Free of the `vscode` import (it takes the two members of a webview it uses), so unit tests drive it.
 */
import { type Contract, type Handler, type MessagePipe, RpcEndpoint, RpcError } from '../protocol/rpc';

/** The two members of `vscode.Webview` the channel uses. */
export interface WebviewPort {
  postMessage(message: unknown): PromiseLike<boolean>;
  onDidReceiveMessage(listener: (message: unknown) => unknown): { dispose(): unknown };
}

/** The pipe of a webview: out with postMessage, in with onDidReceiveMessage. */
export function webviewPipe(webview: WebviewPort): MessagePipe {
  return {
    send: (message) => {
      // A page being torn down (its panel hidden or closed) may refuse a message: nothing to retry, a page that
      // loads again asks for its full state.
      try {
        webview.postMessage(message).then(undefined, () => undefined);
      } catch {
        // disposed
      }
    },
    onMessage: (listener) => {
      const subscription = webview.onDidReceiveMessage(listener);
      return () => void subscription.dispose();
    },
  };
}

/** Where the errors of a panel's handlers go. */
export interface PanelErrorSink {
  /**
   * `what` failed with `error`. `shownByWebview`: the failure is answered to the webview, which shows it where it
   * happened (an inspection's own status line), so the host only logs it.
   */
  (what: string, error: unknown, shownByWebview: boolean): void;
}

export interface HandleOptions {
  /** The webview shows this request's failures itself (the host logs them, and does not show them again). */
  shownByWebview?: boolean;
}

/** `Host` is the contract the panel answers and announces; `View` the webview's. */
export class PanelChannel<Host extends Contract, View extends Contract> {
  private readonly endpoint: RpcEndpoint<Host, View>;
  private readonly stops: (() => void)[] = [];

  constructor(
    pipe: MessagePipe,
    private readonly errors: PanelErrorSink,
  ) {
    this.endpoint = new RpcEndpoint<Host, View>(pipe);
  }

  /** Answers `method`; a failure is reported (see `HandleOptions`) and answered to the webview as an error. */
  handle<K extends keyof Host['requests'] & string>(
    method: K,
    handler: Handler<Host['requests'][K]>,
    options: HandleOptions = {},
  ): void {
    this.stops.push(
      this.endpoint.handle(method, async (params, context) => {
        try {
          return await handler(params, context);
        } catch (e) {
          this.errors(method, e, options.shownByWebview ?? false);
          throw e;
        }
      }),
    );
  }

  /** Listens to the webview's `name` events; a listener's failure is reported. */
  on<K extends keyof View['events'] & string>(
    name: K,
    listener: (payload: View['events'][K]) => void | Promise<void>,
  ): void {
    this.stops.push(
      this.endpoint.on(name, (payload) => {
        try {
          const done = listener(payload);
          if (done) done.catch((e: unknown) => this.errors(name, e, false));
        } catch (e) {
          this.errors(name, e, false);
        }
      }),
    );
  }

  /** Announces `name` to the webview (dropped once the channel is closed). */
  notify<K extends keyof Host['events'] & string>(name: K, payload: Host['events'][K]): void {
    this.endpoint.notify(name, payload);
  }

  /** Work started and not awaited (a command running a training): its failure is reported as `what`'s. */
  background(what: string, work: PromiseLike<unknown>): void {
    work.then(undefined, (e: unknown) => this.errors(what, e, false));
  }

  /** Stops answering and listening; running handlers see their signal aborted. Idempotent. */
  close(): void {
    for (const stop of this.stops.splice(0)) stop();
    this.endpoint.close(new RpcError('The panel was closed.'));
  }
}
