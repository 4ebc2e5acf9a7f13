/**
 * Image decoding and resizing with sharp (libvips): every format the folder source accepts, 8 and 16 bit. Plain
 * 8-bit PNGs already at the model's size (MNIST-like folders) are decoded by fast-png instead: the same pixels
 * for about a tenth of the CPU time, since libvips' per-image set-up dominates for such small images.
 */
import { decode as decodePng } from 'fast-png';
import sharp, { type OutputInfo, type ResizeOptions, type Sharp } from 'sharp';
import type { Pixels, Size } from './dataset';

const RESIZE: ResizeOptions = { fit: 'fill', kernel: 'linear' };

function pixelsOf(data: Buffer, info: OutputInfo, sixteenBit: boolean): Pixels {
  let values: Uint8Array | Uint16Array = data;
  if (sixteenBit) {
    const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
    values = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2);
  }
  return {
    data: values,
    height: info.height,
    width: info.width,
    channels: info.channels,
    maxValue: sixteenBit ? 65535 : 255,
  };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Whether the image has 16 bits per sample: PNG and TIFF can; JPEG, WebP and GIF are 8-bit. */
async function isSixteenBit(encoded: Buffer, image: Sharp): Promise<boolean> {
  // A PNG's IHDR chunk comes first: its bit depth is byte 24 (no need for a metadata pass through libvips).
  if (encoded.length > 24 && encoded.subarray(0, 8).equals(PNG_SIGNATURE)) return encoded[24] === 16;
  const tiff =
    encoded.length > 4 &&
    ((encoded[0] === 0x49 && encoded[1] === 0x49) || (encoded[0] === 0x4d && encoded[1] === 0x4d));
  return tiff && (await image.metadata()).depth === 'ushort';
}

/**
 * Decodes an encoded image (PNG, JPEG, WebP, GIF, TIFF; the first frame of animations) to RGB at `size`,
 * stretched as Keras' `image_dataset_from_directory` does (no resampling when the size already matches).
 * Alpha is dropped; grayscale comes back as three equal channels; 16-bit images keep their 16 bits. Rejects
 * for a corrupt or truncated file.
 */
export async function decodeImage(encoded: Buffer, size: Size): Promise<Pixels> {
  if (isPlainPng(encoded, size)) return plainPngPixels(encoded);
  const image = sharp(encoded).resize(size.width, size.height, RESIZE).removeAlpha();
  const sixteenBit = await isSixteenBit(encoded, image);
  if (sixteenBit) image.toColourspace('rgb16');
  const { data, info } = await image.raw(sixteenBit ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  return pixelsOf(data, info, sixteenBit);
}

/** Chunks that change no pixel value (no colour profile, gamma, chromaticities or transparency). */
const PLAIN_CHUNKS = new Set(['IHDR', 'IDAT', 'IEND', 'pHYs', 'tEXt', 'zTXt', 'iTXt', 'tIME', 'bKGD']);

/**
 * Whether `encoded` is a PNG that libvips would neither resize nor colour-convert: `size` already, 8 bits per
 * sample, grayscale or RGB with or without alpha (no palette), not interlaced, and only chunks of PLAIN_CHUNKS.
 */
export function isPlainPng(encoded: Buffer, size: Size): boolean {
  if (encoded.length < 33 || !encoded.subarray(0, 8).equals(PNG_SIGNATURE)) return false;
  if (encoded.toString('latin1', 12, 16) !== 'IHDR') return false;
  const [width, height] = [encoded.readUInt32BE(16), encoded.readUInt32BE(20)];
  const [depth, colour, interlace] = [encoded[24], encoded[25], encoded[28]];
  if (width !== size.width || height !== size.height || depth !== 8 || interlace !== 0) return false;
  if (![0, 2, 4, 6].includes(colour)) return false;
  for (let at = 8; at + 8 <= encoded.length;) {
    const type = encoded.toString('latin1', at + 4, at + 8);
    if (!PLAIN_CHUNKS.has(type)) return false;
    if (type === 'IEND') return true;
    at += 12 + encoded.readUInt32BE(at);
  }
  return false; // no IEND: truncated, let libvips report it
}

/** A plain PNG (isPlainPng) as sharp gives it: RGB, alpha dropped, grayscale as three equal channels. */
function plainPngPixels(encoded: Buffer): Pixels {
  const png = decodePng(encoded);
  const { width, height, channels } = png;
  const data = png.data;
  if (!(data instanceof Uint8Array) || data.length !== width * height * channels)
    throw new Error(`corrupt PNG: ${data.length} samples for ${width}x${height}x${channels}`);
  const rgb = new Uint8Array(width * height * 3);
  const colour = channels >= 3;
  for (let i = 0, o = 0; o < rgb.length; i += channels, o += 3) {
    rgb[o] = data[i];
    rgb[o + 1] = data[colour ? i + 1 : i];
    rgb[o + 2] = data[colour ? i + 2 : i];
  }
  return { data: rgb, height, width, channels: 3, maxValue: 255 };
}

/** Resizes 8-bit raw pixels (IDX, CIFAR) to `size` with a bilinear filter; the channel count is kept. */
export async function resizePixels(pixels: Pixels, size: Size): Promise<Pixels> {
  if (pixels.width === size.width && pixels.height === size.height) return pixels;
  const { data, info } = await sharp(pixels.data, {
    raw: { width: pixels.width, height: pixels.height, channels: pixels.channels as 1 | 3 },
  })
    .resize(size.width, size.height, RESIZE)
    .toColourspace(pixels.channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return pixelsOf(data, info, false);
}
