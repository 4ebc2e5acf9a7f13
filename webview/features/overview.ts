/**
 * The top of the feature maps page: the header (image and checkpoint, with buttons to change either) and the
 * input as the model sees it beside the top classes.
 */
import { formatProbability } from '../../src/core/format';
import type {
  DisplayImage,
  FeaturesState,
  LabelPrediction,
  Prediction,
  TaskPrediction,
} from '../../src/protocol/features';
import { el } from '../common/dom';
import { reportedByHost } from '../common/vscode';
import { button, exportCanvas, host } from './page';
import { canvas, drawImage } from './render';

const headerText = el('span');
export const header = el(
  'div',
  { class: 'toolbar' },
  headerText,
  button('Change checkpoint…', () => reportedByHost(host.request('pickCheckpoint', null)), true),
  button('Change image…', () => reportedByHost(host.request('pickImage', null)), true),
  compareButton(),
);

function compareButton(): HTMLButtonElement {
  const b = button('Compare with…', () => reportedByHost(host.request('compare', null)), true);
  b.id = 'compare-with';
  return b;
}

const inputCanvas = canvas(1, 1, 'big');
inputCanvas.id = 'input-image';
const inputCaption = el('span', { class: 'muted', id: 'input-caption' });
const predsBox = el('div', { class: 'preds', id: 'predictions' });

export const overviewSection = el(
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
        inputCaption,
        button('Export PNG', () => exportCanvas(inputCanvas, 'input'), true),
      ),
    ),
    predsBox,
  ),
);

/** The header: which image, with which checkpoint. */
export function showSource(state: FeaturesState): void {
  const c = state.checkpoint;
  headerText.textContent = state.image
    ? `${state.image.name} — ${c ? `${c.label}${c.detail ? ` · ${c.detail}` : ''}` : 'no checkpoint'}`
    : 'No image';
}

let onPick: (classIndex: number) => void = () => undefined;

/** Told when the user clicks a class or label of the list (the page runs its Grad-CAM). */
export function onPredictionPicked(listener: (classIndex: number) => void): void {
  onPick = listener;
}

/**
 * The input as the model sees it, and what the model predicts: the top classes with their probabilities; a
 * multi-label model's every label against its threshold; a segmentation model's classes by their share of the mask.
 */
export function showInput(input: DisplayImage, predictions: Prediction[], task?: TaskPrediction): void {
  inputCanvas.width = input.width;
  inputCanvas.height = input.height;
  drawImage(inputCanvas, input.display, input.height, input.width, input.channels);
  inputCaption.textContent = `${input.height}×${input.width}×${input.channels}, as the model sees it`;
  const rows =
    task?.task === 'multilabel' ? labelList(task.labels) : predictionList(predictions, task?.task === 'segmentation');
  for (const row of rows) row.addEventListener('click', () => onPick(Number(row.dataset.class)));
  const title =
    task?.task === 'multilabel'
      ? `Labels: ${task.labels.filter((l) => l.present).length} of ${task.labels.length} over their threshold (${task.thresholds}); click one for its Grad-CAM`
      : task?.task === 'segmentation'
        ? 'Classes by their share of the predicted mask; click one for its Grad-CAM'
        : 'Top classes; click one for its Grad-CAM';
  predsBox.replaceChildren(el('div', { class: 'muted', id: 'predictions-title' }, title), ...rows);
}

/** One row per class: name, bar and probability (the first, the top class, in bold); or its share of a mask. */
export function predictionList(predictions: Prediction[], shares = false): HTMLElement[] {
  return predictions.map((p, i) => {
    const bar = el('div', { class: 'bar', style: `width:${(p.probability * 100).toFixed(1)}%` });
    return el(
      'div',
      { class: i === 0 ? 'pred top' : 'pred', 'data-class': String(p.index) },
      el('span', { class: 'name', title: `${p.index}: ${p.className}` }, p.className),
      el('div', {}, bar),
      el('span', { class: 'pct' }, shares ? `${(p.probability * 100).toFixed(1)}%` : formatProbability(p.probability)),
    );
  });
}

/** One row per label, most probable first: name, bar with the threshold marked, probability; over it in bold. */
function labelList(labels: LabelPrediction[]): HTMLElement[] {
  return labels.map((l) => {
    const bar = el('div', { class: 'bar', style: `width:${(l.probability * 100).toFixed(1)}%` });
    const tick = el('div', { class: 'threshold', style: `left:${(l.threshold * 100).toFixed(1)}%` });
    return el(
      'div',
      {
        class: l.present ? 'pred present' : 'pred',
        'data-class': String(l.index),
        title: `${l.label}: p=${formatProbability(l.probability)}, threshold ${formatProbability(l.threshold)} (${l.present ? 'present' : 'absent'})`,
      },
      el('span', { class: 'name' }, l.present ? `✓ ${l.label}` : l.label),
      el('div', { class: 'track' }, bar, tick),
      el('span', { class: 'pct' }, formatProbability(l.probability)),
    );
  });
}
