/**
 * What the views of the feature maps page share: the endpoint to the panel (contract: src/protocol/features.ts),
 * the UI choices kept across reloads, the status line, buttons, the class and layer pickers, and PNG exports.
 */
import type { FeatureLayer, FeaturesHost, FeaturesView } from '../../src/protocol/features';
import { el } from '../common/dom';
import { connectToHost, reportedByHost, vscodeApi } from '../common/vscode';
import { type Colormap, pngOf } from './render';

export const host = connectToHost<FeaturesHost, FeaturesView>();

/** What the page keeps with setState (the panel's serializer reads the image and checkpoint). */
export interface UiState {
  imagePath?: string;
  checkpointPath?: string;
  checkpointLabel?: string;
  layer?: string;
  colormap: Colormap;
  normalise: 'channel' | 'layer';
  sort: boolean;
}

const api = vscodeApi<UiState>();
export const ui: UiState = { colormap: 'viridis', normalise: 'channel', sort: false, ...api.getState() };
export const saveUi = (): void => api.setState(ui);

/** The message of a failed request. */
export const failure = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The page's status line (loading, errors). */
export const message = el('div', { class: 'status', id: 'message' });

export function setMessage(text: string, error = false): void {
  message.textContent = text;
  message.className = error ? 'status error' : 'status muted';
}

export function button(label: string, onClick: () => void, secondary = false): HTMLButtonElement {
  const b = el('button', secondary ? { class: 'secondary' } : {}, label);
  b.addEventListener('click', onClick);
  return b;
}

/** Saves a PNG data URL where the user picks (the panel reports a failure). */
export function exportPng(name: string, dataUrl: string): void {
  reportedByHost(host.request('export', { name, dataUrl }));
}

/** Saves a view's canvas, scaled up, unless nothing has been drawn in it yet. */
export function exportCanvas(c: HTMLCanvasElement, name: string): void {
  if (c.width <= 1) return;
  exportPng(name, pngOf(c));
}

export function fillClassSelect(select: HTMLSelectElement, names: string[], selected: number | undefined): void {
  select.replaceChildren(
    ...names.map((n, i) => el('option', { value: String(i) }, n === String(i) ? n : `${i}: ${n}`)),
  );
  if (selected !== undefined) select.value = String(selected);
}

const blockTitle = (l: FeatureLayer): string => {
  const n = Number(/\d+$/.exec(l.block)?.[0] ?? 0);
  switch (l.group) {
    case 'stem':
      return `Stem (${l.block})`;
    case 'block':
      return `Dense block ${n - 1} (${l.block})`;
    case 'transition':
      return `Transition ${n - 1} (${l.block})`;
    case 'head':
      return 'Head';
    default:
      return 'Other';
  }
};

/** The model's layers, grouped by stem, dense block, transition and head. */
export function fillLayerSelect(select: HTMLSelectElement, layers: FeatureLayer[], selected: string): void {
  const groups = new Map<string, HTMLOptGroupElement>();
  const children: HTMLOptGroupElement[] = [];
  for (const l of layers) {
    const title = blockTitle(l);
    let g = groups.get(title);
    if (!g) {
      g = el('optgroup', { label: title });
      groups.set(title, g);
      children.push(g);
    }
    g.append(el('option', { value: l.name }, `${l.name} · ${l.outputShape.join('×')}`));
  }
  select.replaceChildren(...children);
  select.value = selected;
}
