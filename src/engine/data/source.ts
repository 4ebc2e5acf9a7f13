/**
 * Data sources as the spec writes them: a path (class folders, a folder of CIFAR batches, a folder of IDX files,
 * an IDX images file or a CSV manifest, told apart from the files) or {format, path, images, labels, masks}.
 * Paths are relative to the spec's folder. Which sources a task reads: classification all but manifests and
 * masks; multilabel class folders and CSV manifests; segmentation images with masks.
 */
import * as fs from 'fs';
import * as path from 'path';
import { IDX_IMAGES, detectFolderFormat } from '../../core/dataKind';
import type { DataSource } from '../../core/specSchema';
import type { Task } from '../../core/types';
import { type Split, openCifar } from './cifar';
import type { Dataset } from './dataset';
import { openImageFolder, openMultilabelFolder } from './folder';
import { openIdx } from './idx';
import { openManifest } from './manifest';
import type { MaskSpec } from './mask';
import { openSegmentation } from './segmentation';

export type { Split } from './cifar';
export type { DataFormat } from '../../core/dataKind';
export { detectFolderFormat } from '../../core/dataKind';

export interface SourceOptions {
  /** The spec's folder: relative paths start there. */
  baseDir: string;
  /** Which split of a CIFAR or IDX folder to take. */
  split: Split;
  /** The spec key, for messages: "train", "validation", "test". */
  role: string;
  /** The training classes, for validation and test data. */
  classNames?: readonly string[];
  /** What the data is for (default classification): which formats fit and how class folders are read. */
  task?: Task;
  /** Segmentation: the class names and how mask values become classes. */
  segmentation?: { classNames: readonly string[]; mask: MaskSpec };
}

/** A located source: what to open. */
export type ResolvedSource =
  | { format: 'folder'; dir: string }
  | { format: 'cifar10' | 'cifar100'; dir: string }
  | { format: 'idx'; images: string; labels: string }
  | { format: 'csv'; file: string }
  | { format: 'segmentation'; images: string; masks: string };

function shower(baseDir: string): (abs: string) => string {
  return (abs) => {
    const rel = path.relative(baseDir, abs);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : abs;
  };
}

/** What is at `abs`, symbolic links followed; undefined when nothing is. Throws for a loop of links. */
async function kind(abs: string): Promise<'file' | 'directory' | undefined> {
  try {
    const st = await fs.promises.stat(abs);
    return st.isDirectory() ? 'directory' : 'file';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP')
      throw new Error(
        `Data path "${abs}" is a symbolic link in a loop of links (it never leads to a file or folder): fix or remove it.`,
      );
    return undefined;
  }
}

async function existing(
  rel: string,
  options: SourceOptions,
  field: string,
): Promise<{ abs: string; kind: 'file' | 'directory' }> {
  const abs = path.resolve(options.baseDir, rel);
  const k = await kind(abs);
  if (!k)
    throw new Error(
      `Data path "${rel}" (data.${options.role}${field}) does not exist (looked for ${abs}): fix the path; it is relative to the spec's folder.`,
    );
  return { abs, kind: k };
}

/** The labels file next to an IDX images file: "images" -> "labels" and idx3 -> idx1 in its name. */
export async function idxLabelsFor(imagesFile: string): Promise<string> {
  const dir = path.dirname(imagesFile);
  const name = path.basename(imagesFile);
  if (!name.includes('images')) {
    throw new Error(
      `Cannot tell the labels file of IDX images file "${imagesFile}" (its name has no "images"): give {"format": "idx", "images": ..., "labels": ...}.`,
    );
  }
  const swapped = name.replace('images', 'labels');
  const candidates = [...new Set([swapped.replace(/idx[34]/, 'idx1'), swapped])];
  for (const candidate of candidates) {
    if ((await kind(path.join(dir, candidate))) === 'file') return path.join(dir, candidate);
  }
  throw new Error(
    `No labels file for IDX images file "${imagesFile}" (looked for ${candidates.join(', ')} next to it): add it, or give {"format": "idx", "images": ..., "labels": ...}.`,
  );
}

/** The IDX images file of a split in a folder of IDX files (train-images-... / t10k-images-... or test-images-...). */
function idxImagesInFolder(fileNames: readonly string[], split: Split): string | undefined {
  const candidates = fileNames.filter((f) => IDX_IMAGES.test(f));
  const prefixes = split === 'train' ? ['train'] : ['t10k', 'test'];
  return candidates.find((f) => prefixes.some((p) => f.toLowerCase().startsWith(p)));
}

const isCsv = (file: string): boolean => file.toLowerCase().endsWith('.csv');

/** An images folder and a masks folder (segmentation), both checked to be folders. */
async function resolveSegmentation(
  spec: { images?: string; masks?: string; path?: string; format?: string; labels?: string },
  options: SourceOptions,
): Promise<ResolvedSource> {
  const example = '{"images": "data/train/images", "masks": "data/train/masks"}';
  if (spec.path !== undefined || spec.labels !== undefined)
    throw new Error(
      `data.${options.role} is segmentation data (it gives "masks" or "format": "segmentation"): give only "images" and "masks" folders, e.g. ${example}.`,
    );
  if (spec.images === undefined || spec.masks === undefined)
    throw new Error(
      `data.${options.role} is segmentation data without "${spec.images === undefined ? 'images' : 'masks'}": give both, e.g. ${example}.`,
    );
  const images = await existing(spec.images, options, '.images');
  const masks = await existing(spec.masks, options, '.masks');
  for (const [field, found, rel] of [
    ['images', images, spec.images],
    ['masks', masks, spec.masks],
  ] as const) {
    if (found.kind !== 'directory')
      throw new Error(`data.${options.role}.${field} "${rel}" is a file: give the folder of the ${field}.`);
  }
  return { format: 'segmentation', images: images.abs, masks: masks.abs };
}

/** Where a source's data is and in which format; throws a clear Error for a missing path. */
export async function resolveSource(source: DataSource, options: SourceOptions): Promise<ResolvedSource> {
  const spec = typeof source === 'string' ? { path: source } : source;
  // Images without masks in a segmentation spec are segmentation data missing its masks, not IDX data.
  if (
    spec.masks !== undefined ||
    spec.format === 'segmentation' ||
    (options.task === 'segmentation' && spec.images !== undefined && spec.format === undefined)
  )
    return resolveSegmentation(spec, options);
  if (spec.images !== undefined || spec.labels !== undefined || (spec.format === 'idx' && spec.path === undefined)) {
    if (spec.format !== undefined && spec.format !== 'idx') {
      throw new Error(
        `data.${options.role} gives "images"/"labels", which are for IDX files, but "format" is "${spec.format}": use "path" for ${spec.format} data.`,
      );
    }
    const imagesRel = spec.images ?? spec.path;
    if (imagesRel === undefined)
      throw new Error(
        `data.${options.role} is IDX data without an images file: add "images": "train-images-idx3-ubyte.gz" (its path).`,
      );
    const images = await existing(imagesRel, options, '.images');
    if (images.kind !== 'file')
      throw new Error(`data.${options.role}.images "${imagesRel}" is a folder: give the IDX images file.`);
    const labels =
      spec.labels !== undefined
        ? (await existing(spec.labels, options, '.labels')).abs
        : await idxLabelsFor(images.abs);
    return { format: 'idx', images: images.abs, labels };
  }
  if (spec.path === undefined)
    throw new Error(`data.${options.role} has no "path": give the folder or file of the data.`);
  const where = typeof source === 'string' ? '' : '.path';
  const { abs, kind: k } = await existing(spec.path, options, where);
  if (spec.format === 'csv' || (spec.format === undefined && k === 'file' && isCsv(spec.path))) {
    if (k !== 'file')
      throw new Error(`data.${options.role}${where} "${spec.path}" is a folder: give the CSV manifest file.`);
    return { format: 'csv', file: abs };
  }
  if (k === 'file') {
    if (spec.format !== undefined && spec.format !== 'idx') {
      throw new Error(
        `data.${options.role}${where} "${spec.path}" is a file but ${spec.format} data is a folder: give the folder.`,
      );
    }
    return { format: 'idx', images: abs, labels: await idxLabelsFor(abs) };
  }
  const fileNames = await fs.promises.readdir(abs);
  const format = spec.format ?? detectFolderFormat(fileNames);
  if (format === 'idx') {
    const images = idxImagesInFolder(fileNames, options.split);
    if (!images) {
      throw new Error(
        `Folder "${spec.path}" has no IDX images file for the ${options.split} split (${options.split === 'train' ? 'train-images-idx3-ubyte[.gz]' : 't10k-images-idx3-ubyte[.gz]'}): give the images file's path.`,
      );
    }
    const imagesFile = path.join(abs, images);
    return { format: 'idx', images: imagesFile, labels: await idxLabelsFor(imagesFile) };
  }
  return { format, dir: abs };
}

const FITS: Record<Task, readonly ResolvedSource['format'][]> = {
  classification: ['folder', 'idx', 'cifar10', 'cifar100'],
  multilabel: ['folder', 'csv'],
  segmentation: ['segmentation'],
};

/** Why a source of `format` cannot feed `task`, and what to change. */
function misfit(format: ResolvedSource['format'], task: Task, role: string): Error {
  const what = {
    folder: 'class folders',
    idx: 'IDX files',
    cifar10: 'CIFAR-10 batches',
    cifar100: 'CIFAR-100 batches',
    csv: 'a CSV manifest',
    segmentation: 'images with masks',
  }[format];
  const fix = {
    classification:
      format === 'csv'
        ? 'set "task": "multilabel" (a CSV manifest gives each image a set of labels)'
        : 'set "task": "segmentation" (masks give a class per pixel)',
    multilabel: `give a CSV manifest ("data/${role}.csv": image path, then the labels) or class folders`,
    segmentation: `give {"images": "data/${role}/images", "masks": "data/${role}/masks"} (a PNG mask per image)`,
  }[task];
  return new Error(`data.${role} is ${what}, which task ${task} cannot train on: ${fix}.`);
}

/** Opens a source (lists its examples; decodes nothing). Errors say what to change. */
export async function openSource(source: DataSource, options: SourceOptions): Promise<Dataset> {
  const resolved = await resolveSource(source, options);
  const task = options.task ?? 'classification';
  if (!FITS[task].includes(resolved.format)) throw misfit(resolved.format, task, options.role);
  const common = { show: shower(options.baseDir), classNames: options.classNames };
  switch (resolved.format) {
    case 'folder':
      return task === 'multilabel' ? openMultilabelFolder(resolved.dir, common) : openImageFolder(resolved.dir, common);
    case 'idx':
      return openIdx(resolved.images, resolved.labels, common);
    case 'cifar10':
    case 'cifar100':
      return openCifar(resolved.dir, resolved.format, options.split, common);
    case 'csv':
      return openManifest(resolved.file, common);
    case 'segmentation': {
      if (!options.segmentation)
        throw new Error(
          `data.${options.role} is segmentation data: give "classes" (or data.classList) to read its masks.`,
        );
      return openSegmentation(resolved.images, resolved.masks, { show: common.show, ...options.segmentation });
    }
  }
}
