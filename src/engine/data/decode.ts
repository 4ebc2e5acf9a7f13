/** Image decoding and resizing with sharp (libvips): every format the folder source accepts, 8 and 16 bit. */
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
  const image = sharp(encoded).resize(size.width, size.height, RESIZE).removeAlpha();
  const sixteenBit = await isSixteenBit(encoded, image);
  if (sixteenBit) image.toColourspace('rgb16');
  const { data, info } = await image.raw(sixteenBit ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  return pixelsOf(data, info, sixteenBit);
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
