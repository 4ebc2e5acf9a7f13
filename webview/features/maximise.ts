/**
 * Activation maximisation on the feature maps page: the input that most excites a channel of the layer shown or
 * a class, drawn live as the engine reports progress, cancellable (aborting the request stops the engine at its
 * next step, and the result says how far it got).
 */
import type { DisplayImage } from '../../src/protocol/features';
import { el } from '../common/dom';
import { button, clearSearch, exportCanvas, failure, fillClassSelect, host, searchBox, ui } from './page';
import { canvas, drawImage } from './render';

const maxKind = el(
  'select',
  { id: 'max-kind', 'aria-label': 'Target' },
  el('option', { value: 'channel' }, 'a channel of the layer'),
  el('option', { value: 'class' }, 'class'),
);
const maxChannel = el('input', { type: 'number', min: '0', value: '0', id: 'max-channel', 'aria-label': 'Channel' });
const maxClass = el('select', { id: 'max-class', 'aria-label': 'Class' });
const maxClassSearch = searchBox(maxClass, 'max-class-search', 'classes', { selectWhileTyping: true });
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

const channelLabel = el('label', { id: 'max-channel-label' }, 'channel ', maxChannel);
const classLabel = el('label', { id: 'max-class-label' }, 'class ', maxClass);

/** Only the input of the target chosen: the channel number for a channel, the class picker for a class. */
function showKindInputs(): void {
  const byClass = maxKind.value === 'class';
  channelLabel.hidden = byClass;
  classLabel.hidden = !byClass;
  maxClassSearch.hidden = !byClass;
}
maxKind.addEventListener('change', showKindInputs);
showKindInputs();

export const maximiseSection = el(
  'section',
  { id: 'maximise' },
  el('h2', {}, 'Activation maximisation'),
  el(
    'div',
    { class: 'toolbar' },
    el('label', {}, 'Maximise ', maxKind),
    channelLabel,
    classLabel,
    maxClassSearch,
    el('label', {}, 'steps ', maxSteps),
    maxStart,
    maxCancel,
    button('Export PNG', () => exportCanvas(maxCanvas, 'maximisation'), true),
  ),
  el('div', { class: 'view' }, maxCanvas),
  maxInfo,
);

/** The input of the model shown (the maximised image has its size; none while a checkpoint or image loads). */
let input: DisplayImage | undefined;
/** Aborts the maximisation running, if one is. */
let running: AbortController | undefined;

export function setMaximiseInput(next: DisplayImage | undefined): void {
  input = next;
}

/** A new model: its classes, the predicted one chosen, nothing drawn yet. */
export function resetMaximise(classNames: string[], predicted: number | undefined): void {
  clearSearch(maxClassSearch);
  fillClassSelect(maxClass, classNames, predicted);
  maxCanvas.width = 1;
  maxInfo.textContent = '';
}

/** The layer shown has `channels` channels: the channel input's range. */
export function setChannels(channels: number): void {
  maxChannel.max = String(channels - 1);
}

function drawMaxImage(image: Float32Array): void {
  if (!input) return;
  maxCanvas.width = input.width;
  maxCanvas.height = input.height;
  drawImage(maxCanvas, image, input.height, input.width, input.channels);
}

/** Maximises channel `channel` of `layer` (the zoom's "Maximise this channel"), and scrolls to it. */
export function maximiseChannel(layer: string, channel: number): void {
  maxKind.value = 'channel';
  showKindInputs();
  maxChannel.value = String(channel);
  maximiseSection.scrollIntoView({ block: 'nearest' });
  void runMaximise(layer);
}

/** Maximises the class chosen, or the channel chosen of `layer` (default: the layer shown). */
async function runMaximise(layer = ui.layer ?? ''): Promise<void> {
  if (running) return;
  const steps = Math.max(1, Math.min(2000, Number(maxSteps.value) || 128));
  const target =
    maxKind.value === 'class'
      ? { classIndex: Number(maxClass.value) }
      : { layerName: layer, channel: Math.max(0, Number(maxChannel.value) || 0) };
  const what =
    'classIndex' in target
      ? `class ${maxClass.selectedOptions[0]?.textContent ?? target.classIndex}`
      : `${target.layerName} channel ${target.channel}`;
  const abort = new AbortController();
  running = abort;
  maxStart.disabled = true;
  maxCancel.disabled = false;
  maxInfo.textContent = `${what}: starting…`;
  const started = performance.now();
  try {
    const r = await host.request(
      'maximise',
      { target, steps },
      {
        signal: abort.signal,
        onProgress: (p) => {
          if (p.image) drawMaxImage(p.image);
          const left = ((performance.now() - started) / p.step) * (steps - p.step);
          maxInfo.textContent = `${what}: step ${p.step}/${steps}, objective ${p.value.toPrecision(4)}${p.step < steps ? `, about ${formatSeconds(left)} left` : ''}`;
        },
      },
    );
    drawMaxImage(r.image);
    const last = r.values[r.values.length - 1];
    maxInfo.textContent = `${what}: ${r.cancelled ? 'cancelled after' : 'done,'} ${r.values.length} steps, ${r.objective} ${last === undefined ? '' : last.toPrecision(4)}`;
  } catch (e) {
    maxInfo.textContent = `Maximisation failed: ${failure(e)}`;
  } finally {
    running = undefined;
    maxStart.disabled = false;
    maxCancel.disabled = true;
  }
}

/** `12 s`, `3 min 05 s`. */
function formatSeconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

function cancelMaximise(): void {
  running?.abort();
  maxInfo.textContent += ' · cancelling…';
}
