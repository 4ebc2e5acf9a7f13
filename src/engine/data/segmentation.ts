/**
 * Segmentation data: a folder of images (flat, sorted by name) and a folder of masks, the mask of `a.jpg` being
 * `a.png`. Images are read as in class folders (stretched to the input size); masks as label maps (./mask.ts),
 * resized by nearest neighbour to the same size, so image and mask stay aligned.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Dataset, Pixels, Size } from './dataset';
import { decodeImage } from './decode';
import { isImageFile } from './folder';
import { type MaskSpec, decodeMask, resizeNearest } from './mask';

export interface SegmentationOptions {
  /** How a path appears in messages (relative to the spec's folder). */
  show(abs: string): string;
  classNames: readonly string[];
  mask: MaskSpec;
}

const MAX_LISTED = 5;
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The mask file of an image: the same base name with extension .png, in `masksDir`. */
export function maskFileFor(image: string, masksDir: string): string {
  return path.join(masksDir, `${path.basename(image, path.extname(image))}.png`);
}

/** Lists the images and their masks; throws, naming them, for no images or missing masks (decodes nothing). */
export async function openSegmentation(
  imagesDir: string,
  masksDir: string,
  options: SegmentationOptions,
): Promise<Dataset> {
  const { show } = options;
  const names = (await fs.promises.readdir(imagesDir, { withFileTypes: true }))
    .filter((e) => !e.name.startsWith('.') && isImageFile(e.name) && !e.isDirectory())
    .map((e) => e.name)
    .sort(byName);
  if (names.length === 0)
    throw new Error(
      `Images folder "${show(imagesDir)}" has no images (PNG, JPEG, WebP, GIF, TIFF) directly in it: put the images there, their masks in "${show(masksDir)}".`,
    );
  const images = names.map((n) => path.join(imagesDir, n));
  const masks = images.map((image) => maskFileFor(image, masksDir));
  const missing = masks.filter((m) => !fs.existsSync(m));
  if (missing.length > 0)
    throw new Error(
      `${missing.length} image(s) of "${show(imagesDir)}" have no mask: ${missing
        .slice(0, MAX_LISTED)
        .map(show)
        .join(
          ', ',
        )}${missing.length > MAX_LISTED ? ', ...' : ''} not found. Add the masks (same name as the image, extension .png) or remove those images.`,
    );
  return {
    description: `${show(imagesDir)} with masks ${show(masksDir)}`,
    classNames: options.classNames,
    length: images.length,
    label: () => 0,
    location: (i) => images[i],
    maskLocation: (i) => masks[i],
    read: async (i: number, size: Size): Promise<Pixels> => decodeImage(fs.readFileSync(images[i]), size),
    readMask: async (i: number, size: Size): Promise<Int16Array> =>
      resizeNearest(decodeMask(fs.readFileSync(masks[i]), show(masks[i]), options.mask), size),
    close: async () => undefined,
  };
}
