/**
 * Segmentation masks: PNG label maps read to a class index per pixel. A grayscale or palette PNG holds the class
 * index as its pixel value (the Pascal VOC convention, 255 usually marking pixels to ignore); an RGB(A) PNG is
 * matched against the class colours of data.classList. Masks are resized by nearest neighbour, so a pixel keeps
 * a class (never a blend of two).
 */
import { decode as decodePng } from 'fast-png';
import type { Size } from './dataset';

/** How mask pixel values become classes. */
export interface MaskSpec {
  classes: number;
  /** The mask value (or, in an RGB mask, the gray level) that marks pixels to ignore: -1 in the targets. */
  ignoreIndex?: number;
  /** The colour of each class as 0xRRGGBB (data.classList), for RGB masks. */
  colors?: readonly number[];
}

/** A mask at its own size: the class per pixel, -1 for ignored pixels. */
export interface LabelMap {
  classes: Int16Array;
  height: number;
  width: number;
}

/** "#rrggbb" as 0xRRGGBB. */
export function parseColor(hex: string): number {
  if (!/^#[0-9a-fA-F]{6}$/.test(hex)) throw new Error(`colour "${hex}" is not "#rrggbb": write it as e.g. "#ff8000".`);
  return parseInt(hex.slice(1), 16);
}

/**
 * A colour per class, for classes without data.classList: the Pascal VOC palette (the bits of the class index
 * spread over the high bits of R, G and B), so class 0 is black and neighbouring classes differ clearly.
 */
export function defaultPalette(classes: number): string[] {
  return Array.from({ length: classes }, (_, index) => {
    const rgb = [0, 0, 0];
    let c = index;
    for (let bit = 7; bit >= 0 && c > 0; bit--, c >>= 3) {
      for (let k = 0; k < 3; k++) rgb[k] |= ((c >> k) & 1) << bit;
    }
    return `#${rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  });
}

/** Samples of a PNG with fewer than 8 bits each (rows padded to whole bytes), one per array element. */
function unpackBits(data: ArrayLike<number>, width: number, height: number, depth: number): ArrayLike<number> {
  if (depth >= 8) return data;
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      out[y * width + x] = (data[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

function valueError(file: string, value: number, at: number, width: number, spec: MaskSpec): Error {
  const ignore = spec.ignoreIndex !== undefined ? ` and ${spec.ignoreIndex} is ignored (data.ignoreIndex)` : '';
  return new Error(
    `mask "${file}" has value ${value} (row ${Math.floor(at / width)}, column ${at % width}), but the classes are 0 to ${spec.classes - 1}${ignore}: fix the mask, raise "classes", or set data.ignoreIndex to ${value} if it marks pixels to ignore.`,
  );
}

/** The class of a mask value: itself, -1 for the ignore index; throws for a value that is no class. */
function classOfValue(value: number, at: number, width: number, file: string, spec: MaskSpec): number {
  if (value === spec.ignoreIndex) return -1;
  if (value >= spec.classes) throw valueError(file, value, at, width, spec);
  return value;
}

/**
 * The class of an RGB mask pixel: by its colour in data.classList, else a gray level read as a mask value (a
 * label map saved as RGB, as some tools do).
 */
function classOfColor(
  rgb: number,
  at: number,
  width: number,
  file: string,
  spec: MaskSpec,
  byColor: Map<number, number>,
): number {
  const found = byColor.get(rgb);
  if (found !== undefined) return found;
  const [r, g, b] = [rgb >> 16, (rgb >> 8) & 255, rgb & 255];
  if (r === g && g === b) return classOfValue(r, at, width, file, spec);
  const colour = `#${rgb.toString(16).padStart(6, '0')}`;
  throw new Error(
    spec.colors === undefined
      ? `mask "${file}" is in colour (${colour} at row ${Math.floor(at / width)}, column ${at % width}): give data.classList with the colour of each class, or save the masks as grayscale label maps (pixel value = class index).`
      : `mask "${file}" has colour ${colour} (row ${Math.floor(at / width)}, column ${at % width}), which is no class colour of data.classList: repaint it, or add the class with that colour to data.classList.`,
  );
}

/** Decodes a PNG mask to a class per pixel; throws, saying what to fix, for a corrupt file or a value that is no class. */
export function decodeMask(encoded: Uint8Array, file: string, spec: MaskSpec): LabelMap {
  let png: ReturnType<typeof decodePng>;
  try {
    png = decodePng(encoded);
  } catch (e) {
    throw new Error(`mask "${file}" is not a readable PNG (${(e as Error).message}): replace it with a PNG label map.`);
  }
  const { width, height, channels, depth } = png;
  const n = width * height;
  const out = new Int16Array(n);
  if (channels <= 2) {
    // Grayscale (with alpha) or palette: the sample is the class index; alpha is not part of the label.
    const samples = channels === 1 ? unpackBits(png.data, width, height, depth) : png.data;
    for (let p = 0; p < n; p++) out[p] = classOfValue(samples[p * channels], p, width, file, spec);
    return { classes: out, height, width };
  }
  if (depth !== 8)
    throw new Error(`mask "${file}" is a ${depth}-bit colour PNG: save colour masks with 8 bits per channel.`);
  const byColor = new Map<number, number>();
  spec.colors?.forEach((c, index) => {
    if (!byColor.has(c)) byColor.set(c, index);
  });
  const data = png.data;
  for (let p = 0; p < n; p++) {
    const s = p * channels;
    out[p] = classOfColor((data[s] << 16) | (data[s + 1] << 8) | data[s + 2], p, width, file, spec, byColor);
  }
  return { classes: out, height, width };
}

/**
 * `map` resized to `size` by nearest neighbour: output pixel (y, x) takes the source pixel under its centre,
 * floor((y + 0.5)·H/h) (PIL's NEAREST). The same array when the size already matches.
 */
export function resizeNearest(map: LabelMap, size: Size): Int16Array {
  if (map.height === size.height && map.width === size.width) return map.classes;
  const out = new Int16Array(size.height * size.width);
  const sx = new Int32Array(size.width);
  for (let x = 0; x < size.width; x++)
    sx[x] = Math.min(map.width - 1, Math.floor(((x + 0.5) * map.width) / size.width));
  for (let y = 0; y < size.height; y++) {
    const row = Math.min(map.height - 1, Math.floor(((y + 0.5) * map.height) / size.height)) * map.width;
    for (let x = 0; x < size.width; x++) out[y * size.width + x] = map.classes[row + sx[x]];
  }
  return out;
}
