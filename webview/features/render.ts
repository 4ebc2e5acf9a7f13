/** Drawing Float32Array maps into canvases (putImageData at the map's own resolution; CSS scales it up). */

import { type Colormap, colormapLut } from '../../src/core/heatmap';

export type { Colormap } from '../../src/core/heatmap';

/** The colour map's 256 RGB entries. */
export const lut = (map: Colormap): Uint8ClampedArray => colormapLut(map);

/** A canvas of the given pixel size. */
export function canvas(width: number, height: number, className?: string): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  if (className) c.className = className;
  return c;
}

/**
 * Draws channel `channel` of an HWC map (`channels` wide) with a colormap, values mapped from [lo, hi] to
 * [0, 1] (a flat map draws as the colormap's low end).
 */
export function drawChannel(
  target: HTMLCanvasElement,
  data: Float32Array,
  height: number,
  width: number,
  channels: number,
  channel: number,
  lo: number,
  hi: number,
  map: Colormap,
): void {
  const ctx = target.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(width, height);
  const px = img.data;
  const l = lut(map);
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0, n = height * width; i < n; i++) {
    const v = data[i * channels + channel];
    const k = scale === 0 ? 0 : Math.max(0, Math.min(255, Math.round((v - lo) * scale))) * 3;
    px[i * 4] = l[k];
    px[i * 4 + 1] = l[k + 1];
    px[i * 4 + 2] = l[k + 2];
    px[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Draws an HWC image in [0, 1] (1 or 3 channels). */
export function drawImage(
  target: HTMLCanvasElement,
  data: Float32Array,
  height: number,
  width: number,
  channels: number,
): void {
  const ctx = target.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(width, height);
  const px = img.data;
  for (let i = 0, n = height * width; i < n; i++) {
    for (let c = 0; c < 3; c++) px[i * 4 + c] = data[i * channels + (channels === 1 ? 0 : c)] * 255;
    px[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** A horizontal colour bar (256 x 1). */
export function drawColorbar(target: HTMLCanvasElement, map: Colormap): void {
  target.width = 256;
  target.height = 1;
  const ctx = target.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(256, 1);
  const l = lut(map);
  for (let i = 0; i < 256; i++) {
    img.data[i * 4] = l[i * 3];
    img.data[i * 4 + 1] = l[i * 3 + 1];
    img.data[i * 4 + 2] = l[i * 3 + 2];
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** A PNG data URL of `source` scaled up (nearest neighbour) to at least `minSize` pixels wide. */
export function pngOf(source: HTMLCanvasElement, minSize = 256): string {
  const f = Math.max(1, Math.ceil(minSize / Math.max(1, source.width)));
  const out = canvas(source.width * f, source.height * f);
  const ctx = out.getContext('2d');
  if (!ctx) return source.toDataURL('image/png');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(source, 0, 0, out.width, out.height);
  return out.toDataURL('image/png');
}

/** All `tiles` in a grid (each scaled by an integer factor to about `tileSize` px), as a PNG data URL. */
export function gridPngOf(tiles: HTMLCanvasElement[], tileSize = 64, gap = 2): string {
  if (tiles.length === 0) return canvas(1, 1).toDataURL('image/png');
  const w0 = tiles[0].width;
  const h0 = tiles[0].height;
  const f = Math.max(1, Math.round(tileSize / Math.max(w0, h0)));
  const cols = Math.ceil(Math.sqrt(tiles.length));
  const rows = Math.ceil(tiles.length / cols);
  const out = canvas(cols * (w0 * f + gap) - gap, rows * (h0 * f + gap) - gap);
  const ctx = out.getContext('2d');
  if (!ctx) return out.toDataURL('image/png');
  ctx.imageSmoothingEnabled = false;
  tiles.forEach((t, i) =>
    ctx.drawImage(t, (i % cols) * (w0 * f + gap), Math.floor(i / cols) * (h0 * f + gap), w0 * f, h0 * f),
  );
  return out.toDataURL('image/png');
}
