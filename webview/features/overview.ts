/**
 * The top of the feature maps page: the header (image and checkpoint, with buttons to change either) and the
 * input as the model sees it beside the top classes.
 */
import { formatProbability } from '../../src/core/format';
import type { DisplayImage, FeaturesState, Prediction } from '../../src/protocol/features';
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

/** The input as the model sees it, and the top classes with their probabilities. */
export function showInput(input: DisplayImage, predictions: Prediction[]): void {
  inputCanvas.width = input.width;
  inputCanvas.height = input.height;
  drawImage(inputCanvas, input.display, input.height, input.width, input.channels);
  inputCaption.textContent = `${input.height}×${input.width}×${input.channels}, as the model sees it`;
  predsBox.replaceChildren(el('div', { class: 'muted' }, 'Top classes'), ...predictionList(predictions));
}

/** One row per class: name, bar and probability (the first, the top class, in bold). */
export function predictionList(predictions: Prediction[]): HTMLElement[] {
  return predictions.map((p, i) => {
    const bar = el('div', { class: 'bar', style: `width:${(p.probability * 100).toFixed(1)}%` });
    return el(
      'div',
      { class: i === 0 ? 'pred top' : 'pred', 'data-class': String(p.index) },
      el('span', { class: 'name', title: `${p.index}: ${p.className}` }, p.className),
      el('div', {}, bar),
      el('span', { class: 'pct' }, formatProbability(p.probability)),
    );
  });
}
