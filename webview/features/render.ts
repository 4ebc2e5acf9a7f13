/** Drawing Float32Array maps into canvases (putImageData at the map's own resolution; CSS scales it up). */

export type Colormap = 'viridis' | 'gray' | 'jet';

// Viridis as a degree-6 polynomial fit (Matt Zucker's approximation of matplotlib's table).
const V = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

function buildLut(map: Colormap): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let rgb: number[];
    if (map === 'gray') rgb = [t, t, t];
    else if (map === 'jet')
      rgb = [
        clamp01(1.5 - Math.abs(4 * t - 3)),
        clamp01(1.5 - Math.abs(4 * t - 2)),
        clamp01(1.5 - Math.abs(4 * t - 1)),
      ];
    else
      rgb = [0, 1, 2].map((c) =>
        clamp01(V[0][c] + t * (V[1][c] + t * (V[2][c] + t * (V[3][c] + t * (V[4][c] + t * (V[5][c] + t * V[6][c])))))),
      );
    lut[i * 3] = rgb[0] * 255;
    lut[i * 3 + 1] = rgb[1] * 255;
    lut[i * 3 + 2] = rgb[2] * 255;
  }
  return lut;
}

const luts = new Map<Colormap, Uint8ClampedArray>();
export function lut(map: Colormap): Uint8ClampedArray {
  let l = luts.get(map);
  if (!l) luts.set(map, (l = buildLut(map)));
  return l;
}

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

/** The image (dimmed to gray-ish) with a [0, 1] heatmap of the same size blended over it (jet, alpha by value). */
export function drawOverlay(
  target: HTMLCanvasElement,
  image: Float32Array,
  channels: number,
  heat: Float32Array,
  height: number,
  width: number,
  map: Colormap = 'jet',
): void {
  const ctx = target.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(width, height);
  const px = img.data;
  const l = lut(map);
  for (let i = 0, n = height * width; i < n; i++) {
    const h = clamp01(heat[i]);
    const k = Math.round(h * 255) * 3;
    const a = 0.25 + 0.5 * h;
    for (let c = 0; c < 3; c++) {
      const base = image[i * channels + (channels === 1 ? 0 : c)] * 255;
      px[i * 4 + c] = (1 - a) * base + a * l[k + c];
    }
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
