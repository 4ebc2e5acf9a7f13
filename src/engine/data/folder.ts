/**
 * Class folders: one sub-folder per class, classes in plain string order of the folder names (the Keras and
 * DIGITS convention), hidden files and folders ignored, images found at any depth inside a class folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Dataset, Pixels, Size } from './dataset';
import { decodeImage } from './decode';

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'tif', 'tiff'] as const;
const EXTENSION_LIST = IMAGE_EXTENSIONS.join(', ');

export function isImageFile(name: string): boolean {
  const ext = path.extname(name).slice(1).toLowerCase();
  return (IMAGE_EXTENSIONS as readonly string[]).includes(ext);
}

const byName = (a: fs.Dirent, b: fs.Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

async function visibleEntries(dir: string): Promise<fs.Dirent[]> {
  const entries = await fs.promises.readdir(dir, { withFileTypes: true });
  return entries.filter((e) => !e.name.startsWith('.')).sort(byName);
}

/** Image files under `dir`, recursively, in a stable order. */
async function imageFiles(dir: string, out: string[]): Promise<string[]> {
  for (const entry of await visibleEntries(dir)) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await imageFiles(full, out);
    else if (entry.isFile() && isImageFile(entry.name)) out.push(full);
  }
  return out;
}

export interface FolderOptions {
  /** How a path appears in messages (relative to the spec's folder). */
  show(abs: string): string;
  /** The training classes, for validation and test folders: their folders map to these labels by name. */
  classNames?: readonly string[];
}

/** Lists the class folders of `dir`; throws an Error that says what to change when they hold no images. */
export async function openImageFolder(dir: string, options: FolderOptions): Promise<Dataset> {
  const entries = await visibleEntries(dir);
  const classDirs = entries.filter((e) => e.isDirectory()).map((e) => e.name);
  if (classDirs.length === 0) {
    const loose = entries.filter((e) => e.isFile() && isImageFile(e.name)).length;
    throw new Error(
      loose > 0
        ? `Data folder "${options.show(dir)}" holds ${loose} image(s) but no class sub-folders: move the images into one sub-folder per class (e.g. ${options.show(path.join(dir, 'cat'))}/1.png).`
        : `Data folder "${options.show(dir)}" has no class sub-folders and no CIFAR or IDX files: put the images in one sub-folder per class (${EXTENSION_LIST}), or point to CIFAR batches or an IDX file.`,
    );
  }
  const classNames = options.classNames ?? classDirs;
  const files: string[] = [];
  const labels: number[] = [];
  const empty: string[] = [];
  for (const name of classDirs) {
    const label = classNames.indexOf(name);
    if (label < 0) {
      throw new Error(
        `Class folder "${options.show(path.join(dir, name))}" is not one of the ${classNames.length} training classes (${classNames.join(', ')}): rename or remove it.`,
      );
    }
    const found = await imageFiles(path.join(dir, name), []);
    if (found.length === 0) empty.push(name);
    for (const file of found) {
      files.push(file);
      labels.push(label);
    }
  }
  if (files.length === 0) {
    throw new Error(
      `Data folder "${options.show(dir)}" has no images: its class folders (${classDirs.join(', ')}) hold no ${EXTENSION_LIST} files. Add images to them.`,
    );
  }
  if (empty.length > 0) {
    throw new Error(
      `Class folder "${options.show(path.join(dir, empty[0]))}" has no images (${EXTENSION_LIST}): add images or remove the folder.` +
        (empty.length > 1
          ? ` (${empty.length - 1} more class folder(s) are empty: ${empty.slice(1).join(', ')}.)`
          : ''),
    );
  }
  const labelArray = Int32Array.from(labels);
  return {
    description: `${options.show(dir)} (class folders)`,
    classNames,
    length: files.length,
    label: (i) => labelArray[i],
    location: (i) => files[i],
    read: async (i: number, size: Size): Promise<Pixels> => decodeImage(await fs.promises.readFile(files[i]), size),
    close: async () => undefined,
  };
}
