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
import type { DataSource, DataSpec } from '../../core/specSchema';
import type { InputShape } from '../../core/types';
import { type BatchIterator, batches } from './batches';
import { type Dataset, splitDataset } from './dataset';
import { type Augmentation, type Normalization, computeNormalization } from './preprocess';
import type { Rng } from './rng';
import { openSource } from './source';

export { type Batch, type BatchIterator, type BatchOptions, batches } from './batches';
export { type Dataset, type Pixels, type Size, labelCounts, splitDataset, subset } from './dataset';
export { IMAGE_EXTENSIONS } from './folder';
export {
  type AugmentParams,
  type Augmentation,
  type Normalization,
  augment,
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

export interface OpenDataOptions {
  /** The spec's folder: data paths are relative to it. */
  baseDir: string;
  input: InputShape;
  /** The spec's `classes`, checked against the training data. */
  classes?: number;
  /** training.seed: the validation split's seed unless data.validation.seed is given, and the "auto" sample's. */
  seed?: number;
  /** Images sampled for normalize "auto" (default 1000). */
  normalizationSamples?: number;
  /** Images decoded at once (default 4). */
  concurrency?: number;
  /** Called for each unreadable image, which is skipped. */
  onSkip?: (file: string, reason: string) => void;
}

export interface DataPipeline {
  classNames: readonly string[];
  train: Dataset;
  validation?: Dataset;
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
 * Opens the data of a spec: lists the examples (decodes nothing but the "auto" normalisation sample) and
 * throws, before any training, an Error that says what to change for a missing path, an empty class folder,
 * data without images, or a class count that disagrees with `classes`.
 */
export async function openData(data: DataSpec | undefined, options: OpenDataOptions): Promise<DataPipeline> {
  if (!data?.train)
    throw new Error(
      'The spec has no data.train: add "data": {"train": "data/train"} (a folder with one sub-folder per class, CIFAR batches or an IDX file).',
    );
  const opened: Dataset[] = [];
  const open = async (source: DataSource, role: string, classNames?: readonly string[]): Promise<Dataset> => {
    const dataset = await openSource(source, {
      baseDir: options.baseDir,
      split: role === 'train' ? 'train' : 'test',
      role,
      classNames,
    });
    opened.push(dataset);
    return dataset;
  };
  try {
    const all = await open(data.train, 'train');
    const classNames = all.classNames;
    if (options.classes !== undefined && options.classes !== classNames.length) {
      const list = classNames.length <= 12 ? classNames.join(', ') : `${classNames.slice(0, 10).join(', ')}, ...`;
      throw new Error(
        `classes is ${options.classes} but the training data ${all.description} has ${classNames.length} classes (${list}): set "classes" to ${classNames.length}, or make the dataset match.`,
      );
    }
    let train = all;
    let validation: Dataset | undefined;
    if (isSplit(data.validation)) {
      ({ train, validation } = splitDataset(all, data.validation.split, data.validation.seed ?? options.seed ?? 0));
    } else if (data.validation !== undefined) {
      validation = await open(data.validation, 'validation', classNames);
    }
    const test = data.test !== undefined ? await open(data.test, 'test', classNames) : undefined;

    const { input } = options;
    const normalize = data.normalize ?? 'auto';
    const normalization =
      normalize === 'none'
        ? null
        : normalize === 'auto'
          ? await computeNormalization(train, input, {
              samples: options.normalizationSamples,
              seed: options.seed,
              concurrency: options.concurrency,
              onSkip: options.onSkip,
            })
          : checkNormalization(normalize, input.channels);
    const augmentation = resolveAugmentation(data.augment);
    const prefetch = data.prefetch ?? 2;
    const common = { input, normalization, prefetch, concurrency: options.concurrency, onSkip: options.onSkip };
    return {
      classNames,
      train,
      validation,
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
