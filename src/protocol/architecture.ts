/**
 * Messages between the extension host and the architecture webview. The webview sends `ready` when it has
 * loaded; the host answers with the full `architecture/state` (spec, diagram model, highlighted groups), then
 * sends a new `architecture/model` after each edit (debounced) and `architecture/highlight` as the cursor moves.
 */
import type { DiagramModel } from '../core/diagram';

/** The full state of the panel, also what the webview keeps with setState (the serializer reads `specUri`). */
export interface ArchitectureState {
  specUri: string;
  specName: string;
  /** Undefined when the spec has errors that stop the analysis; `problem` says why. */
  model?: DiagramModel;
  problem?: string;
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
}

export type ArchitectureToWebview =
  | { type: 'architecture/state'; state: ArchitectureState }
  /** `changedAt`: Date.now() on the host when the document changed (for the edit-to-render latency). */
  | {
      type: 'architecture/model';
      model?: DiagramModel;
      problem?: string;
      version: number;
      sentAt: number;
      changedAt?: number;
    }
  | { type: 'architecture/highlight'; groups: string[] }
  | { type: 'architecture/exported'; inReplyTo: number; ok: boolean; path?: string; error?: string };

export type ArchitectureFromWebview =
  | { type: 'ready' }
  /** A node was clicked: reveal and select the spec text that defines the group. */
  | { type: 'architecture/reveal'; group: string }
  /** Export: `data` is the SVG text or a PNG data URL; the host asks where and writes it. */
  | { type: 'architecture/export'; id: number; format: 'svg' | 'png'; data: string }
  /** After each render: how long the layout and DOM update took (ms), for the log and tests. */
  /** `latencyMs`: from the edit (host time of the document change) to the end of the render. */
  | { type: 'architecture/rendered'; version: number; nodes: number; renderMs: number; latencyMs?: number };
