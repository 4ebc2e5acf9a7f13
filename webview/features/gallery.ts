/**
 * The gallery of the feature maps page: the channels of a layer, the first GALLERY_PAGE and more on demand (a
 * DenseNet-121 layer has up to 1024), per-channel or per-layer normalisation, viridis/gray, sorted by mean or
 * not; the layer picker grouped by block and searchable; the zoom of one channel with its value scale and values
 * under the pointer. Times the first gallery after a checkpoint was picked, and each layer from its pick to its
 * gallery drawn (for the log and tests).
 */
import type { EncodedActivation, FeatureLayer, LayerActivation } from '../../src/protocol/features';
import { el } from '../common/dom';
import {
  button,
  clearSearch,
  exportCanvas,
  exportPng,
  failure,
  fillLayerSelect,
  host,
  saveUi,
  searchBox,
  setMessage,
  ui,
} from './page';
import { canvas, type Colormap, drawChannel, drawColorbar, gridPngOf } from './render';

/** Channels drawn at first, and added by each "Show more". */
export const GALLERY_PAGE = 128;

const layerSelect = el('select', { id: 'layer', 'aria-label': 'Layer' });
const layerSearch = searchBox(layerSelect, 'layer-search', 'layers', {
  onPick: () => void loadLayer(layerSelect.value),
});
const colormapSelect = el(
  'select',
  { id: 'colormap', 'aria-label': 'Colormap' },
  el('option', { value: 'viridis' }, 'viridis'),
  el('option', { value: 'gray' }, 'gray'),
);
const normaliseSelect = el(
  'select',
  { id: 'normalise', 'aria-label': 'Normalisation' },
  el('option', { value: 'channel' }, 'per channel'),
  el('option', { value: 'layer' }, 'whole layer'),
);
const sortBox = el('input', { type: 'checkbox', id: 'sort' });
const galleryInfo = el('span', { class: 'muted', id: 'gallery-info' });
const gallery = el('div', { id: 'gallery' });
const moreButton = button('Show more', () => {
  shown += GALLERY_PAGE;
  renderGallery();
});
moreButton.id = 'gallery-more';
moreButton.hidden = true;
const allButton = button(
  'Show all',
  () => {
    shown = Infinity;
    renderGallery();
  },
  true,
);
allButton.id = 'gallery-all';
allButton.hidden = true;

export const gallerySection = el(
  'section',
  { id: 'feature-maps' },
  el('h2', {}, 'Feature maps'),
  el(
    'div',
    { class: 'toolbar' },
    el('label', {}, 'Layer ', layerSelect),
    layerSearch,
    el('label', {}, 'Colormap ', colormapSelect),
    el('label', {}, 'Normalise ', normaliseSelect),
    el('label', {}, sortBox, ' sort by mean activation'),
    button('Export PNG', () => exportGallery(), true),
  ),
  galleryInfo,
  gallery,
  el('div', { class: 'toolbar' }, moreButton, allButton),
);

const zoomCanvas = canvas(1, 1, 'zoomed');
const zoomBar = canvas(256, 1);
const zoomTitle = el('div', { style: 'font-weight:600' });
const zoomMin = el('span');
const zoomMax = el('span');
const zoomValue = el('div', { class: 'muted' }, 'Hover for values');

export const zoom = el(
  'div',
  { id: 'zoom', role: 'dialog', 'aria-modal': 'true' },
  el(
    'div',
    { class: 'card' },
    zoomTitle,
    zoomCanvas,
    el('div', { class: 'scale' }, zoomMin, zoomBar, zoomMax),
    zoomValue,
    el(
      'div',
      { class: 'toolbar' },
      button('Maximise this channel', () => {
        closeZoom();
        if (activation) onMaximise(activation.name, zoomChannel);
      }),
      overlayButton(),
      button('Export PNG', () => exportCanvas(zoomCanvas, zoomTitle.textContent ?? 'channel'), true),
      button('Close', () => closeZoom(), true),
    ),
  ),
);

let activation: LayerActivation | undefined;
let galleryToken = 0;
let zoomChannel = 0;
/** How many channels the gallery draws (GALLERY_PAGE more per "Show more"). */
let shown = GALLERY_PAGE;
/** When the checkpoint was picked (host time), until the first gallery after it is shown. */
let commandT0: number | undefined;
let galleryTimed = false;
/** Told the number of channels of each layer shown (the maximisation's channel input). */
let onChannels: (channels: number) => void = () => undefined;

/** Times the next gallery from `commandStartedAt` (when the checkpoint was picked), once per pick. */
export function timeFrom(commandStartedAt: number | undefined): void {
  if (commandStartedAt === commandT0) return;
  commandT0 = commandStartedAt;
  galleryTimed = false;
}

export function onLayerChannels(listener: (channels: number) => void): void {
  onChannels = listener;
}

/** Told when the zoom's "Overlay on input" is clicked: the layer's activations, their [H, W, C], the channel. */
let onOverlay: (
  a: LayerActivation,
  shape: [number, number, number],
  channel: number,
  range: [number, number],
) => void = () => undefined;

export function onOverlayChannel(listener: typeof onOverlay): void {
  onOverlay = listener;
}

function overlayButton(): HTMLButtonElement {
  const b = button('Overlay on input', () => {
    closeZoom();
    const a = activation;
    if (a) onOverlay(a, mapShape(a), zoomChannel, channelRange(a, zoomChannel));
  });
  b.id = 'zoom-overlay';
  return b;
}

/** Told of each layer whose gallery is shown (the comparison shows the same layer). */
let onShown: (layer: string) => void = () => undefined;

export function onLayerShown(listener: (layer: string) => void): void {
  onShown = listener;
}

/** Told when the zoom's "Maximise this channel" is clicked. */
let onMaximise: (layer: string, channel: number) => void = () => undefined;

export function onMaximiseChannel(listener: (layer: string, channel: number) => void): void {
  onMaximise = listener;
}

/** A new model: its layers in the picker, the display choices as kept. */
export function showLayers(layers: FeatureLayer[], layer: string): void {
  clearSearch(layerSearch);
  fillLayerSelect(layerSelect, layers, layer);
  colormapSelect.value = ui.colormap;
  normaliseSelect.value = ui.normalise;
  sortBox.checked = ui.sort;
}

/** Asks for the activations of `layer` and shows them (a later call wins). */
export async function loadLayer(layer: string): Promise<void> {
  const token = ++galleryToken;
  const picked = performance.now();
  ui.layer = layer;
  saveUi();
  galleryInfo.textContent = `Computing ${layer}…`;
  try {
    const result = await host.request('activations', { layer });
    if (token !== galleryToken) return;
    const received = performance.now();
    activation = decodeActivation(result);
    shown = GALLERY_PAGE;
    renderGallery();
    const drawn = performance.now();
    gallery.dataset.computeMs = String(Math.round(received - picked));
    gallery.dataset.drawMs = String(Math.round(drawn - received));
    galleryInfo.textContent += ` · ${Math.round(drawn - picked)} ms (${Math.round(received - picked)} to compute, ${Math.round(drawn - received)} to draw)`;
    onShown(layer);
  } catch (e) {
    if (token !== galleryToken) return;
    galleryInfo.textContent = '';
    setMessage(`Feature maps of ${layer}: ${failure(e)}`, true);
  }
}

/** The values of an encoded activation (each to within 1/510 of its channel's range). */
export function decodeActivation(e: EncodedActivation): LayerActivation {
  const { channelMin, channelMax } = e.stats;
  const channels = channelMin.length;
  const step = Float32Array.from(channelMin, (lo, k) => (channelMax[k] - lo) / 255);
  const data = new Float32Array(e.codes.length);
  for (let i = 0, k = 0; i < data.length; i++, k = k + 1 === channels ? 0 : k + 1)
    data[i] = channelMin[k] + e.codes[i] * step[k];
  return { name: e.name, shape: e.shape, data, stats: e.stats };
}

export function mapShape(a: LayerActivation): [number, number, number] {
  return a.shape.length === 3 ? [a.shape[0], a.shape[1], a.shape[2]] : [1, 1, a.shape[a.shape.length - 1] ?? 1];
}

function channelRange(a: LayerActivation, k: number): [number, number] {
  return ui.normalise === 'layer' ? [a.stats.min, a.stats.max] : [a.stats.channelMin[k], a.stats.channelMax[k]];
}

function tile(a: LayerActivation, k: number): HTMLElement {
  const [h, w, c] = mapShape(a);
  const cv = canvas(w, h);
  cv.dataset.channel = String(k);
  const [lo, hi] = channelRange(a, k);
  drawChannel(cv, a.data, h, w, c, k, lo, hi, ui.colormap);
  const fig = el(
    'figure',
    {
      class: 'tile',
      tabindex: '0',
      title: `channel ${k}: mean ${a.stats.channelMean[k].toPrecision(3)}, range [${a.stats.channelMin[k].toPrecision(3)}, ${a.stats.channelMax[k].toPrecision(3)}]`,
    },
    cv,
    el('figcaption', {}, `#${k}`),
  );
  fig.addEventListener('click', () => openZoom(k));
  fig.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') openZoom(k);
  });
  return fig;
}

function renderGallery(): void {
  const a = activation;
  if (!a) return;
  const [h, w, c] = mapShape(a);
  const order = Array.from({ length: c }, (_, k) => k);
  if (ui.sort) order.sort((x, y) => a.stats.channelMean[y] - a.stats.channelMean[x]);
  const drawn = order.slice(0, Math.min(c, shown));
  gallery.replaceChildren(...drawn.map((k) => tile(a, k)));
  gallery.dataset.layer = a.name;
  gallery.dataset.channels = String(c);
  gallery.dataset.shown = String(drawn.length);
  moreButton.hidden = allButton.hidden = drawn.length >= c;
  allButton.textContent = `Show all ${c}`;
  moreButton.textContent = `Show ${Math.min(GALLERY_PAGE, c - drawn.length)} more (${drawn.length} of ${c} shown)`;
  galleryInfo.textContent = `${a.name}: ${c} channels of ${h}×${w}${drawn.length < c ? ` (${ui.sort ? 'the most active ' : 'the first '}${drawn.length} drawn)` : ''} · layer range [${a.stats.min.toPrecision(3)}, ${a.stats.max.toPrecision(3)}], mean ${a.stats.mean.toPrecision(3)}`;
  onChannels(c);
  if (!galleryTimed && commandT0 !== undefined) {
    galleryTimed = true;
    const ms = Date.now() - commandT0;
    // The timing is for the tests and the log (the host logs it on 'rendered'), not for the page.
    document.body.dataset.galleryMs = String(ms);
    host.notify('rendered', { what: 'gallery', layer: a.name, channels: c });
  }
}

function exportGallery(): void {
  const tiles = Array.from(gallery.querySelectorAll('canvas'));
  if (tiles.length === 0) return;
  exportPng(`${activation?.name ?? 'layer'}-gallery`, gridPngOf(tiles));
}

function openZoom(k: number): void {
  const a = activation;
  if (!a) return;
  const [h, w, c] = mapShape(a);
  zoomChannel = k;
  zoomCanvas.width = w;
  zoomCanvas.height = h;
  const [lo, hi] = channelRange(a, k);
  drawChannel(zoomCanvas, a.data, h, w, c, k, lo, hi, ui.colormap);
  drawColorbar(zoomBar, ui.colormap);
  zoomMin.textContent = lo.toPrecision(3);
  zoomMax.textContent = hi.toPrecision(3);
  zoomTitle.textContent = `${a.name} channel ${k} (mean ${a.stats.channelMean[k].toPrecision(3)})`;
  zoomValue.textContent = 'Hover for values';
  zoom.classList.add('open');
}

function closeZoom(): void {
  zoom.classList.remove('open');
}

zoomCanvas.addEventListener('mousemove', (e) => {
  const a = activation;
  if (!a) return;
  const [h, w, c] = mapShape(a);
  const r = zoomCanvas.getBoundingClientRect();
  const x = Math.min(w - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * w)));
  const y = Math.min(h - 1, Math.max(0, Math.floor(((e.clientY - r.top) / r.height) * h)));
  zoomValue.textContent = `(${y}, ${x}) ≈ ${a.data[(y * w + x) * c + zoomChannel].toPrecision(3)}`;
});
zoom.addEventListener('click', (e) => {
  if (e.target === zoom) closeZoom();
});
window.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') closeZoom();
});

layerSelect.addEventListener('change', () => void loadLayer(layerSelect.value));
colormapSelect.addEventListener('change', () => {
  ui.colormap = colormapSelect.value as Colormap;
  saveUi();
  renderGallery();
});
normaliseSelect.addEventListener('change', () => {
  ui.normalise = normaliseSelect.value as typeof ui.normalise;
  saveUi();
  renderGallery();
});
sortBox.addEventListener('change', () => {
  ui.sort = sortBox.checked;
  saveUi();
  renderGallery();
});
