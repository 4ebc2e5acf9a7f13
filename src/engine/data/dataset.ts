/**
 * The dataset abstraction of the data pipeline: a list of labelled examples that are read (and decoded) one at
 * a time, so a dataset larger than memory trains. Pure data: no tfjs here; the trainer makes tensors of batches.
 */
import { Rng } from './rng';

export interface Size {
  height: number;
  width: number;
}

/** Decoded pixels, row-major HWC. 8-bit sources give a Uint8Array (maxValue 255), 16-bit ones a Uint16Array (65535). */
export interface Pixels {
  data: Uint8Array | Uint16Array;
  height: number;
  width: number;
  /** 1 (grayscale) or 3 (RGB). */
  channels: number;
  maxValue: number;
}

export interface Dataset {
  /** What the data is, for messages: `data/train (class folders)`. */
  readonly description: string;
  /** Class names; label i is classNames[i]. Multi-label data: the label names; segmentation: the class names. */
  readonly classNames: readonly string[];
  readonly length: number;
  /** The class of example `index`; 0 for multi-label and segmentation data (see labelSet, readMask). */
  label(index: number): number;
  /** Multi-label data: the label indices of example `index`, ascending, possibly none. */
  labelSet?(index: number): readonly number[];
  /**
   * Segmentation data: the mask of example `index` resized to `size` by nearest neighbour, row-major H·W, the
   * class of each pixel, -1 where the mask has the ignore index. Rejects for an unreadable mask or a value that is
   * no class.
   */
  readMask?(index: number, size: Size): Promise<Int16Array>;
  /** Segmentation data: the mask file of example `index`. */
  maskLocation?(index: number): string;
  /** Where example `index` comes from: an image file, or `file [record n]` for IDX and CIFAR data. */
  location(index: number): string;
  /** Where the examples of class `label` are, for messages (class folders: the class's folder). */
  classFolder?(label: number): string;
  /** Decodes example `index`, resized to `size` (channels as stored: 1 or 3). Rejects for a corrupt image. */
  read(index: number, size: Size): Promise<Pixels>;
  /** Releases open files. Idempotent; a subset closes its parent. */
  close(): Promise<void>;
}

/** Examples per class. */
export function labelCounts(dataset: Dataset): number[] {
  const counts = new Array<number>(dataset.classNames.length).fill(0);
  for (let i = 0; i < dataset.length; i++) counts[dataset.label(i)]++;
  return counts;
}

/** The examples of `dataset` at `indices`, in that order. */
export function subset(dataset: Dataset, indices: Uint32Array, description: string): Dataset {
  return {
    description,
    classNames: dataset.classNames,
    length: indices.length,
    label: (i) => dataset.label(indices[i]),
    labelSet: dataset.labelSet && ((i) => dataset.labelSet!(indices[i])),
    readMask: dataset.readMask && ((i, size) => dataset.readMask!(indices[i], size)),
    maskLocation: dataset.maskLocation && ((i) => dataset.maskLocation!(indices[i])),
    location: (i) => dataset.location(indices[i]),
    classFolder: dataset.classFolder && ((label) => dataset.classFolder!(label)),
    read: (i, size) => dataset.read(indices[i], size),
    close: () => dataset.close(),
  };
}

/** Whether a validation split of `dataset` is stratified by class: single-label data only. */
export function isStratifiable(dataset: Dataset): boolean {
  return dataset.labelSet === undefined && dataset.readMask === undefined;
}

/**
 * Which examples of `dataset` to hold out for validation: `fraction` of them, seeded, so the same seed gives the
 * same split. Stratified (the default for single-label data): each class gives round(fraction·n) of its n
 * examples, at least one when it has two or more. Not stratified (multi-label and segmentation data, whose
 * examples have no one class): round(fraction·n) of all n examples, at least one and at most n - 1. Indices
 * ascending.
 */
export function splitIndices(
  dataset: Dataset,
  fraction: number,
  seed: number,
  stratify = isStratifiable(dataset),
): Uint32Array {
  if (!(fraction > 0 && fraction < 1)) {
    throw new Error(
      `The validation split is ${fraction}: set data.validation.split to a fraction between 0 and 1 (e.g. 0.1).`,
    );
  }
  const groups: number[][] = stratify
    ? dataset.classNames.map(() => [])
    : [Array.from({ length: dataset.length }, (_, i) => i)];
  if (stratify) for (let i = 0; i < dataset.length; i++) groups[dataset.label(i)].push(i);
  const rng = new Rng(seed);
  const held: number[] = [];
  for (const members of groups) {
    const take = members.length < 2 ? 0 : Math.max(1, Math.round(fraction * members.length));
    rng.shuffle(members);
    for (let k = 0; k < Math.min(take, members.length - 1); k++) held.push(members[k]);
  }
  if (held.length === 0) {
    throw new Error(
      `${dataset.description} has ${dataset.length} example(s), too few to hold out ${fraction} for validation: add images or give data.validation its own source.`,
    );
  }
  return Uint32Array.from(held).sort();
}

/**
 * `dataset` split into the examples at `heldOut` (ascending indices: validation) and the others (training).
 * Both parts keep the dataset's order.
 */
export function splitAt(
  dataset: Dataset,
  heldOut: ArrayLike<number>,
  fraction: number,
): { train: Dataset; validation: Dataset } {
  const held = new Uint8Array(dataset.length);
  for (let k = 0; k < heldOut.length; k++) held[heldOut[k]] = 1;
  const validation = Uint32Array.from(heldOut);
  const train = new Uint32Array(dataset.length - validation.length);
  for (let i = 0, t = 0; i < dataset.length; i++) if (!held[i]) train[t++] = i;
  return {
    train: subset(dataset, train, `${dataset.description}, training part`),
    validation: subset(dataset, validation, `${dataset.description}, validation split ${fraction}`),
  };
}

/** Holds out `fraction` of `dataset` for validation (`splitIndices`). Both parts keep the dataset's order. */
export function splitDataset(
  dataset: Dataset,
  fraction: number,
  seed: number,
): { train: Dataset; validation: Dataset } {
  return splitAt(dataset, splitIndices(dataset, fraction, seed), fraction);
}
