/**
 * The attribution views of the feature maps page: Grad-CAM (a layer's class evidence upsampled over the input)
 * and saliency (|d score / d input|, vanilla gradients or SmoothGrad).
 */
import { formatProbability } from '../../src/core/format';
import type { DisplayImage, FeatureLayer } from '../../src/protocol/features';
import { el } from '../common/dom';
import { button, clearSearch, exportCanvas, failure, fillClassSelect, fillLayerSelect, host, searchBox } from './page';
import { canvas, drawChannel, drawOverlay } from './render';

const camClass = el('select', { id: 'gradcam-class', 'aria-label': 'Class' });
const camLayer = el('select', { id: 'gradcam-layer', 'aria-label': 'Grad-CAM layer' });
const camClassSearch = searchBox(camClass, 'gradcam-class-search', 'classes', {
  selectWhileTyping: true,
  onPick: () => void runGradCam(),
});
const camLayerSearch = searchBox(camLayer, 'gradcam-layer-search', 'layers', { selectWhileTyping: true });
const camCanvas = canvas(1, 1, 'big');
camCanvas.id = 'gradcam-canvas';
const camInfo = el('span', { class: 'muted status', id: 'gradcam-info' });

export const gradCamSection = el(
  'section',
  { id: 'gradcam' },
  el('h2', {}, 'Grad-CAM'),
  el(
    'div',
    { class: 'toolbar' },
    el('label', {}, 'Class ', camClass),
    camClassSearch,
    el('label', {}, 'Layer ', camLayer),
    camLayerSearch,
    button('Compute', () => void runGradCam()),
    button('Export PNG', () => exportCanvas(camCanvas, 'gradcam'), true),
  ),
  el('div', { class: 'view' }, camCanvas),
  camInfo,
);

const salClass = el('select', { id: 'saliency-class', 'aria-label': 'Class' });
const salClassSearch = searchBox(salClass, 'saliency-class-search', 'classes', {
  selectWhileTyping: true,
  onPick: () => void runSaliency(),
});
const salSamples = el('input', { type: 'number', min: '1', max: '64', value: '1', id: 'saliency-samples' });
const salCanvas = canvas(1, 1, 'big');
salCanvas.id = 'saliency-canvas';
const salInfo = el('span', { class: 'muted status', id: 'saliency-info' });

export const saliencySection = el(
  'section',
  { id: 'saliency' },
  el('h2', {}, 'Saliency'),
  el(
    'div',
    { class: 'toolbar' },
    el('label', {}, 'Class ', salClass),
    salClassSearch,
    el('label', { title: '1 = vanilla gradients; more = SmoothGrad' }, 'Samples ', salSamples),
    button('Compute', () => void runSaliency()),
    button('Export PNG', () => exportCanvas(salCanvas, 'saliency'), true),
  ),
  el('div', { class: 'view' }, salCanvas),
  salInfo,
);

/** The input Grad-CAM draws over: the panel's now (none while a checkpoint or image loads). */
let input: DisplayImage | undefined;

export function setAttributionInput(next: DisplayImage | undefined): void {
  input = next;
}

/**
 * A new model: Grad-CAM of its last ReLU (else its last layer) and both views of the predicted class, nothing
 * drawn yet.
 */
export function resetAttribution(layers: FeatureLayer[], classNames: string[], predicted: number | undefined): void {
  const names = new Set(layers.map((l) => l.name));
  for (const s of [camClassSearch, camLayerSearch, salClassSearch]) clearSearch(s);
  fillLayerSelect(camLayer, layers, names.has('relu') ? 'relu' : (layers[layers.length - 1]?.name ?? ''));
  fillClassSelect(camClass, classNames, predicted);
  fillClassSelect(salClass, classNames, predicted);
  camCanvas.width = salCanvas.width = 1;
  camInfo.textContent = salInfo.textContent = '';
}

export async function runGradCam(): Promise<void> {
  const image = input;
  if (!image) return;
  camInfo.textContent = 'Computing Grad-CAM…';
  const started = performance.now();
  try {
    const r = await host.request('gradcam', {
      layerName: camLayer.value || undefined,
      classIndex: Number(camClass.value),
    });
    camCanvas.width = r.inputWidth;
    camCanvas.height = r.inputHeight;
    drawOverlay(camCanvas, image.display, image.channels, r.upsampled, r.inputHeight, r.inputWidth);
    const ms = Math.round(performance.now() - started);
    camCanvas.dataset.classIndex = String(r.classIndex);
    camCanvas.dataset.ms = String(ms);
    camInfo.textContent = `${r.className} (p=${formatProbability(r.probability)}), gradient of the ${r.score} at ${camLayer.value} (${r.height}×${r.width}) · ${ms} ms`;
  } catch (e) {
    camInfo.textContent = `Grad-CAM failed: ${failure(e)}`;
  }
}

async function runSaliency(): Promise<void> {
  salInfo.textContent = 'Computing saliency…';
  const started = performance.now();
  try {
    const samples = Math.max(1, Math.min(64, Number(salSamples.value) || 1));
    const r = await host.request('saliency', { classIndex: Number(salClass.value), samples });
    salCanvas.width = r.width;
    salCanvas.height = r.height;
    drawChannel(salCanvas, r.saliency, r.height, r.width, 1, 0, 0, 1, 'viridis');
    const ms = Math.round(performance.now() - started);
    salCanvas.dataset.classIndex = String(r.classIndex);
    salCanvas.dataset.ms = String(ms);
    salInfo.textContent = `${r.className} (p=${formatProbability(r.probability)}): |d ${r.score} / d input|${samples > 1 ? `, SmoothGrad of ${samples}` : ''} · ${ms} ms`;
  } catch (e) {
    salInfo.textContent = `Saliency failed: ${failure(e)}`;
  }
}
