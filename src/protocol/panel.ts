/**
 * What the contracts of every webview panel have in common (src/protocol/{architecture,dashboard,features}.ts).
 *
 * Each panel and its webview talk through one `RpcEndpoint` (src/protocol/rpc.ts): the host answers the
 * webview's requests and announces changes as events; the webview answers nothing and announces what it drew.
 * The handshake is a request: each time the page (re)loads it asks for its full `state`, so a panel that was
 * hidden, restored after a window reload or reopened always starts from what the host knows now.
 */
import type { Contract, RequestType } from './rpc';

/** The request every panel host answers: the full state the page draws from. */
export interface StateRequest<S> {
  state: { params: null; result: S };
}

/** The host side of a panel: at least the `state` handshake. */
export type PanelHostContract<S> = Contract & { requests: StateRequest<S> };

/** A webview that answers no request (what it announces is in `events`). */
export type NoRequests = Record<never, RequestType>;

/** What a save to a file the user picks came to: written to `path`, or the save dialog was cancelled. */
export type SaveResult = { saved: true; path: string } | { saved: false };
