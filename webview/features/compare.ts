/**
 * Two checkpoints side by side on the feature maps page ("Compare with…"): for the same image, each side shows
 * its run and epoch, its top-5 classes, the gallery of the layer shown above and Grad-CAM at the same layer and
 * class, over the input. Side `a` is the panel's checkpoint, side `b` the one compared with it (its own engine
 * process on the host, stopped by "Close compare").
 */
import { formatProbability } from '../../src/core/format';
import type { CheckpointRef, CompareState, FeaturesState, Side } from '../../src/protocol/features';
import { el } from '../common/dom';
import { reportedByHost } from '../common/vscode';
import { showGradCam } from './attribution';
import { decodeActivation, mapShape } from './gallery';
import { OverlayView } from './overlay';
import { predictionList } from './overview';
import { button, failure, host, ui } from './page';
import { canvas, drawChannel } from './render';

/** Channels drawn in each side's gallery. */
const COMPARE_CHANNELS = 24;

interface SideView {
  side: Side;
  element: HTMLElement;
  label: HTMLElement;
  preds: HTMLElement;
  cam: OverlayView;
  camInfo: HTMLElement;
  gallery: HTMLElement;
  galleryInfo: HTMLElement;
}

function sideView(side: Side): SideView {
  const label = el('div', { class: 'side-label' });
  const preds = el('div', { class: 'preds side-preds' });
  const cam = new OverlayView(`compare-${side}-gradcam`, 'gradcam');
  const camInfo = el('div', { class: 'muted side-gradcam-info' });
  const gallery = el('div', { class: 'side-gallery' });
  const galleryInfo = el('div', { class: 'muted side-gallery-info' });
  const element = el(
    'div',
    { class: 'side', 'data-side': side },
    label,
    preds,
    cam.element,
    camInfo,
    galleryInfo,
    gallery,
  );
  return { side, element, label, preds, cam, camInfo, gallery, galleryInfo };
}

const sides = { a: sideView('a'), b: sideView('b') };
const compareInfo = el('span', { class: 'muted', id: 'compare-info' });

export const compareSection = el(
  'section',
  { id: 'compare', hidden: '' },
  el('h2', {}, 'Compare checkpoints'),
  el(
    'div',
    { class: 'toolbar' },
    compareInfo,
    button('Close compare', () => reportedByHost(host.request('closeCompare', null)), true),
  ),
  el('div', { class: 'row compare-sides' }, sides.a.element, sides.b.element),
);

/** The panel's state now, and what the comparison shows (a later refresh wins). */
let state: FeaturesState | undefined;
let shownKey = '';
let layer: string | undefined;
let gradCam: { layerName: string; classIndex: number } | undefined;
let token = 0;

const describe = (c: CheckpointRef | undefined): string => (c ? `${c.label}${c.detail ? ` · ${c.detail}` : ''}` : '');

/** The panel's state: shows or hides the comparison, and refreshes it when a side's model or image changed. */
export function applyCompareState(next: FeaturesState): void {
  state = next;
  const compare = next.compare;
  const opened = compareSection.hidden && compare;
  compareSection.hidden = !compare;
  if (opened) compareSection.scrollIntoView({ block: 'start' });
  if (!compare) {
    shownKey = '';
    return;
  }
  const a: CompareState | undefined =
    next.checkpoint && !next.loading
      ? {
          checkpoint: next.checkpoint,
          loading: false,
          model: next.model,
          input: next.input,
          predictions: next.predictions,
        }
      : undefined;
  for (const [view, s] of [
    [sides.a, a],
    [sides.b, compare],
  ] as const) {
    view.element.dataset.run = s?.checkpoint.label ?? '';
    view.label.textContent = `${view.side === 'a' ? 'A' : 'B'}: ${describe(s?.checkpoint)}`;
    if (s?.error) view.preds.replaceChildren(el('div', { class: 'error' }, s.error));
    else if (s?.loading || !s?.predictions) view.preds.replaceChildren(el('div', { class: 'muted' }, 'Loading…'));
    else view.preds.replaceChildren(...predictionList(s.predictions));
  }
  const key = `${next.image?.path}|${next.checkpoint?.path}|${next.model?.modelPath}|${compare.checkpoint.path}|${compare.model?.modelPath}`;
  if (key !== shownKey && a?.model && compare.model) {
    shownKey = key;
    void refresh();
  }
}

/** The layer shown in the gallery above: each side's gallery shows it too. */
export function compareLayer(name: string): void {
  layer = name;
  if (!compareSection.hidden) void refresh();
}

/** The Grad-CAM drawn above: each side shows the same layer and class. */
export function compareGradCam(layerName: string, classIndex: number): void {
  gradCam = { layerName, classIndex };
  if (!compareSection.hidden) void refresh();
}

/** Both sides' galleries and Grad-CAM for the layer and class chosen above. */
async function refresh(): Promise<void> {
  const t = ++token;
  const s = state;
  if (!s?.compare?.model || !s.model) return;
  compareInfo.textContent = `Same image${layer ? `, layer ${layer}` : ''}${gradCam ? `, Grad-CAM of class ${gradCam.classIndex} at ${gradCam.layerName}` : ''}`;
  const inputs = { a: s.input, b: s.compare.input };
  const layers = { a: s.model.layers, b: s.compare.model.layers };
  // One side after the other: each is its own engine process, and the machine may have two cores in all.
  for (const side of ['a', 'b'] as const) {
    const view = sides[side];
    const input = inputs[side];
    const names = new Set(layers[side].map((l) => l.name));
    if (layer && names.has(layer)) {
      try {
        const a = decodeActivation(await host.request('activations', { layer, side }));
        if (t !== token) return;
        drawSideGallery(view, a);
      } catch (e) {
        view.galleryInfo.textContent = `Feature maps of ${layer}: ${failure(e)}`;
      }
    } else if (layer) {
      view.gallery.replaceChildren();
      view.galleryInfo.textContent = `This model has no layer ${layer}.`;
    }
    if (gradCam && input && names.has(gradCam.layerName)) {
      try {
        const r = await host.request('gradcam', { ...gradCam, side });
        if (t !== token) return;
        showGradCam(view.cam, input, r);
        view.cam.canvas.dataset.layer = gradCam.layerName;
        view.camInfo.textContent = `Grad-CAM of ${r.className} (p=${formatProbability(r.probability)}) at ${gradCam.layerName} (${r.height}×${r.width})`;
      } catch (e) {
        view.camInfo.textContent = `Grad-CAM failed: ${failure(e)}`;
      }
    } else if (gradCam) {
      view.cam.clear();
      view.camInfo.textContent = `This model has no layer ${gradCam.layerName}.`;
    }
  }
}

function drawSideGallery(view: SideView, a: ReturnType<typeof decodeActivation>): void {
  const [h, w, c] = mapShape(a);
  const shown = Math.min(c, COMPARE_CHANNELS);
  const tiles = Array.from({ length: shown }, (_, k) => {
    const cv = canvas(w, h);
    cv.dataset.channel = String(k);
    const [lo, hi] =
      ui.normalise === 'layer' ? [a.stats.min, a.stats.max] : [a.stats.channelMin[k], a.stats.channelMax[k]];
    drawChannel(cv, a.data, h, w, c, k, lo, hi, ui.colormap);
    return el('figure', { class: 'tile', title: `channel ${k}` }, cv, el('figcaption', {}, `#${k}`));
  });
  view.gallery.replaceChildren(...tiles);
  view.gallery.dataset.layer = a.name;
  view.galleryInfo.textContent = `${a.name}: the first ${shown} of ${c} channels of ${h}×${w}, range [${a.stats.min.toPrecision(3)}, ${a.stats.max.toPrecision(3)}]`;
}
