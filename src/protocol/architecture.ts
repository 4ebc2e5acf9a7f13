/**
 * The contract between the extension host and the architecture webview (see src/protocol/panel.ts). The webview
 * asks for its full `state` (spec, diagram model, highlighted groups) when it loads; the host then announces a
 * new `model` after each edit (debounced) and the `highlight` as the cursor moves. The webview asks the host to
 * reveal the spec text of a clicked node and to save exports, and announces each render (for the log and tests).
 */
import type { DiagramModel } from '../core/diagram';
import type { NodeProperties } from '../core/nodeProperties';
import type { NoRequests, SaveResult } from './panel';
import type { Contract } from './rpc';

/** The full state of the panel, also what the webview keeps with setState (the serializer reads `specUri`). */
export interface ArchitectureState {
  specUri: string;
  specName: string;
  /** Undefined when the spec has errors that stop the analysis; `problem` says why. */
  model?: DiagramModel;
  problem?: string;
  /** Where the model's weights come from (`model.weights`), in words. */
  weights?: string;
  /** Document version the model is of. */
  version: number;
  /** Groups whose spec text holds the cursor. */
  highlight: string[];
}

/** What the webview persists across reloads (setState). */
export interface ArchitectureWebviewState {
  specUri?: string;
  /** Block (group name) -> expanded, for the blocks the user toggled. */
  expanded?: Record<string, boolean>;
  /** Every dense arc drawn, or (default) only the selected/hovered layer's in blocks of more than 12 layers. */
  allArcs?: boolean;
}

/** The model after an edit. `changedAt`: Date.now() on the host when the document changed (edit-to-render latency). */
export interface ArchitectureModel {
  /** Undefined while the spec is broken: the webview keeps drawing the last good model under the problem. */
  model?: DiagramModel;
  problem?: string;
  weights?: string;
  version: number;
  sentAt: number;
  changedAt?: number;
}

/** After each render: how long the layout and DOM update took (ms), for the log and tests. */
export interface ArchitectureRendered {
  version: number;
  nodes: number;
  renderMs: number;
  /** From the edit (host time of the document change) to the end of the render. */
  latencyMs?: number;
}

export type ExportFormat = 'svg' | 'png';

/** The host: answers the handshake, reveals, exports; announces models and highlights. */
export interface ArchitectureHost extends Contract {
  requests: {
    state: { params: null; result: ArchitectureState };
    /**
     * A node was clicked (or found by the search): reveal and select the spec text that defines the group.
     * `keepFocus`: leave the focus in the panel (the search box keeps typing).
     */
    reveal: { params: { group: string; keepFocus?: boolean }; result: void };
    /** The properties pane of a node (layers, weight shapes, params, MACs, memory); null when it is gone. */
    properties: { params: { id: string }; result: NodeProperties | null };
    /** `data` is the SVG text or a PNG data URL; the host asks where and writes it. */
    export: { params: { format: ExportFormat; data: string }; result: SaveResult };
  };
  events: {
    model: ArchitectureModel;
    highlight: { groups: string[] };
  };
}

/** The webview: announces its renders. */
export interface ArchitectureView extends Contract {
  requests: NoRequests;
  events: { rendered: ArchitectureRendered };
}
