/**
 * Per-example preprocessing to the spec's input: decode and resize (in the source), channel conversion, scaling
 * to [0, 1], augmentation (training only) and per-channel normalisation. Arrays are HWC float32.
 */
import type { InputShape } from '../../core/types';
import type { Dataset, Pixels, Size } from './dataset';
import { Rng } from './rng';

export interface Normalization {
  mean: number[];
  std: number[];
}

export interface Augmentation {
  /** Zero padding before the random crop back to the input size; 0 = no crop. */
  padding: number;
  horizontalFlip: boolean;
}

/** Where one augmented copy is cut from and whether it is mirrored. */
export interface AugmentParams {
  dx: number;
  dy: number;
  flip: boolean;
}

/**
 * Pixels to floats in [0, 1] with `channels` channels: grayscale is repeated to RGB, RGB becomes grayscale with
 * the ITU-R 601-2 luma (L = 0.299 R + 0.587 G + 0.114 B, as PIL's convert("L") and torchvision).
 */
export function toFloat(pixels: Pixels, channels: number): Float32Array {
  const { data, maxValue } = pixels;
  const n = pixels.height * pixels.width;
  const out = new Float32Array(n * channels);
  if (pixels.channels === channels) {
    for (let i = 0; i < out.length; i++) out[i] = data[i] / maxValue;
  } else if (pixels.channels === 1 && channels === 3) {
    for (let p = 0; p < n; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = data[p] / maxValue;
  } else if (pixels.channels === 3 && channels === 1) {
    // Integer weights keep gray pixels (R = G = B) exact.
    const scale = 1000 * maxValue;
    for (let p = 0; p < n; p++) out[p] = (299 * data[3 * p] + 587 * data[3 * p + 1] + 114 * data[3 * p + 2]) / scale;
  } else {
    throw new Error(`cannot convert ${pixels.channels}-channel pixels to ${channels} channel(s)`);
  }
  return out;
}

/** Reads example `index` of `dataset` as floats in [0, 1] at the input's size and channels. */
export async function loadExample(dataset: Dataset, index: number, input: InputShape): Promise<Float32Array> {
  return toFloat(await dataset.read(index, input), input.channels);
}

/** Draws the crop offsets (in [0, 2·padding]) and flip of one example. */
export function drawAugmentParams(rng: Rng, augmentation: Augmentation): AugmentParams {
  const range = 2 * augmentation.padding + 1;
  const dy = augmentation.padding > 0 ? rng.int(range) : augmentation.padding;
  const dx = augmentation.padding > 0 ? rng.int(range) : augmentation.padding;
  const flip = augmentation.horizontalFlip ? rng.next() < 0.5 : false;
  return { dx, dy, flip };
}

/**
 * torchvision's RandomCrop(size, padding) then RandomHorizontalFlip, on an HWC image: the image is zero-padded
 * by `padding` on each side, the input-sized window at (dy, dx) of the padded image is kept, then mirrored.
 */
export function augment(src: Float32Array, input: InputShape, padding: number, params: AugmentParams): Float32Array {
  const { height: h, width: w, channels: c } = input;
  if (params.dx === padding && params.dy === padding && !params.flip) return src;
  const out = new Float32Array(src.length);
  for (let y = 0; y < h; y++) {
    const sy = y + params.dy - padding;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < w; x++) {
      const sx = (params.flip ? w - 1 - x : x) + params.dx - padding;
      if (sx < 0 || sx >= w) continue;
      const o = (y * w + x) * c;
      const s = (sy * w + sx) * c;
      for (let k = 0; k < c; k++) out[o + k] = src[s + k];
    }
  }
  return out;
}

/**
 * `augment` for a segmentation mask (H·W classes): the same crop window and mirror as the image with the same
 * params, so every pixel keeps its class; the zero-padding area becomes -1 (ignored).
 */
export function augmentMask(mask: Int16Array, size: Size, padding: number, params: AugmentParams): Int16Array {
  const { height: h, width: w } = size;
  if (params.dx === padding && params.dy === padding && !params.flip) return mask;
  const out = new Int16Array(mask.length).fill(-1);
  for (let y = 0; y < h; y++) {
    const sy = y + params.dy - padding;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < w; x++) {
      const sx = (params.flip ? w - 1 - x : x) + params.dx - padding;
      if (sx >= 0 && sx < w) out[y * w + x] = mask[sy * w + sx];
    }
  }
  return out;
}

/** (x - mean[c]) / std[c] for every pixel, in place. */
export function normalizeInPlace(x: Float32Array, normalization: Normalization): void {
  const c = normalization.mean.length;
  const inv = normalization.std.map((s) => 1 / s);
  for (let i = 0; i < x.length; i++) {
    const k = i % c;
    x[i] = (x[i] - normalization.mean[k]) * inv[k];
  }
}

export interface NormalizationSampleOptions {
  /** At most this many images (default 1000). */
  samples?: number;
  seed?: number;
  concurrency?: number;
  onSkip?: (file: string, reason: string) => void;
}

/**
 * Per-channel mean and (population) standard deviation of [0, 1] pixels over a seeded sample of the dataset's
 * images, before augmentation: what data.normalize "auto" uses. A channel with no spread gets std 1.
 */
export async function computeNormalization(
  dataset: Dataset,
  input: InputShape,
  options: NormalizationSampleOptions = {},
): Promise<Normalization> {
  const count = Math.min(options.samples ?? 1000, dataset.length);
  const order = new Rng(options.seed ?? 0).shuffle(Uint32Array.from({ length: dataset.length }, (_, i) => i));
  const c = input.channels;
  // Per-image sums, added up in sample order at the end so the result does not depend on decode timing.
  const sums = new Float64Array(count * c);
  const sumsSq = new Float64Array(count * c);
  const pixelCounts = new Float64Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const position = next++;
      const index = order[position];
      let x: Float32Array;
      try {
        x = await loadExample(dataset, index, input);
      } catch (e) {
        options.onSkip?.(dataset.location(index), (e as Error).message);
        continue;
      }
      for (let i = 0; i < x.length; i++) {
        sums[position * c + (i % c)] += x[i];
        sumsSq[position * c + (i % c)] += x[i] * x[i];
      }
      pixelCounts[position] = x.length / c;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  let pixels = 0;
  for (let position = 0; position < count; position++) {
    pixels += pixelCounts[position];
    for (let k = 0; k < c; k++) {
      sum[k] += sums[position * c + k];
      sumSq[k] += sumsSq[position * c + k];
    }
  }
  if (pixels === 0)
    throw new Error(
      `No image of ${dataset.description} could be read to compute the normalisation: check the images, or set data.normalize to "none" or {"mean", "std"}.`,
    );
  const mean = Array.from(sum, (s) => s / pixels);
  const std = Array.from(sumSq, (s, k) => Math.sqrt(Math.max(0, s / pixels - mean[k] * mean[k])) || 1);
  return { mean, std };
}
