/**
 * The data pipeline of the trainer: opens a spec's `data` section (train, validation split or source, test),
 * resolves normalisation and augmentation, and makes batches of plain typed arrays. No tfjs here.
 *
 *   const data = await openData(spec.data, { baseDir: path.dirname(specPath), input, classes, seed });
 *   const rng = new Rng(seed);                      // save rng.state() with each checkpoint
 *   for await (const b of data.trainBatches(batchSize, rng)) { tf.tensor4d(b.x, [b.size, H, W, C]) ... }
 *   for await (const b of data.evalBatches(data.validation!, batchSize)) { ... }
 *   await data.close();
 */
import { createHash } from 'crypto';
import { noDataHowTo } from '../../core/dataKind';
import type { DataSource, DataSpec } from '../../core/specSchema';
import type { InputShape, Task } from '../../core/types';
import type { HeldOut } from '../../runs/runSplit';
import { type BatchIterator, batches } from './batches';
import { type Dataset, splitAt, splitIndices } from './dataset';
import { type MaskSpec, defaultPalette, parseColor } from './mask';
import { type Augmentation, type Normalization, computeNormalization } from './preprocess';
import type { Rng } from './rng';
import { SkipLedger, checkClassesReadable } from './skips';
import { openSource } from './source';

export { type Batch, type BatchIterator, type BatchOptions, batches, targetsPerExample } from './batches';
export {
  type Dataset,
  type Pixels,
  type Size,
  isStratifiable,
  labelCounts,
  splitDataset,
  splitIndices,
  subset,
} from './dataset';
export { type MaskSpec, defaultPalette } from './mask';
export { IMAGE_EXTENSIONS } from './folder';
export {
  type AugmentParams,
  type Augmentation,
  type Normalization,
  augment,
  augmentMask,
  computeNormalization,
  loadExample,
  normalizeInPlace,
  toFloat,
} from './preprocess';
export { Rng } from './rng';
export {
  type DataFormat,
  type ResolvedSource,
  type SourceOptions,
  type Split,
  openSource,
  resolveSource,
} from './source';

/** The spec's `data` section, as the schema (src/core/specSchema.ts) describes it. */
export type { DataSpec };
export type { Task };

export interface OpenDataOptions {
  /** The spec's folder: data paths are relative to it. */
  baseDir: string;
  input: InputShape;
  /**
   * What the data is for (default classification): multilabel reads CSV manifests and class folders into label
   * sets, segmentation reads images with masks.
   */
  task?: Task;
  /**
   * The spec's `classes`, checked against the training data (multilabel: its number of labels; segmentation:
   * data.classList's length; without data.classList it names the segmentation classes "0", "1", ...).
   */
  classes?: number;
  /** training.seed: the validation split's seed unless data.validation.seed is given, and the "auto" sample's. */
  seed?: number;
  /** Images sampled for normalize "auto" (default 1000). */
  normalizationSamples?: number;
  /** Images decoded at once (default 4). */
  concurrency?: number;
  /** Called once for each unreadable image (however often it is met), which is skipped. */
  onSkip?: (file: string, reason: string) => void;
  /**
   * The split a run recorded when it started (src/runs/runSplit.ts): used instead of drawing one, after checking
   * that the training data is the one it was drawn from.
   */
  heldOut?: HeldOut;
}

export interface DataPipeline {
  task: Task;
  /** Class names (multilabel: label names). */
  classNames: readonly string[];
  /** Segmentation: the colour of each class, "#rrggbb" (data.classList's, else the Pascal VOC palette). */
  classColors?: readonly string[];
  train: Dataset;
  validation?: Dataset;
  /** For a `validation: {split}`: which training examples were held out (the one given, or the one drawn). */
  heldOut?: HeldOut;
  test?: Dataset;
  /** The mean/std applied to every batch (keep it with the model: predictions need it); null for "none". */
  normalization: Normalization | null;
  augmentation: Augmentation | null;
  prefetch: number;
  /** One training epoch: shuffled and augmented with draws from `rng`, which advances. */
  trainBatches(batchSize: number, rng: Rng): BatchIterator;
  /** A dataset in order, without augmentation: validation, test. */
  evalBatches(dataset: Dataset, batchSize: number): BatchIterator;
  close(): Promise<void>;
}

function isSplit(v: DataSpec['validation']): v is { split: number; seed?: number } {
  return typeof v === 'object' && v !== null && 'split' in v;
}

function resolveAugmentation(augment: DataSpec['augment']): Augmentation | null {
  if (!augment) return null;
  const padding = augment.randomCrop ? (augment.randomCrop.padding ?? 4) : 0;
  if (!Number.isInteger(padding) || padding < 0)
    throw new Error(
      `data.augment.randomCrop.padding is ${padding}: give a whole number of pixels, 0 or more (the paper: 4).`,
    );
  const horizontalFlip = augment.horizontalFlip === true;
  return augment.randomCrop || horizontalFlip ? { padding, horizontalFlip } : null;
}

function checkNormalization(n: Normalization, channels: number): Normalization {
  for (const key of ['mean', 'std'] as const) {
    const values = n[key];
    if (
      !Array.isArray(values) ||
      values.length !== channels ||
      values.some((v) => typeof v !== 'number' || !Number.isFinite(v))
    ) {
      throw new Error(`data.normalize.${key} must list ${channels} number(s), one per input channel.`);
    }
  }
  if (n.std.some((s) => s <= 0)) throw new Error('data.normalize.std values must be above 0.');
  return { mean: [...n.mean], std: [...n.std] };
}

/**
 * SHA-256 of the locations and labels of a dataset's examples, in order, with each example's label set
 * (multi-label data) and mask file (segmentation). Single-label data hashes as it always did, so the splits that
 * runs recorded stay valid.
 */
export function datasetFingerprint(dataset: Dataset): string {
  const hash = createHash('sha256');
  for (let i = 0; i < dataset.length; i++) {
    let line = `${dataset.location(i)}\t${dataset.label(i)}`;
    if (dataset.labelSet) line += `\t[${dataset.labelSet(i).join(',')}]`;
    if (dataset.maskLocation) line += `\t${dataset.maskLocation(i)}`;
    hash.update(`${line}\n`);
  }
  return hash.digest('hex');
}

/** Segmentation: the class names, their colours and how mask values become classes, from data and `classes`. */
export function segmentationClasses(
  data: DataSpec,
  classes: number | undefined,
): { classNames: string[]; classColors: string[]; mask: MaskSpec } {
  const list = data.classList;
  if (list && classes !== undefined && list.length !== classes)
    throw new Error(
      `classes is ${classes} but data.classList names ${list.length} classes: set "classes" to ${list.length}, or make data.classList list ${classes}.`,
    );
  const count = list?.length ?? classes;
  if (count === undefined)
    throw new Error('Segmentation data needs its number of classes: set "classes" (or list them in data.classList).');
  const classColors = list ? list.map((c) => c.color.toLowerCase()) : defaultPalette(count);
  const mask: MaskSpec = {
    classes: count,
    ignoreIndex: data.ignoreIndex,
    colors: list?.map((c) => parseColor(c.color)),
  };
  return {
    classNames: list ? list.map((c) => c.name) : Array.from({ length: count }, (_, i) => `${i}`),
    classColors,
    mask,
  };
}

/** Throws when `classes` disagrees with the training data's classes (multilabel: its labels). */
function checkClassCount(all: Dataset, classes: number | undefined, task: Task): void {
  const classNames = all.classNames;
  if (classes === undefined || classes === classNames.length || task === 'segmentation') return;
  const list = classNames.length <= 12 ? classNames.join(', ') : `${classNames.slice(0, 10).join(', ')}, ...`;
  const what = task === 'multilabel' ? 'labels' : 'classes';
  throw new Error(
    `classes is ${classes} but the training data ${all.description} has ${classNames.length} ${what} (${list}): set "classes" to ${classNames.length}, or make the dataset match.`,
  );
}

/** The examples of `all` to hold out: the recorded ones (checked against `all`), else a split drawn with `seed`. */
function heldOutOf(all: Dataset, fraction: number, seed: number, recorded: HeldOut | undefined): HeldOut {
  const fingerprint = datasetFingerprint(all);
  if (recorded === undefined)
    return { fraction, examples: all.length, fingerprint, indices: [...splitIndices(all, fraction, seed)] };
  if (recorded.examples !== all.length || recorded.fingerprint !== fingerprint)
    throw new Error(
      `The training data ${all.description} is not the one this run's validation split was drawn from (${recorded.examples} examples then, ${all.length} now, or other files): restore that data, or start a new run.`,
    );
  return recorded;
}

/**
 * Opens the data of a spec: lists the examples (decodes nothing but the "auto" normalisation sample and one
 * image a class) and throws, before any training, an Error that says what to change for a missing path, an
 * empty class folder, a class with no readable image, data without images, or a class count that disagrees with
 * `classes`. Each unreadable file is reported once to `onSkip`, however many times it is met.
 */
export async function openData(data: DataSpec | undefined, options: OpenDataOptions): Promise<DataPipeline> {
  if (!data?.train) throw new Error(noDataHowTo(options.input, options.classes));
  const task = options.task ?? 'classification';
  const seg = task === 'segmentation' ? segmentationClasses(data, options.classes) : undefined;
  const opened: Dataset[] = [];
  const skips = new SkipLedger(options.onSkip);
  const onSkip = (file: string, reason: string): void => skips.add(file, reason);
  const open = async (source: DataSource, role: string, classNames?: readonly string[]): Promise<Dataset> => {
    const dataset = await openSource(source, {
      baseDir: options.baseDir,
      split: role === 'train' ? 'train' : 'test',
      role,
      classNames,
      task,
      segmentation: seg && { classNames: seg.classNames, mask: seg.mask },
    });
    opened.push(dataset);
    return dataset;
  };
  try {
    const all = await open(data.train, 'train');
    const classNames = all.classNames;
    checkClassCount(all, options.classes, task);
    let train = all;
    let validation: Dataset | undefined;
    let heldOut: HeldOut | undefined;
    if (isSplit(data.validation)) {
      const v = data.validation;
      heldOut = heldOutOf(all, v.split, v.seed ?? options.seed ?? 0, options.heldOut);
      ({ train, validation } = splitAt(all, heldOut.indices, heldOut.fraction));
    } else if (data.validation !== undefined) {
      validation = await open(data.validation, 'validation', classNames);
    }
    const test = data.test !== undefined ? await open(data.test, 'test', classNames) : undefined;

    const { input } = options;
    for (const dataset of opened) await checkClassesReadable(dataset, input, skips, options.concurrency);
    const normalize = data.normalize ?? 'auto';
    const normalization =
      normalize === 'none'
        ? null
        : normalize === 'auto'
          ? await computeNormalization(train, input, {
              samples: options.normalizationSamples,
              seed: options.seed,
              concurrency: options.concurrency,
              onSkip,
            })
          : checkNormalization(normalize, input.channels);
    const augmentation = resolveAugmentation(data.augment);
    const prefetch = data.prefetch ?? 2;
    const common = { input, task, normalization, prefetch, concurrency: options.concurrency, onSkip };
    return {
      task,
      classNames,
      classColors: seg?.classColors,
      train,
      validation,
      heldOut,
      test,
      normalization,
      augmentation,
      prefetch,
      trainBatches: (batchSize, rng) => batches(train, { ...common, batchSize, rng, augmentation }),
      evalBatches: (dataset, batchSize) => batches(dataset, { ...common, batchSize }),
      close: async () => {
        await Promise.all(opened.map((d) => d.close()));
      },
    };
  } catch (e) {
    await Promise.all(opened.map((d) => d.close()));
    throw e;
  }
}
