/**
 * Maps drawn over the input on the feature maps page: a gallery channel ("Overlay on input" in its zoom),
 * Grad-CAM and saliency, each upsampled (bilinear, half-pixel centres) to the input's size, coloured and blended
 * at one opacity (slider, 0–100 %) with one colour map, both kept with the page's state; each with a colour bar
 * naming the map's smallest and largest values and their unit.
 */
import {
  bilinearResize,
  blendOverlay,
  type Colormap,
  COLORMAPS,
  isColormap,
  nearestUpscale,
} from '../../src/core/heatmap';
import type { DisplayImage } from '../../src/protocol/features';
import { el } from '../common/dom';
import { exportCanvas, saveUi, ui } from './page';
import { canvas, drawColorbar } from './render';

export type OverlayKind = 'channel' | 'gradcam' | 'saliency';

/** What each kind of map measures (the colour bar's unit). */
export const OVERLAY_UNITS: Record<OverlayKind, string> = {
  channel: 'activation value',
  gradcam: 'Grad-CAM relevance',
  saliency: '|gradient|',
};

/**
 * Overlays of small inputs are drawn at an integer multiple of the input's size, up to this side (a 28×28 digit at
 * 224×224): the input's pixels stay sharp squares and the map is interpolated at every screen pixel, not drawn
 * as the input's blocks.
 */
const DISPLAY_SIDE = 224;

/** A map over an image of the same size (the input scaled up), its value range and kind. */
interface Shown {
  /** HWC in [0, 1]. */
  image: Float32Array;
  channels: number;
  height: number;
  width: number;
  /** height × width values. */
  map: Float32Array;
  lo: number;
  hi: number;
  kind: OverlayKind;
}

const views = new Set<OverlayView>();

/** A canvas showing one map over the input, with its colour bar (min, max, unit). */
export class OverlayView {
  readonly canvas: HTMLCanvasElement;
  readonly element: HTMLElement;
  private readonly bar = canvas(256, 1);
  private readonly min = el('span', { class: 'overlay-min' });
  private readonly max = el('span', { class: 'overlay-max' });
  private readonly unit = el('span', { class: 'muted overlay-unit' });
  private readonly legend: HTMLElement;
  private shown: Shown | undefined;

  constructor(id: string, kind: OverlayKind) {
    this.canvas = canvas(1, 1, 'big');
    this.canvas.id = id;
    this.canvas.dataset.overlay = kind;
    this.legend = el(
      'div',
      { class: 'overlay-legend', id: `${id}-legend`, hidden: '' },
      el('div', { class: 'scale' }, this.min, this.bar, this.max),
      this.unit,
    );
    this.element = el('div', { class: 'view' }, this.canvas, this.legend);
    views.add(this);
  }

  /**
   * Shows `map` (`height` × `width`, channel `channel` of `channels`) over `input`, upsampled to its size, its
   * values from `lo` to `hi` across the colour map.
   */
  show(
    input: DisplayImage,
    map: ArrayLike<number>,
    size: { height: number; width: number; channels?: number; channel?: number },
    range: [number, number],
    kind: OverlayKind,
  ): void {
    const f = Math.max(1, Math.floor(DISPLAY_SIDE / Math.max(input.height, input.width)));
    const [height, width] = [input.height * f, input.width * f];
    const up = bilinearResize(map, size.height, size.width, height, width, size.channels, size.channel);
    const image = f === 1 ? input.display : nearestUpscale(input.display, input.height, input.width, input.channels, f);
    this.shown = { image, channels: input.channels, height, width, map: up, lo: range[0], hi: range[1], kind };
    this.canvas.width = width;
    this.canvas.height = height;
    this.canvas.dataset.scale = String(f);
    this.canvas.dataset.overlay = kind;
    this.canvas.dataset.mapSize = `${size.height}x${size.width}`;
    this.draw();
  }

  /** Nothing shown (a new model or image). */
  clear(): void {
    this.shown = undefined;
    this.canvas.width = 1;
    this.canvas.height = 1;
    this.legend.hidden = true;
  }

  export(name: string): void {
    exportCanvas(this.canvas, name);
  }

  /** Draws the map shown with the page's opacity and colour map now. */
  draw(): void {
    const s = this.shown;
    if (!s) return;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const rgba = blendOverlay({
      image: s.image,
      channels: s.channels,
      map: s.map,
      lo: s.lo,
      hi: s.hi,
      opacity: ui.overlayOpacity / 100,
      colormap: ui.overlayColormap,
    });
    const img = ctx.createImageData(s.width, s.height);
    img.data.set(rgba);
    ctx.putImageData(img, 0, 0);
    this.canvas.dataset.opacity = String(ui.overlayOpacity);
    this.canvas.dataset.colormap = ui.overlayColormap;
    drawColorbar(this.bar, ui.overlayColormap);
    this.min.textContent = formatValue(s.lo);
    this.max.textContent = formatValue(s.hi);
    this.legend.dataset.min = String(s.lo);
    this.legend.dataset.max = String(s.hi);
    this.unit.textContent = OVERLAY_UNITS[s.kind];
    this.legend.hidden = false;
  }
}

const formatValue = (v: number): string =>
  v === 0 ? '0' : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(3);

const opacity = el('input', {
  type: 'range',
  min: '0',
  max: '100',
  step: '1',
  id: 'overlay-opacity',
  'aria-label': 'Overlay opacity',
});
const opacityValue = el('span', { id: 'overlay-opacity-value', class: 'muted' });
const colormap = el(
  'select',
  { id: 'overlay-colormap', 'aria-label': 'Overlay colour map' },
  ...COLORMAPS.map((c) => el('option', { value: c }, c)),
);

/** The controls every overlay follows: opacity and colour map. */
export const overlayControls = el(
  'div',
  { class: 'toolbar', id: 'overlay-controls' },
  el('label', {}, 'Opacity ', opacity),
  opacityValue,
  el('label', {}, 'Colour map ', colormap),
);

function syncControls(): void {
  ui.overlayOpacity = Math.max(0, Math.min(100, Math.round(Number(ui.overlayOpacity))));
  if (!Number.isFinite(ui.overlayOpacity)) ui.overlayOpacity = 50;
  if (!isColormap(ui.overlayColormap)) ui.overlayColormap = 'jet';
  opacity.value = String(ui.overlayOpacity);
  opacityValue.textContent = `${ui.overlayOpacity}%`;
  colormap.value = ui.overlayColormap;
}
syncControls();

function redrawAll(): void {
  syncControls();
  saveUi();
  for (const v of views) v.draw();
}

opacity.addEventListener('input', () => {
  ui.overlayOpacity = Number(opacity.value);
  redrawAll();
});
colormap.addEventListener('change', () => {
  ui.overlayColormap = colormap.value as Colormap;
  redrawAll();
});

/** The channel overlay: the channel picked in the gallery's zoom, over the input. */
const channelView = new OverlayView('overlay-canvas', 'channel');
const channelInfo = el(
  'span',
  { class: 'muted status', id: 'overlay-info' },
  'Click a channel in the gallery, then "Overlay on input".',
);

export const overlaySection = el(
  'section',
  { id: 'overlay' },
  el('h2', {}, 'Overlay on input'),
  overlayControls,
  channelView.element,
  channelInfo,
);

/** Shows channel `channel` of a layer's [H, W, C] activations over `input`, its range the channel's. */
export function overlayChannel(
  input: DisplayImage,
  layer: string,
  data: Float32Array,
  shape: [number, number, number],
  channel: number,
  range: [number, number],
): void {
  const [height, width, channels] = shape;
  channelView.show(input, data, { height, width, channels, channel }, range, 'channel');
  channelView.canvas.dataset.layer = layer;
  channelView.canvas.dataset.channel = String(channel);
  channelInfo.textContent = `${layer} channel ${channel} (${height}×${width}) over the ${input.height}×${input.width} input`;
  overlaySection.scrollIntoView({ block: 'nearest' });
}

/** A new model or image: the channel overlay is cleared. */
export function resetChannelOverlay(): void {
  channelView.clear();
  channelInfo.textContent = 'Click a channel in the gallery, then "Overlay on input".';
}
