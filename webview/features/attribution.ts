/**
 * The attribution views of the feature maps page: Grad-CAM (a layer's class evidence upsampled over the input)
 * and saliency (|d score / d input|, vanilla gradients or SmoothGrad).
 */
import { formatProbability } from '../../src/core/format';
import { chooseGradCamLayer } from '../../src/core/gradCamLayer';
import type { DisplayImage, FeatureLayer, GradCamResult } from '../../src/protocol/features';
import { el } from '../common/dom';
import { OverlayView } from './overlay';
import { button, clearSearch, failure, fillClassSelect, fillLayerSelect, host, searchBox } from './page';

const camClass = el('select', { id: 'gradcam-class', 'aria-label': 'Class' });
const camLayer = el('select', { id: 'gradcam-layer', 'aria-label': 'Grad-CAM layer' });
const camClassSearch = searchBox(camClass, 'gradcam-class-search', 'classes', {
  selectWhileTyping: true,
  onPick: () => void runGradCam(),
});
const camLayerSearch = searchBox(camLayer, 'gradcam-layer-search', 'layers', { selectWhileTyping: true });
const camView = new OverlayView('gradcam-canvas', 'gradcam');
const camCanvas = camView.canvas;
const camInfo = el('span', { class: 'muted status', id: 'gradcam-info' });
/** Which layer Grad-CAM uses by default, and why (src/core/gradCamLayer.ts). */
const camDefault = el('div', { class: 'muted', id: 'gradcam-default' });

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
    button('Export PNG', () => camView.export('gradcam'), true),
  ),
  camDefault,
  camView.element,
  camInfo,
);

const salClass = el('select', { id: 'saliency-class', 'aria-label': 'Class' });
const salClassSearch = searchBox(salClass, 'saliency-class-search', 'classes', {
  selectWhileTyping: true,
  onPick: () => void runSaliency(),
});
const salSamples = el('input', { type: 'number', min: '1', max: '64', value: '1', id: 'saliency-samples' });
const salView = new OverlayView('saliency-canvas', 'saliency');
const salCanvas = salView.canvas;
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
    button('Export PNG', () => salView.export('saliency'), true),
  ),
  salView.element,
  salInfo,
);

/** The input Grad-CAM draws over: the panel's now (none while a checkpoint or image loads). */
let input: DisplayImage | undefined;

export function setAttributionInput(next: DisplayImage | undefined): void {
  input = next;
}

/** Told of each Grad-CAM drawn: its layer and class (the comparison shows the same). */
let onGradCam: (layerName: string, classIndex: number) => void = () => undefined;

export function onGradCamShown(listener: (layerName: string, classIndex: number) => void): void {
  onGradCam = listener;
}

/** The Grad-CAM layer and class chosen now. */
export function gradCamChoice(): { layerName: string; classIndex: number } {
  return { layerName: camLayer.value, classIndex: Number(camClass.value) };
}

/**
 * A new model: Grad-CAM at the layer chosen by resolution (src/core/gradCamLayer.ts; the panel says which and
 * why) and both views of the predicted class, nothing drawn yet.
 */
export function resetAttribution(
  layers: FeatureLayer[],
  classNames: string[],
  predicted: number | undefined,
  input: { height: number; width: number },
): void {
  for (const s of [camClassSearch, camLayerSearch, salClassSearch]) clearSearch(s);
  const choice = chooseGradCamLayer(layers, input);
  fillLayerSelect(camLayer, layers, choice?.name ?? layers[layers.length - 1]?.name ?? '');
  camDefault.textContent = choice?.reason ?? 'The model has no layer with feature maps: Grad-CAM needs one.';
  camDefault.dataset.layer = choice?.name ?? '';
  camDefault.dataset.size = choice ? `${choice.height}x${choice.width}` : '';
  fillClassSelect(camClass, classNames, predicted);
  fillClassSelect(salClass, classNames, predicted);
  camView.clear();
  salView.clear();
  camInfo.textContent = salInfo.textContent = '';
}

/** Draws a Grad-CAM result over `image` in `view`: the relevance (heatmap × its maximum) from its min to max. */
export function showGradCam(view: OverlayView, image: DisplayImage, r: GradCamResult): void {
  const scale = r.range[1];
  const relevance = Float32Array.from(r.heatmap, (v) => v * scale);
  view.show(image, relevance, { height: r.height, width: r.width }, r.range, 'gradcam');
  view.canvas.dataset.classIndex = String(r.classIndex);
}

/** Grad-CAM of `classIndex` (a class or label picked in the prediction), at the chosen layer. */
export function gradCamOfClass(classIndex: number): Promise<void> {
  clearSearch(camClassSearch);
  camClass.value = String(classIndex);
  return runGradCam();
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
    showGradCam(camView, image, r);
    const ms = Math.round(performance.now() - started);
    camCanvas.dataset.ms = String(ms);
    camCanvas.dataset.layer = camLayer.value;
    camInfo.textContent = `${r.className} (p=${formatProbability(r.probability)}), gradient of the ${r.score} at ${camLayer.value} (${r.height}×${r.width}) · ${ms} ms`;
    onGradCam(camLayer.value, r.classIndex);
  } catch (e) {
    camInfo.textContent = `Grad-CAM failed: ${failure(e)}`;
  }
}

async function runSaliency(): Promise<void> {
  const image = input;
  if (!image) return;
  salInfo.textContent = 'Computing saliency…';
  const started = performance.now();
  try {
    const samples = Math.max(1, Math.min(64, Number(salSamples.value) || 1));
    const r = await host.request('saliency', { classIndex: Number(salClass.value), samples });
    const scale = r.range[1];
    const gradient = Float32Array.from(r.saliency, (v) => v * scale);
    salView.show(image, gradient, { height: r.height, width: r.width }, r.range, 'saliency');
    const ms = Math.round(performance.now() - started);
    salCanvas.dataset.classIndex = String(r.classIndex);
    salCanvas.dataset.ms = String(ms);
    salInfo.textContent = `${r.className} (p=${formatProbability(r.probability)}): |d ${r.score} / d input|${samples > 1 ? `, SmoothGrad of ${samples}` : ''} · ${ms} ms`;
  } catch (e) {
    salInfo.textContent = `Saliency failed: ${failure(e)}`;
  }
}
