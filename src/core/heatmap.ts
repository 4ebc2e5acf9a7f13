/**
 * Maps over an image, pure (the feature maps page draws with it): colour maps as 256-entry lookup tables, bilinear
 * upsampling of a small map to the image's size, and the blend of a coloured map over the image at an opacity.
 */

export type Colormap = 'viridis' | 'jet' | 'gray';
export const COLORMAPS: readonly Colormap[] = ['viridis', 'jet', 'gray'];

export const isColormap = (v: unknown): v is Colormap => typeof v === 'string' && (COLORMAPS as string[]).includes(v);

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

/** The colour of `t` in [0, 1] (clamped) as [r, g, b] in [0, 1]. */
export function colormapRgb(map: Colormap, t: number): [number, number, number] {
  const x = clamp01(t);
  if (map === 'gray') return [x, x, x];
  if (map === 'jet')
    return [clamp01(1.5 - Math.abs(4 * x - 3)), clamp01(1.5 - Math.abs(4 * x - 2)), clamp01(1.5 - Math.abs(4 * x - 1))];
  const c = (k: number) =>
    clamp01(V[0][k] + x * (V[1][k] + x * (V[2][k] + x * (V[3][k] + x * (V[4][k] + x * (V[5][k] + x * V[6][k]))))));
  return [c(0), c(1), c(2)];
}

const luts = new Map<Colormap, Uint8ClampedArray>();

/** 256 RGB entries (index i is the colour of i / 255), built once per colour map. */
export function colormapLut(map: Colormap): Uint8ClampedArray {
  let lut = luts.get(map);
  if (!lut) {
    lut = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) {
      const rgb = colormapRgb(map, i / 255);
      for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(rgb[c] * 255);
    }
    luts.set(map, lut);
  }
  return lut;
}

/**
 * Channel `channel` of an HWC map (`channels` wide, `height` × `width`) resized to `outHeight` × `outWidth` by
 * bilinear interpolation with half-pixel centres (align_corners = false, as tf.image.resizeBilinear with
 * halfPixelCenters and PyTorch's interpolate): output pixel (y, x) samples the map at ((y + 0.5) · h / H − 0.5,
 * (x + 0.5) · w / W − 0.5), clamped at the edges, so each map cell stays centred over the pixels it covers.
 */
export function bilinearResize(
  map: ArrayLike<number>,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
  channels = 1,
  channel = 0,
): Float32Array {
  if (map.length < height * width * channels)
    throw new Error(`The map has ${map.length} values, fewer than ${height}×${width}×${channels}`);
  const out = new Float32Array(outHeight * outWidth);
  const at = (y: number, x: number) => map[(y * width + x) * channels + channel];
  const sy = height / outHeight;
  const sx = width / outWidth;
  for (let y = 0; y < outHeight; y++) {
    const fy = Math.min(height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(height - 1, y0 + 1);
    const dy = fy - y0;
    for (let x = 0; x < outWidth; x++) {
      const fx = Math.min(width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(width - 1, x0 + 1);
      const dx = fx - x0;
      const top = at(y0, x0) * (1 - dx) + at(y0, x1) * dx;
      const bottom = at(y1, x0) * (1 - dx) + at(y1, x1) * dx;
      out[y * outWidth + x] = top * (1 - dy) + bottom * dy;
    }
  }
  return out;
}

/** An HWC image scaled up `factor` times by repeating each pixel (its pixels stay sharp squares). */
export function nearestUpscale(
  image: ArrayLike<number>,
  height: number,
  width: number,
  channels: number,
  factor: number,
): Float32Array {
  const f = Math.max(1, Math.floor(factor));
  const outW = width * f;
  const out = new Float32Array(height * f * outW * channels);
  for (let y = 0; y < height * f; y++)
    for (let x = 0; x < outW; x++) {
      const src = (Math.floor(y / f) * width + Math.floor(x / f)) * channels;
      const dst = (y * outW + x) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = image[src + c];
    }
  return out;
}

/** The smallest and largest finite values of `values` ([0, 0] when there are none). */
export function valueRange(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

export interface OverlayOptions {
  /** HWC image in [0, 1], 1 or 3 channels. */
  image: ArrayLike<number>;
  channels: number;
  /** H × W map, the image's size. */
  map: ArrayLike<number>;
  /** The map's values drawn as the colour map's ends (a flat range draws as its low end). */
  lo: number;
  hi: number;
  /** 0 (the image alone) … 1 (the coloured map alone). */
  opacity: number;
  colormap: Colormap;
}

/** RGBA pixels (H × W × 4) of the coloured map blended over the image at `opacity`. */
export function blendOverlay(o: OverlayOptions): Uint8ClampedArray {
  const n = o.map.length;
  if (o.image.length < n * o.channels)
    throw new Error(`The image has ${o.image.length} values, fewer than the map's ${n} pixels × ${o.channels}`);
  const lut = colormapLut(o.colormap);
  const a = clamp01(o.opacity);
  const scale = o.hi > o.lo ? 255 / (o.hi - o.lo) : 0;
  const px = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const k = scale === 0 ? 0 : Math.max(0, Math.min(255, Math.round((o.map[i] - o.lo) * scale))) * 3;
    for (let c = 0; c < 3; c++) {
      const base = o.image[i * o.channels + (o.channels === 1 ? 0 : c)] * 255;
      px[i * 4 + c] = Math.round((1 - a) * base + a * lut[k + c]);
    }
    px[i * 4 + 3] = 255;
  }
  return px;
}

export interface MaskOverlayOptions {
  /** HWC image in [0, 1], 1 or 3 channels. */
  image: ArrayLike<number>;
  channels: number;
  /** H × W class indices, the image's size. */
  mask: ArrayLike<number>;
  /** The colour of each class, "#rrggbb". */
  colors: readonly string[];
  /** 0 (the image alone) … 1 (the class colours alone). */
  opacity: number;
  /** Only this class is coloured (the others show the image), when given. */
  only?: number;
}

/** RGBA pixels (H × W × 4) of a predicted mask's class colours blended over the image at `opacity`. */
export function blendMask(o: MaskOverlayOptions): Uint8ClampedArray {
  const n = o.mask.length;
  if (o.image.length < n * o.channels)
    throw new Error(`The image has ${o.image.length} values, fewer than the mask's ${n} pixels × ${o.channels}`);
  const rgb = o.colors.map((hex) => {
    const v = /^#[0-9a-fA-F]{6}$/.test(hex) ? parseInt(hex.slice(1), 16) : 0x808080;
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  });
  const a = clamp01(o.opacity);
  const px = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const k = o.mask[i];
    const color = o.only === undefined || o.only === k ? rgb[k] : undefined;
    for (let c = 0; c < 3; c++) {
      const base = o.image[i * o.channels + (o.channels === 1 ? 0 : c)] * 255;
      px[i * 4 + c] = Math.round(color ? (1 - a) * base + a * color[c] : base);
    }
    px[i * 4 + 3] = 255;
  }
  return px;
}
