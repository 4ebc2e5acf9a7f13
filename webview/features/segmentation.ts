/**
 * A segmentation model's prediction on the feature maps page: the predicted mask in the class colours over the
 * input (opacity slider, one class alone on a click), the legend with each class's share of the pixels, and each
 * class's probability map. Clicking a class (legend or map) shows it alone and asks for its Grad-CAM.
 */
import { blendMask } from '../../src/core/heatmap';
import type { DisplayImage, TaskPrediction } from '../../src/protocol/features';
import { el } from '../common/dom';
import { button, exportCanvas, exportPng } from './page';
import { canvas, drawChannel, gridPngOf } from './render';

type Segmentation = Extract<TaskPrediction, { task: 'segmentation' }>;

const overlay = canvas(1, 1, 'big');
overlay.id = 'mask-overlay';
const opacity = el('input', { type: 'range', min: '0', max: '100', value: '60', id: 'mask-opacity' });
const legend = el('div', { id: 'mask-legend', class: 'legend' });
const maps = el('div', { id: 'class-maps', class: 'class-maps' });
const caption = el('span', { class: 'muted', id: 'mask-caption' });

export const segmentationSection = el(
  'section',
  { id: 'segmentation', hidden: '' },
  el('h2', {}, 'Predicted mask'),
  el(
    'div',
    { class: 'row' },
    el(
      'div',
      { class: 'view' },
      overlay,
      el(
        'div',
        { class: 'toolbar' },
        el('label', { title: 'The class colours over the input' }, 'Opacity ', opacity),
        button('Show all classes', () => select(undefined), true),
        button('Export PNG', () => exportCanvas(overlay, 'mask'), true),
      ),
      caption,
    ),
    legend,
  ),
  el('h3', {}, 'Probability of each class'),
  el(
    'div',
    { class: 'toolbar' },
    button('Export PNG', () => exportClassMaps(), true),
  ),
  maps,
);

let shown: { input: DisplayImage; seg: Segmentation } | undefined;
/** The class shown alone (undefined: all). */
let only: number | undefined;
let onPick: (classIndex: number) => void = () => undefined;

/** Told when the user picks a class (the page runs its Grad-CAM). */
export function onMaskClassPicked(listener: (classIndex: number) => void): void {
  onPick = listener;
}

function drawOverlay(): void {
  if (!shown) return;
  const { input, seg } = shown;
  overlay.width = seg.width;
  overlay.height = seg.height;
  const ctx = overlay.getContext('2d');
  if (!ctx) return;
  const px = blendMask({
    image: input.display,
    channels: input.channels,
    mask: seg.mask,
    colors: seg.classes.map((c) => c.color),
    opacity: Number(opacity.value) / 100,
    only,
  });
  const img = ctx.createImageData(seg.width, seg.height);
  img.data.set(px);
  ctx.putImageData(img, 0, 0);
  overlay.dataset.only = only === undefined ? '' : String(only);
  caption.textContent =
    only === undefined
      ? `${seg.height}×${seg.width}: every pixel in the colour of its most probable class`
      : `${seg.height}×${seg.width}: the pixels of ${seg.classes[only].name} only`;
  for (const item of Array.from(legend.children) as HTMLElement[])
    item.classList.toggle('selected', item.dataset.class === String(only));
  for (const fig of Array.from(maps.children) as HTMLElement[])
    fig.classList.toggle('selected', fig.dataset.class === String(only));
}

/** A colour chip; a colour that is not "#rrggbb" (it came from disk) draws gray. */
function swatch(color: string): HTMLElement {
  const chip = el('span', { class: 'swatch' });
  chip.style.background = /^#[0-9a-fA-F]{6}$/.test(color) ? color : '#808080';
  return chip;
}

function select(classIndex: number | undefined): void {
  only = classIndex;
  drawOverlay();
  if (classIndex !== undefined) onPick(classIndex);
}

opacity.addEventListener('input', drawOverlay);

function exportClassMaps(): void {
  const tiles = Array.from(maps.querySelectorAll('canvas'));
  if (tiles.length > 0) exportPng('class-maps', gridPngOf(tiles));
}

/** Shows a segmentation prediction (or hides the section for other tasks). */
export function showSegmentation(input: DisplayImage, task: TaskPrediction | undefined): void {
  if (task?.task !== 'segmentation') {
    segmentationSection.hidden = true;
    shown = undefined;
    return;
  }
  segmentationSection.hidden = false;
  shown = { input, seg: task };
  only = undefined;
  const c = task.classes.length;
  legend.replaceChildren(
    el('div', { class: 'muted' }, 'Classes (share of the pixels)'),
    ...task.classes.map((k, i) => {
      const item = el(
        'div',
        { class: 'legend-item', 'data-class': String(i), title: `Show ${k.name} alone, with its Grad-CAM` },
        swatch(k.color),
        el('span', { class: 'name' }, k.name),
        el('span', { class: 'pct' }, `${(k.share * 100).toFixed(1)}%`),
      );
      item.addEventListener('click', () => select(i));
      return item;
    }),
  );
  const probabilities = Float32Array.from(task.probabilities);
  maps.replaceChildren(
    ...task.classes.map((k, i) => {
      const map = canvas(task.width, task.height, 'class-map');
      drawChannel(map, probabilities, task.height, task.width, c, i, 0, 255, 'viridis');
      const fig = el('figure', { class: 'tile', 'data-class': String(i) }, map, el('figcaption', {}, k.name));
      fig.title = `${k.name}: probability 0 (dark) to 1 (yellow); click to show it alone, with its Grad-CAM`;
      fig.addEventListener('click', () => select(i));
      return fig;
    }),
  );
  drawOverlay();
}
