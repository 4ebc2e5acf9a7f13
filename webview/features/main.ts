/**
 * Feature maps webview: the input as the model sees it, top-5 classes (a multi-label model's labels against their
 * thresholds; a segmentation model's predicted mask and class maps, segmentation.ts), a gallery of every channel of a layer
 * (per-channel or per-layer normalisation, viridis/gray, sort by mean, click to zoom with a value scale),
 * Grad-CAM, saliency and activation maximisation (live progress, cancel); maps overlaid on the input
 * (overlay.ts) and two checkpoints side by side (compare.ts). Every view exports as PNG.
 *
 * This module lays the page out and follows the panel's state (src/panels/features.ts); the views are in
 * overview.ts, gallery.ts, attribution.ts, overlay.ts, compare.ts and maximise.ts, what they share in page.ts.
 */
import type { FeatureLayer, FeaturesState } from '../../src/protocol/features';
import { el } from '../common/dom';
import {
  gradCamOfClass,
  gradCamSection,
  onGradCamShown,
  resetAttribution,
  runGradCam,
  saliencySection,
  setAttributionInput,
} from './attribution';
import { applyCompareState, compareGradCam, compareLayer, compareSection } from './compare';
import {
  gallerySection,
  loadLayer,
  onLayerChannels,
  onLayerShown,
  onMaximiseChannel,
  onOverlayChannel,
  showLayers,
  timeFrom,
  zoom,
} from './gallery';
import { maximiseChannel, maximiseSection, resetMaximise, setChannels, setMaximiseInput } from './maximise';
import { overlayChannel, overlaySection, resetChannelOverlay } from './overlay';
import { header, onPredictionPicked, overviewSection, showInput, showSource } from './overview';
import { host, message, saveUi, setMessage, ui } from './page';
import { onMaskClassPicked, segmentationSection, showSegmentation } from './segmentation';
import { STYLE } from './style';

const style = document.createElement('style');
style.textContent = STYLE;
document.head.appendChild(style);

const app = document.getElementById('app') ?? document.body;
app.append(
  header,
  message,
  overviewSection,
  segmentationSection,
  gallerySection,
  el('div', { class: 'row analyses' }, overlaySection, gradCamSection, saliencySection, maximiseSection),
  compareSection,
  zoom,
);
onLayerChannels(setChannels);
onMaximiseChannel(maximiseChannel);
onLayerShown(compareLayer);
onGradCamShown(compareGradCam);
onPredictionPicked((c) => void gradCamOfClass(c));
onMaskClassPicked((c) => void gradCamOfClass(c));

/** The input the channel overlay draws over: the panel's now. */
let currentInput: FeaturesState['input'];
onOverlayChannel((a, shape, channel, range) => {
  if (currentInput) overlayChannel(currentInput, a.name, a.data, shape, channel, range);
});

/**
 * The layer shown first: `relu`, the last feature maps (after the head's batch-norm + ReLU), what the classifier
 * sees; when they are smaller than 7×7 (small inputs), the stem's `conv1_relu`; else the first layer.
 */
function defaultLayer(layers: FeatureLayer[]): string | undefined {
  const relu = layers.find((l) => l.name === 'relu');
  if (relu && Math.min(relu.outputShape[0], relu.outputShape[1]) >= 7) return relu.name;
  return (layers.find((l) => l.name === 'conv1_relu') ?? relu ?? layers[0])?.name;
}

/** The image, checkpoint and model the views show now (a new one resets them). */
let loadedKey = '';

/** The panel's state: the handshake's answer, and again whenever it changes (loading, loaded, failed). */
function applyState(next: FeaturesState): void {
  timeFrom(next.commandStartedAt);
  ui.imagePath = next.image?.path;
  ui.checkpointPath = next.checkpoint?.path;
  ui.checkpointLabel = next.checkpoint?.label;
  saveUi();
  showSource(next);
  if (next.error) setMessage(next.error, true);
  else if (next.loading) setMessage('Loading the checkpoint and predicting…');
  else setMessage('');
  const { model, input, predictions } = next;
  setAttributionInput(input);
  setMaximiseInput(input);
  currentInput = input;
  applyCompareState(next);
  if (!model || !input || !predictions || next.loading) return;

  const key = `${next.image?.path}|${next.checkpoint?.path}|${model.modelPath}`;
  if (key === loadedKey) return;
  loadedKey = key;

  showInput(input, predictions, next.task);
  showSegmentation(input, next.task);
  const names = new Set(model.layers.map((l) => l.name));
  const layer = ui.layer && names.has(ui.layer) ? ui.layer : defaultLayer(model.layers);
  showLayers(model.layers, layer ?? '');
  // A mask's most common class is mostly the background: its Grad-CAM starts on the next largest.
  const predicted = (next.task?.task === 'segmentation' ? (predictions[1] ?? predictions[0]) : predictions[0])?.index;
  resetAttribution(model.layers, model.classNames, predicted, model.input);
  resetChannelOverlay();
  resetMaximise(model.classNames, predicted);
  if (layer) void loadLayer(layer).then(() => runGradCam());
}

host.on('state', applyState);
host.request('state', null).then(applyState, (e: Error) => setMessage(e.message, true));
