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
  /** The overlays' opacity over the input, 0–100 %. */
  overlayOpacity: number;
  overlayColormap: Colormap;
}

const api = vscodeApi<UiState>();
export const ui: UiState = {
  colormap: 'viridis',
  normalise: 'channel',
  sort: false,
  overlayOpacity: 50,
  overlayColormap: 'jet',
  ...api.getState(),
};
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

/**
 * A search box for a long `select` (1000 classes, 400+ layers): typing hides the options (and groups left empty)
 * whose text lacks one of the words typed; with `selectWhileTyping` the first match becomes the selection as
 * soon as the selected option is hidden. Enter selects the first match and calls `onPick` (if the selection
 * changed). The number of matches is in the box's `data-matches`.
 */
export function searchBox(
  select: HTMLSelectElement,
  id: string,
  what: string,
  options: { selectWhileTyping?: boolean; onPick?: () => void } = {},
): HTMLInputElement {
  const input = el('input', { type: 'search', id, placeholder: `Search ${what}…`, 'aria-label': `Search ${what}` });
  const apply = (pick: boolean): void => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let first: HTMLOptionElement | undefined;
    let matches = 0;
    for (const o of Array.from(select.options)) {
      const text = `${o.value} ${o.textContent ?? ''}`.toLowerCase();
      o.hidden = !words.every((w) => text.includes(w));
      if (!o.hidden) {
        matches++;
        first ??= o;
      }
    }
    for (const g of Array.from(select.querySelectorAll('optgroup')))
      g.hidden = !Array.from(g.querySelectorAll('option')).some((o) => !o.hidden);
    input.dataset.matches = String(matches);
    input.title = `${matches} of ${select.options.length} match`;
    const current = select.selectedOptions[0];
    if (!first || first === current) return;
    if (pick || (options.selectWhileTyping && (!current || current.hidden))) {
      select.value = first.value;
      if (pick) options.onPick?.();
    }
  };
  input.addEventListener('input', () => apply(false));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') apply(true);
  });
  return input;
}

/** Empties a search box and shows every option of its select again. */
export function clearSearch(input: HTMLInputElement): void {
  input.value = '';
  input.dispatchEvent(new Event('input'));
}

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
