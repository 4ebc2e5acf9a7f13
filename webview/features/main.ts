/**
 * Feature maps webview: the input as the model sees it, top-5 classes, a gallery of every channel of a layer
 * (per-channel or per-layer normalisation, viridis/gray, sort by mean, click to zoom with a value scale),
 * Grad-CAM, saliency and activation maximisation (live progress, cancel). Every view exports as PNG.
 */
import { onMessage, post, vscodeApi } from '../common/vscode';
import type {
  FeatureLayer,
  FeaturesRequest,
  FeaturesResultMap,
  FeaturesState,
  FromFeaturesWebview,
  GradCamResult,
  LayerActivation,
  MaximisationResult,
  MaximiseProgress,
  SaliencyResult,
  ToFeaturesWebview,
} from '../../src/protocol/features';
import { canvas, type Colormap, drawChannel, drawColorbar, drawImage, drawOverlay, gridPngOf, pngOf } from './render';

interface UiState {
  imagePath?: string;
  checkpointPath?: string;
  checkpointLabel?: string;
  layer?: string;
  colormap: Colormap;
  normalise: 'channel' | 'layer';
  sort: boolean;
}

const api = vscodeApi<UiState>();
const ui: UiState = { colormap: 'viridis', normalise: 'channel', sort: false, ...api.getState() };
const saveUi = (): void => api.setState(ui);
const send = (m: FromFeaturesWebview): void => post(m);

/* ---------- requests ---------- */

let nextId = 1;
const pending = new Map<
  number,
  { resolve: (r: unknown) => void; reject: (e: Error) => void; progress?: (p: MaximiseProgress) => void }
>();

function request<K extends FeaturesRequest['kind']>(
  req: Extract<FeaturesRequest, { kind: K }>,
  progress?: (p: MaximiseProgress) => void,
): { id: number; result: Promise<FeaturesResultMap[K]> } {
  const id = nextId++;
  const result = new Promise<FeaturesResultMap[K]>((resolve, reject) => {
    pending.set(id, { resolve: (r) => resolve(r as FeaturesResultMap[K]), reject, progress });
  });
  send({ type: 'request', id, request: req });
  return { id, result };
}

/* ---------- DOM ---------- */

const style = document.createElement('style');
style.textContent = `
section { margin: 10px 0 16px; }
section > h2 { font-size: 1.1em; border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, #8884)); padding-bottom: 2px; }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: 1px solid var(--vscode-button-border, transparent); padding: 3px 10px; cursor: pointer; font: inherit; }
button:hover { background: var(--vscode-button-hoverBackground); }
button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
button:disabled { opacity: .5; cursor: default; }
select, input { color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); border: 1px solid var(--vscode-dropdown-border, transparent); font: inherit; padding: 2px 4px; }
input[type=number] { width: 5em; color: var(--vscode-input-foreground); background: var(--vscode-input-background); }
input[type=checkbox] { width: auto; }
.row { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.view canvas.big { width: 224px; height: 224px; border: 1px solid var(--vscode-widget-border, #8884); }
.preds { min-width: 240px; }
.pred { display: grid; grid-template-columns: 8em 1fr 4.5em; gap: 6px; align-items: center; margin: 3px 0; }
.pred .bar { height: 10px; background: var(--vscode-progressBar-background); }
.pred.top { font-weight: 600; }
.pred .pct { text-align: right; font-variant-numeric: tabular-nums; }
#gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(72px, 1fr)); gap: 6px; }
.tile { margin: 0; cursor: zoom-in; text-align: center; }
.tile canvas { width: 100%; aspect-ratio: 1; display: block; border: 1px solid transparent; }
.tile:hover canvas, .tile:focus-visible canvas { border-color: var(--vscode-focusBorder); }
.tile figcaption { font-size: .85em; color: var(--vscode-descriptionForeground); font-variant-numeric: tabular-nums; }
#zoom { position: fixed; inset: 0; background: rgba(0,0,0,.55); display: none; align-items: center; justify-content: center; z-index: 10; }
#zoom.open { display: flex; }
#zoom .card { width: min(60vh, 70vw); background: var(--vscode-editorWidget-background, var(--vscode-editor-background)); color: var(--vscode-foreground); border: 1px solid var(--vscode-widget-border, #8884); padding: 12px; max-width: 90vw; }
#zoom canvas.zoomed { width: min(60vh, 70vw); height: min(60vh, 70vw); display: block; }
.scale { display: grid; grid-template-columns: auto 1fr auto; gap: 6px; align-items: center; margin-top: 6px; font-variant-numeric: tabular-nums; }
.scale canvas { width: 100%; height: 12px; }
.status { min-height: 1.3em; }
.analyses > section { flex: 1 1 300px; min-width: 260px; margin-top: 0; }
.analyses .toolbar { gap: 6px; }
`;
document.head.appendChild(style);

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function button(label: string, onClick: () => void, secondary = false): HTMLButtonElement {
  const b = el('button', secondary ? { class: 'secondary' } : {}, label);
  b.addEventListener('click', onClick);
  return b;
}

const app = document.getElementById('app') ?? document.body;
const header = el('div', { class: 'toolbar' });
const headerText = el('span');
header.append(
  headerText,
  button('Change checkpoint…', () => send({ type: 'pickCheckpoint' }), true),
  button('Change image…', () => send({ type: 'pickImage' }), true),
);
const message = el('div', { class: 'status', id: 'message' });

// Input + predictions
const inputCanvas = canvas(1, 1, 'big');
inputCanvas.id = 'input-image';
const predsBox = el('div', { class: 'preds', id: 'predictions' });
const inputSection = el(
  'section',
  { id: 'overview' },
  el('h2', {}, 'Input and prediction'),
  el(
    'div',
    { class: 'row' },
    el(
      'div',
      { class: 'view' },
      inputCanvas,
      el(
        'div',
        { class: 'toolbar' },
        el('span', { class: 'muted', id: 'input-caption' }),
        button('Export PNG', () => exportCanvas(inputCanvas, 'input'), true),
      ),
    ),
    predsBox,
  ),
);

// Gallery
const layerSelect = el('select', { id: 'layer', 'aria-label': 'Layer' });
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
const gallerySection = el(
  'section',
  { id: 'feature-maps' },
  el('h2', {}, 'Feature maps'),
  el(
    'div',
    { class: 'toolbar' },
    el('label', {}, 'Layer ', layerSelect),
    el('label', {}, 'Colormap ', colormapSelect),
    el('label', {}, 'Normalise ', normaliseSelect),
    el('label', {}, sortBox, ' sort by mean activation'),
    button('Export PNG', () => exportGallery(), true),
  ),
  galleryInfo,
  gallery,
);

// Zoom overlay
const zoomCanvas = canvas(1, 1, 'zoomed');
const zoomBar = canvas(256, 1);
const zoomTitle = el('div', { style: 'font-weight:600' });
const zoomMin = el('span');
const zoomMax = el('span');
const zoomValue = el('div', { class: 'muted' }, 'Hover for values');
const zoom = el(
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
      button('Export PNG', () => exportCanvas(zoomCanvas, zoomTitle.textContent ?? 'channel'), true),
      button('Close', () => closeZoom(), true),
    ),
  ),
);

// Grad-CAM
const camClass = el('select', { id: 'gradcam-class', 'aria-label': 'Class' });
const camLayer = el('select', { id: 'gradcam-layer', 'aria-label': 'Grad-CAM layer' });
const camCanvas = canvas(1, 1, 'big');
camCanvas.id = 'gradcam-canvas';
const camInfo = el('span', { class: 'muted status', id: 'gradcam-info' });
const camSection = el(
  'section',
  { id: 'gradcam' },
  el('h2', {}, 'Grad-CAM'),
  el(
    'div',
    { class: 'toolbar' },
    el('label', {}, 'Class ', camClass),
    el('label', {}, 'Layer ', camLayer),
    button('Compute', () => void runGradCam()),
    button('Export PNG', () => exportCanvas(camCanvas, 'gradcam'), true),
  ),
  el('div', { class: 'view' }, camCanvas),
  camInfo,
);

// Saliency
const salClass = el('select', { id: 'saliency-class', 'aria-label': 'Class' });
const salSamples = el('input', { type: 'number', min: '1', max: '64', value: '1', id: 'saliency-samples' });
const salCanvas = canvas(1, 1, 'big');
salCanvas.id = 'saliency-canvas';
const salInfo = el('span', { class: 'muted status' });
const salSection = el(
  'section',
  { id: 'saliency' },
  el('h2', {}, 'Saliency'),
  el(
    'div',
    { class: 'toolbar' },
    el('label', {}, 'Class ', salClass),
    el('label', { title: '1 = vanilla gradients; more = SmoothGrad' }, 'Samples ', salSamples),
    button('Compute', () => void runSaliency()),
    button('Export PNG', () => exportCanvas(salCanvas, 'saliency'), true),
  ),
  el('div', { class: 'view' }, salCanvas),
  salInfo,
);

// Activation maximisation
const maxKind = el(
  'select',
  { id: 'max-kind', 'aria-label': 'Target' },
  el('option', { value: 'channel' }, 'a channel of the layer'),
  el('option', { value: 'class' }, 'class'),
);
const maxChannel = el('input', { type: 'number', min: '0', value: '0', id: 'max-channel', 'aria-label': 'Channel' });
const maxClass = el('select', { id: 'max-class', 'aria-label': 'Class' });
const maxSteps = el('input', {
  type: 'number',
  min: '1',
  max: '2000',
  value: '128',
  id: 'max-steps',
  'aria-label': 'Steps',
});
const maxCanvas = canvas(1, 1, 'big');
maxCanvas.id = 'max-canvas';
const maxInfo = el('span', { class: 'muted status', id: 'max-info' });
const maxStart = button('Start', () => void runMaximise());
const maxCancel = button('Cancel', () => cancelMaximise(), true);
maxCancel.disabled = true;
const maxSection = el(
  'section',
  { id: 'maximise' },
  el('h2', {}, 'Activation maximisation'),
  el(
    'div',
    { class: 'toolbar' },
    el('label', {}, 'Maximise ', maxKind),
    el('label', {}, 'channel ', maxChannel),
    el('label', {}, 'class ', maxClass),
    el('label', {}, 'steps ', maxSteps),
    maxStart,
    maxCancel,
    button('Export PNG', () => exportCanvas(maxCanvas, 'maximisation'), true),
  ),
  el('div', { class: 'view' }, maxCanvas),
  maxInfo,
);

app.append(
  header,
  message,
  inputSection,
  gallerySection,
  el('div', { class: 'row analyses' }, camSection, salSection, maxSection),
  zoom,
);

/* ---------- state ---------- */

let state: FeaturesState = { loading: true };
let loadedKey = '';
let activation: LayerActivation | undefined;
let galleryToken = 0;
let commandT0: number | undefined;
let galleryTimed = false;

function setMessage(text: string, error = false): void {
  message.textContent = text;
  message.className = error ? 'status error' : 'status muted';
}

function fillClassSelect(select: HTMLSelectElement, names: string[], selected: number | undefined): void {
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

function fillLayerSelect(select: HTMLSelectElement, layers: FeatureLayer[], selected: string): void {
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

function applyState(next: FeaturesState): void {
  state = next;
  if (next.commandStartedAt !== commandT0) {
    commandT0 = next.commandStartedAt;
    galleryTimed = false;
  }
  ui.imagePath = next.image?.path;
  ui.checkpointPath = next.checkpoint?.path;
  ui.checkpointLabel = next.checkpoint?.label;
  saveUi();
  headerText.textContent = next.image
    ? `${next.image.name} — ${next.checkpoint?.label ?? 'no checkpoint'}`
    : 'No image';
  if (next.error) setMessage(next.error, true);
  else if (next.loading) setMessage('Loading the checkpoint and predicting…');
  else setMessage('');
  const { model, input, predictions } = next;
  if (!model || !input || !predictions || next.loading) return;

  const key = `${next.image?.path}|${next.checkpoint?.path}|${model.modelPath}`;
  if (key === loadedKey) return;
  loadedKey = key;

  // Input
  inputCanvas.width = input.width;
  inputCanvas.height = input.height;
  drawImage(inputCanvas, input.display, input.height, input.width, input.channels);
  document.getElementById('input-caption')!.textContent =
    `${input.height}×${input.width}×${input.channels}, as the model sees it`;

  // Predictions
  predsBox.replaceChildren(
    el('div', { class: 'muted' }, 'Top classes'),
    ...predictions.map((p, i) => {
      const bar = el('div', { class: 'bar', style: `width:${(p.probability * 100).toFixed(1)}%` });
      return el(
        'div',
        { class: i === 0 ? 'pred top' : 'pred', 'data-class': String(p.index) },
        el('span', {}, p.className),
        el('div', {}, bar),
        el('span', { class: 'pct' }, `${(p.probability * 100).toFixed(1)}%`),
      );
    }),
  );

  // Layers
  const names = new Set(model.layers.map((l) => l.name));
  const layer =
    ui.layer && names.has(ui.layer) ? ui.layer : names.has('conv1_relu') ? 'conv1_relu' : model.layers[0]?.name;
  fillLayerSelect(layerSelect, model.layers, layer ?? '');
  fillLayerSelect(
    camLayer,
    model.layers,
    names.has('relu') ? 'relu' : (model.layers[model.layers.length - 1]?.name ?? ''),
  );
  const predicted = predictions[0]?.index;
  fillClassSelect(camClass, model.classNames, predicted);
  fillClassSelect(salClass, model.classNames, predicted);
  fillClassSelect(maxClass, model.classNames, predicted);
  colormapSelect.value = ui.colormap;
  normaliseSelect.value = ui.normalise;
  sortBox.checked = ui.sort;

  camCanvas.width = salCanvas.width = maxCanvas.width = 1;
  camInfo.textContent = salInfo.textContent = maxInfo.textContent = '';
  if (layer) void loadLayer(layer).then(() => runGradCam());
}

/* ---------- gallery ---------- */

async function loadLayer(layer: string): Promise<void> {
  const token = ++galleryToken;
  ui.layer = layer;
  saveUi();
  galleryInfo.textContent = `Computing ${layer}…`;
  try {
    const result = await request({ kind: 'activations', layer }).result;
    if (token !== galleryToken) return;
    activation = result;
    renderGallery();
  } catch (e) {
    if (token !== galleryToken) return;
    galleryInfo.textContent = '';
    setMessage(`Feature maps of ${layer}: ${(e as Error).message}`, true);
  }
}

function mapShape(a: LayerActivation): [number, number, number] {
  return a.shape.length === 3 ? [a.shape[0], a.shape[1], a.shape[2]] : [1, 1, a.shape[a.shape.length - 1] ?? 1];
}

function channelRange(a: LayerActivation, k: number): [number, number] {
  return ui.normalise === 'layer' ? [a.stats.min, a.stats.max] : [a.stats.channelMin[k], a.stats.channelMax[k]];
}

function renderGallery(): void {
  const a = activation;
  if (!a) return;
  const [h, w, c] = mapShape(a);
  const order = Array.from({ length: c }, (_, k) => k);
  if (ui.sort) order.sort((x, y) => a.stats.channelMean[y] - a.stats.channelMean[x]);
  const tiles = order.map((k) => {
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
  });
  gallery.replaceChildren(...tiles);
  gallery.dataset.layer = a.name;
  gallery.dataset.channels = String(c);
  galleryInfo.textContent = `${a.name}: ${c} channels of ${h}×${w} · layer range [${a.stats.min.toPrecision(3)}, ${a.stats.max.toPrecision(3)}], mean ${a.stats.mean.toPrecision(3)}`;
  maxChannel.max = String(c - 1);
  if (!galleryTimed && commandT0 !== undefined) {
    galleryTimed = true;
    const ms = Date.now() - commandT0;
    document.body.dataset.galleryMs = String(ms);
    galleryInfo.textContent += ` · shown ${ms} ms after the checkpoint was picked`;
    send({ type: 'rendered', what: 'gallery', layer: a.name, channels: c });
  }
}

/* ---------- zoom ---------- */

let zoomChannel = 0;
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
  zoomValue.textContent = `(${y}, ${x}) = ${a.data[(y * w + x) * c + zoomChannel].toPrecision(4)}`;
});
zoom.addEventListener('click', (e) => {
  if (e.target === zoom) closeZoom();
});
window.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') closeZoom();
});

/* ---------- Grad-CAM, saliency, maximisation ---------- */

async function runGradCam(): Promise<void> {
  const input = state.input;
  if (!input) return;
  camInfo.textContent = 'Computing Grad-CAM…';
  try {
    const r: GradCamResult = await request({
      kind: 'gradcam',
      layerName: camLayer.value || undefined,
      classIndex: Number(camClass.value),
    }).result;
    camCanvas.width = r.inputWidth;
    camCanvas.height = r.inputHeight;
    drawOverlay(camCanvas, input.display, input.channels, r.upsampled, r.inputHeight, r.inputWidth);
    camCanvas.dataset.classIndex = String(r.classIndex);
    camInfo.textContent = `${r.className} (p=${(r.probability * 100).toFixed(1)}%), gradient of the ${r.score} at ${camLayer.value} (${r.height}×${r.width})`;
  } catch (e) {
    camInfo.textContent = `Grad-CAM failed: ${(e as Error).message}`;
  }
}

async function runSaliency(): Promise<void> {
  salInfo.textContent = 'Computing saliency…';
  try {
    const samples = Math.max(1, Math.min(64, Number(salSamples.value) || 1));
    const r: SaliencyResult = await request({ kind: 'saliency', classIndex: Number(salClass.value), samples }).result;
    salCanvas.width = r.width;
    salCanvas.height = r.height;
    drawChannel(salCanvas, r.saliency, r.height, r.width, 1, 0, 0, 1, 'viridis');
    salInfo.textContent = `${r.className} (p=${(r.probability * 100).toFixed(1)}%): |d ${r.score} / d input|${samples > 1 ? `, SmoothGrad of ${samples}` : ''}`;
  } catch (e) {
    salInfo.textContent = `Saliency failed: ${(e as Error).message}`;
  }
}

let maxJob: number | undefined;
function drawMaxImage(image: Float32Array): void {
  const input = state.input;
  if (!input) return;
  maxCanvas.width = input.width;
  maxCanvas.height = input.height;
  drawImage(maxCanvas, image, input.height, input.width, input.channels);
}

async function runMaximise(): Promise<void> {
  if (maxJob !== undefined) return;
  const steps = Math.max(1, Math.min(2000, Number(maxSteps.value) || 128));
  const target =
    maxKind.value === 'class'
      ? { classIndex: Number(maxClass.value) }
      : { layerName: ui.layer ?? '', channel: Math.max(0, Number(maxChannel.value) || 0) };
  const what =
    'classIndex' in target
      ? `class ${maxClass.selectedOptions[0]?.textContent ?? target.classIndex}`
      : `${target.layerName} channel ${target.channel}`;
  const job = request({ kind: 'maximise', target, steps }, (p) => {
    if (p.image) drawMaxImage(p.image);
    maxInfo.textContent = `${what}: step ${p.step}/${steps}, objective ${p.value.toPrecision(4)}`;
  });
  maxJob = job.id;
  maxStart.disabled = true;
  maxCancel.disabled = false;
  maxInfo.textContent = `${what}: starting…`;
  try {
    const r: MaximisationResult = await job.result;
    drawMaxImage(r.image);
    const last = r.values[r.values.length - 1];
    maxInfo.textContent = `${what}: ${r.cancelled ? 'cancelled after' : 'done,'} ${r.values.length} steps, ${r.objective} ${last === undefined ? '' : last.toPrecision(4)}`;
  } catch (e) {
    maxInfo.textContent = `Maximisation failed: ${(e as Error).message}`;
  } finally {
    maxJob = undefined;
    maxStart.disabled = false;
    maxCancel.disabled = true;
  }
}

function cancelMaximise(): void {
  if (maxJob !== undefined) send({ type: 'cancel', id: maxJob });
  maxInfo.textContent += ' · cancelling…';
}

/* ---------- export ---------- */

function exportCanvas(c: HTMLCanvasElement, name: string): void {
  if (c.width <= 1) return;
  send({ type: 'export', name, dataUrl: pngOf(c) });
}

function exportGallery(): void {
  const tiles = Array.from(gallery.querySelectorAll('canvas'));
  if (tiles.length === 0) return;
  send({ type: 'export', name: `${activation?.name ?? 'layer'}-gallery`, dataUrl: gridPngOf(tiles) });
}

/* ---------- events ---------- */

layerSelect.addEventListener('change', () => void loadLayer(layerSelect.value));
colormapSelect.addEventListener('change', () => {
  ui.colormap = colormapSelect.value as Colormap;
  saveUi();
  renderGallery();
});
normaliseSelect.addEventListener('change', () => {
  ui.normalise = normaliseSelect.value as UiState['normalise'];
  saveUi();
  renderGallery();
});
sortBox.addEventListener('change', () => {
  ui.sort = sortBox.checked;
  saveUi();
  renderGallery();
});

onMessage<ToFeaturesWebview>((m) => {
  switch (m.type) {
    case 'state':
      applyState(m.state);
      return;
    case 'progress':
      pending.get(m.inReplyTo)?.progress?.(m.progress);
      return;
    case 'response': {
      const p = pending.get(m.inReplyTo);
      pending.delete(m.inReplyTo);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(new Error(m.error));
      return;
    }
  }
});

send({ type: 'ready' });
