/**
 * What kind of dataset a folder holds, told from its listing and a few header bytes, as the engine reads it
 * (src/engine/data/source.ts uses the same rules): class folders of images, IDX files (MNIST, plain or .gz),
 * CIFAR-10/100 binary batches (multi-label manifests and segmentation masks: taskData.ts). Pure: the caller lists folders and reads bytes (the host through Node, tests a fake).
 */
import type { InputShape } from './types';

export type DataFormat = 'folder' | 'idx' | 'cifar10' | 'cifar100';

/** The image files the engine decodes. */
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'tif', 'tiff'] as const;

export function isImageName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && (IMAGE_EXTENSIONS as readonly string[]).includes(name.slice(dot + 1).toLowerCase());
}

/** An IDX images file: train-images-idx3-ubyte(.gz), t10k-images-idx3-ubyte(.gz). */
export const IDX_IMAGES = /images.*idx[34]-ubyte(\.gz)?$/i;

/** Guesses the format of a folder from its file names. */
export function detectFolderFormat(fileNames: readonly string[]): DataFormat {
  if (fileNames.some((f) => /^data_batch_\d+\.bin$/.test(f) || f === 'test_batch.bin')) return 'cifar10';
  if (fileNames.includes('train.bin') || fileNames.includes('test.bin')) return 'cifar100';
  if (fileNames.some((f) => IDX_IMAGES.test(f))) return 'idx';
  return 'folder';
}

export interface FolderListing {
  files: string[];
  /** Sub-folders, hidden ones left out. */
  dirs: string[];
}

/** What detection may ask: paths are relative to the chosen folder, "" being the folder itself, "/" between parts. */
export interface DataProbe {
  list(relative: string): FolderListing | undefined;
  /** The first `max` bytes of a file (a .gz file inflated), or undefined when it cannot be read. */
  read(relative: string, max: number): Uint8Array | undefined;
}

export interface DetectedData {
  /** How the engine reads it; `manifest`: a multi-label CSV; `masks`: images with their masks (segmentation). */
  format: DataFormat | 'manifest' | 'masks';
  /** The task the data is for, when it is not one class per image. */
  task?: 'multilabel' | 'segmentation';
  /** Paths relative to the chosen folder ("." for the folder itself): the images (or manifest) of each split. */
  train: string;
  validation?: string;
  test?: string;
  /** Segmentation: the masks folders of the splits. */
  masks?: { train: string; validation?: string; test?: string };
  /** Undefined for segmentation masks (their pixel values are the classes: the wizard asks). */
  classes?: number;
  /** The size and channels the data suggests, when one could be read. */
  input?: InputShape;
  /** One line for the user: "MNIST-style IDX files: 60000 images of 28x28x1, 10 classes". */
  description: string;
}

export type Detection = ({ ok: true } & DetectedData) | { ok: false; reason: string };

const join = (a: string, b: string) => (a === '' || a === '.' ? b : `${a}/${b}`);
const dot = (p: string) => (p === '' ? '.' : p);

/** Width, height and channels of a PNG or JPEG from its first bytes; undefined for other formats. */
export function imageShape(bytes: Uint8Array): InputShape | undefined {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 26 && png.every((b, i) => bytes[i] === b)) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const colorType = bytes[25];
    const channels = colorType === 0 || colorType === 4 ? 1 : 3;
    return { width: view.getUint32(16), height: view.getUint32(20), channels };
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) return undefined;
      const marker = bytes[i + 1];
      const length = (bytes[i + 2] << 8) | bytes[i + 3];
      const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (sof) {
        const height = (bytes[i + 5] << 8) | bytes[i + 6];
        const width = (bytes[i + 7] << 8) | bytes[i + 8];
        return { height, width, channels: bytes[i + 9] === 1 ? 1 : 3 };
      }
      if (length < 2) return undefined;
      i += 2 + length;
    }
  }
  return undefined;
}

/** Dimensions of an IDX file's header (unsigned bytes only), or undefined. */
export function idxDims(bytes: Uint8Array): number[] | undefined {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) return undefined;
  const n = bytes[3];
  if (n === 0 || bytes.length < 4 + 4 * n) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 4 + 4 * n);
  return Array.from({ length: n }, (_, d) => view.getUint32(4 + 4 * d));
}

/** The input size to suggest for images of `shape`: theirs up to 256 px, else 224 (they are resized). */
export function suggestedInput(shape: InputShape): InputShape {
  if (Math.max(shape.height, shape.width) <= 256 && Math.min(shape.height, shape.width) >= 8) return shape;
  return { height: 224, width: 224, channels: shape.channels };
}

const MAX_LABELS = 10_000_000;

function detectIdx(probe: DataProbe, at: string, files: string[]): Detection {
  const images = files.filter((f) => IDX_IMAGES.test(f));
  const train = images.find((f) => f.toLowerCase().startsWith('train'));
  const test = images.find((f) => /^(t10k|test)/i.test(f));
  if (!train)
    return {
      ok: false,
      reason: `${dot(at)} has IDX files but no training images file (train-images-idx3-ubyte[.gz]): choose the folder that has it.`,
    };
  const labelsName = [train.replace('images', 'labels').replace(/idx[34]/, 'idx1'), train.replace('images', 'labels')];
  const labels = labelsName.find((l) => files.includes(l));
  if (!labels) return { ok: false, reason: `${train} has no labels file next to it (${labelsName[0]}): add it.` };
  const dims = idxDims(probe.read(join(at, train), 16) ?? new Uint8Array());
  const labelBytes = probe.read(join(at, labels), 8 + MAX_LABELS);
  if (!dims || dims.length < 3 || !labelBytes || idxDims(labelBytes)?.length !== 1)
    return {
      ok: false,
      reason: `${train} or ${labels} is not an IDX file of unsigned bytes: choose MNIST-format files.`,
    };
  let max = 0;
  for (let i = 8; i < labelBytes.length; i++) max = Math.max(max, labelBytes[i]);
  const input = { height: dims[1], width: dims[2], channels: dims[3] ?? 1 };
  const classes = max + 1;
  return {
    ok: true,
    format: 'idx',
    train: dot(at),
    test: test ? dot(at) : undefined,
    classes,
    input,
    description: `IDX files: ${dims[0]} training images of ${input.height}x${input.width}x${input.channels}, ${classes} classes${test ? ', a test set' : ''}`,
  };
}

function detectCifar(format: 'cifar10' | 'cifar100', at: string, files: string[]): Detection {
  const test = format === 'cifar10' ? files.includes('test_batch.bin') : files.includes('test.bin');
  const hasTrain =
    format === 'cifar10' ? files.some((f) => /^data_batch_\d+\.bin$/.test(f)) : files.includes('train.bin');
  if (!hasTrain)
    return { ok: false, reason: `${dot(at)} has CIFAR test batches but no training batches: choose the full folder.` };
  const classes = format === 'cifar10' ? 10 : 100;
  return {
    ok: true,
    format,
    train: dot(at),
    test: test ? dot(at) : undefined,
    classes,
    input: { height: 32, width: 32, channels: 3 },
    description: `${format === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} binary batches: 32x32x3, ${classes} classes${test ? ', a test set' : ''}`,
  };
}

/** The first image of a class folder, directly in it or one folder down. */
function firstImage(probe: DataProbe, dir: string): string | undefined {
  const listing = probe.list(dir);
  if (!listing) return undefined;
  const direct = listing.files.find(isImageName);
  if (direct) return join(dir, direct);
  for (const sub of listing.dirs) {
    const found = probe.list(join(dir, sub))?.files.find(isImageName);
    if (found) return join(join(dir, sub), found);
  }
  return undefined;
}

function detectClassFolders(probe: DataProbe, at: string, dirs: string[]): Detection {
  const firsts = dirs.map((d) => firstImage(probe, join(at, d)));
  const empty = dirs.filter((_, i) => !firsts[i]);
  if (empty.length === dirs.length)
    return {
      ok: false,
      reason: `No images in ${dot(at)} or its folders (${IMAGE_EXTENSIONS.join(', ')}), nor IDX or CIFAR files: choose a folder with one sub-folder of images per class.`,
    };
  if (empty.length > 0)
    return {
      ok: false,
      reason: `Class folder${empty.length === 1 ? '' : 's'} ${empty.slice(0, 5).join(', ')} of ${dot(at)} ha${empty.length === 1 ? 's' : 've'} no images: add images or remove ${empty.length === 1 ? 'it' : 'them'}.`,
    };
  if (dirs.length < 2)
    return { ok: false, reason: `${dot(at)} has one class folder (${dirs[0]}): a classifier needs at least 2.` };
  const shape = imageShape(probe.read(firsts[0]!, 65536) ?? new Uint8Array());
  const input = shape && shape.height > 0 && shape.width > 0 ? suggestedInput(shape) : undefined;
  const list = dirs.length <= 6 ? dirs.join(', ') : `${dirs.slice(0, 5).join(', ')}, ...`;
  return {
    ok: true,
    format: 'folder',
    train: dot(at),
    classes: dirs.length,
    input,
    description: `${dirs.length} class folders (${list})${shape ? `, images of ${shape.height}x${shape.width}x${shape.channels}` : ''}`,
  };
}

/** The dataset in one folder: binary files first (as the engine reads them), else class folders. */
function detectIn(probe: DataProbe, at: string): Detection {
  const listing = probe.list(at);
  if (!listing) return { ok: false, reason: `Cannot list ${dot(at)}.` };
  const format = detectFolderFormat(listing.files);
  if (format === 'idx') return detectIdx(probe, at, listing.files);
  if (format !== 'folder') return detectCifar(format, at, listing.files);
  if (listing.dirs.length === 0)
    return { ok: false, reason: `${dot(at)} is empty: choose a folder with one sub-folder of images per class.` };
  return detectClassFolders(probe, at, [...listing.dirs].sort());
}

const SPLIT_NAMES = {
  train: ['train', 'training'],
  validation: ['val', 'valid', 'validation'],
  test: ['test', 'testing'],
};

/**
 * Detects the dataset of a chosen folder: the data itself, a folder with train/ (and val/, test/) of it, or a
 * folder with a single sub-folder that holds it (an extracted archive such as cifar-10-batches-bin).
 */
export function detectDataset(probe: DataProbe): Detection {
  const root = probe.list('');
  if (!root) return { ok: false, reason: 'Cannot list the folder.' };
  const named = (names: string[]) => root.dirs.find((d) => names.includes(d.toLowerCase()));
  const train = named(SPLIT_NAMES.train);
  if (train && detectFolderFormat(root.files) === 'folder') {
    const found = detectIn(probe, train);
    if (!found.ok) return found;
    const validation = named(SPLIT_NAMES.validation);
    const test = named(SPLIT_NAMES.test);
    const same = (d: string | undefined) => (d && detectIn(probe, d).ok ? d : undefined);
    const [v, t] = found.format === 'folder' ? [same(validation), same(test)] : [undefined, found.test];
    const extra = [v && `validation in ${v}`, t && `test in ${t}`].filter(Boolean).join(', ');
    return {
      ...found,
      validation: v,
      test: t,
      description: `${found.description} in ${train}${extra ? `; ${extra}` : ''}`,
    };
  }
  const here = detectIn(probe, '');
  if (here.ok || root.files.some((f) => !f.startsWith('.')) || root.dirs.length !== 1) return here;
  const inner = detectIn(probe, root.dirs[0]);
  return inner.ok ? { ...inner, description: `${inner.description} in ${root.dirs[0]}` } : here;
}

/**
 * One line that says a spec has no training data and how to get it, fitted to its input and classes (CIFAR,
 * MNIST, ImageNet, else any class folders). The editor's information diagnostic and Train's refusal say it.
 */
export function noDataHowTo(input: InputShape | undefined, classes: number | undefined): string {
  const rgb32 = input?.height === 32 && input.width === 32 && input.channels === 3;
  const add = (train: string, test?: string) =>
    `"data": {"train": "${train}", "validation": {"split": 0.1}${test ? `, "test": "${test}"` : ''}}`;
  if (rgb32 && (classes === 10 || classes === 100)) {
    const [name, folder, archive] =
      classes === 10
        ? ['CIFAR-10', 'cifar-10-batches-bin', 'cifar-10-binary.tar.gz']
        : ['CIFAR-100', 'cifar-100-binary', 'cifar-100-binary.tar.gz'];
    return `No training data: download ${name} (binary version) from https://www.cs.toronto.edu/~kriz/${archive}, extract it next to this spec and add ${add(folder, folder)}.`;
  }
  if (input?.height === 28 && input.width === 28 && input.channels === 1 && classes === 10)
    return `No training data: put MNIST's train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz (and t10k-*) in a folder "mnist" next to this spec and add ${add('mnist', 'mnist')}.`;
  if (classes === 1000)
    return `No training data: ImageNet (ILSVRC2012) is not downloadable without an account; get it from https://image-net.org, arrange train/<class>/*.JPEG next to this spec and add ${add('train')}, or use the spec for analysis only.`;
  return `No training data: put one folder of images per class in "data/train" next to this spec and add ${add('data/train', 'data/test')}, or run "DenseNet: New Model Spec..." and choose a data folder.`;
}
