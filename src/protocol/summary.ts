/**
 * The contract between the extension host and the model summary webview (see src/protocol/panel.ts). The webview
 * asks for its full `state` when it loads; the host then announces a new `summary` after each edit of the spec
 * (debounced) and a `focus` when the command asks for a part (a block lens). The webview asks the host to reveal
 * the spec text of a clicked row and to copy the text summary, and announces each render (for the log and tests).
 */
import type { ModelSummary } from '../core/modelSummary';
import type { NoRequests } from './panel';
import type { Contract } from './rpc';

/** The summary of one version of the spec; `summary` is undefined while the spec has errors (`problem` says which). */
export interface SummaryUpdate {
  summary?: ModelSummary;
  problem?: string;
  version: number;
}

/** The full state of the panel. */
export interface SummaryState extends SummaryUpdate {
  specUri: string;
  specName: string;
  /** A part (group name such as `conv3`) to scroll to. */
  focus?: string;
}

/** What the webview persists across reloads (setState). */
export interface SummaryWebviewState {
  specUri?: string;
  /** Group name -> collapsed, for the groups the user folded. */
  collapsed?: Record<string, boolean>;
  sort?: { key: string; direction: 'asc' | 'desc' };
  filter?: string;
}

/** After each render: rows drawn and how long it took. */
export interface SummaryRendered {
  version: number;
  rows: number;
  renderMs: number;
}

export interface SummaryHost extends Contract {
  requests: {
    state: { params: null; result: SummaryState };
    /** A row was clicked: reveal and select the spec text that defines its layer's part. */
    reveal: { params: { layer: string }; result: void };
    /** Copies the Keras-style text summary of the shown version to the clipboard and returns it. */
    copyText: { params: null; result: { text: string } };
  };
  events: {
    summary: SummaryUpdate;
    focus: { group: string };
  };
}

export interface SummaryView extends Contract {
  requests: NoRequests;
  events: {
    rendered: SummaryRendered;
  };
}
