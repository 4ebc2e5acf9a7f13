/**
 * Batches of preprocessed examples: an async iterator that decodes ahead into a bounded queue (at most
 * `prefetch` batches beyond the one the consumer holds, at most `concurrency` decodes at a time). A corrupt
 * image is skipped and reported, and its batch takes the next example; the last, partial batch is included.
 */
import type { InputShape, Task } from '../../core/types';
import type { Dataset } from './dataset';
import {
  type Augmentation,
  type Normalization,
  augment,
  augmentMask,
  drawAugmentParams,
  loadExample,
  normalizeInPlace,
} from './preprocess';
import type { Rng } from './rng';

export interface Batch {
  /** size·H·W·C floats, NHWC. */
  x: Float32Array;
  /**
   * The targets, `targetsPerExample` of them per example, example-major: classification, the class of each
   * example (size); multilabel, 0/1 per label (size·L); segmentation, the class of each pixel, -1 for ignored
   * pixels (size·H·W at the input size).
   */
  y: Int32Array;
  size: number;
  /** The dataset index of each example (absent in batches made elsewhere, e.g. cached features). */
  indices?: Uint32Array;
}

/** Targets per example in `Batch.y`: 1 (classification), `classes` labels (multilabel) or H·W pixels (segmentation). */
export function targetsPerExample(task: Task, classes: number, input: { height: number; width: number }): number {
  return task === 'multilabel' ? classes : task === 'segmentation' ? input.height * input.width : 1;
}

export interface BatchOptions {
  batchSize: number;
  input: InputShape;
  /** What `y` holds (default classification); multilabel needs `dataset.labelSet`, segmentation `readMask`. */
  task?: Task;
  normalization?: Normalization | null;
  /** Shuffles the examples and draws the augmentations; without it the dataset's order is kept. */
  rng?: Rng;
  /** Training only; needs `rng`. */
  augmentation?: Augmentation | null;
  /** Batches decoded ahead (default 2). */
  prefetch?: number;
  /** Images decoded at once (default 4). */
  concurrency?: number;
  onSkip?: (file: string, reason: string) => void;
}

export interface BatchIterator extends AsyncIterableIterator<Batch> {
  /** Examples skipped so far (unreadable images). */
  readonly skipped: number;
  /** Batches in the epoch when nothing is skipped: ceil(length / batchSize). */
  readonly expectedBatches: number;
}

function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    while (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number (got ${value}).`);
  return value;
}

/** One example before batching: its pixels and, for segmentation, its mask. */
interface Prepared {
  x: Float32Array;
  mask?: Int16Array;
}

async function loadTargets(dataset: Dataset, index: number, input: InputShape, task: Task): Promise<Prepared> {
  if (task !== 'segmentation') return { x: await loadExample(dataset, index, input) };
  const [x, mask] = await Promise.all([loadExample(dataset, index, input), dataset.readMask!(index, input)]);
  return { x, mask };
}

function checkTask(dataset: Dataset, task: Task): void {
  const missing =
    task === 'multilabel' && !dataset.labelSet
      ? 'label sets'
      : task === 'segmentation' && !dataset.readMask
        ? 'masks'
        : '';
  if (missing)
    throw new Error(
      `Task ${task} needs ${missing}, and ${dataset.description} has none: give ${task === 'multilabel' ? 'a CSV manifest or class folders' : 'images with masks'} as data.`,
    );
}

/**
 * One pass over `dataset`. The random draws (the permutation, then each position's crop and flip) are all made
 * from `rng` before this returns, in a fixed order: restoring a saved `rng.state()` and calling again gives the
 * same epoch, whatever the decode timing.
 */
export function batches(dataset: Dataset, options: BatchOptions): BatchIterator {
  const batchSize = positiveInteger(options.batchSize, 'The batch size');
  const prefetch = positiveInteger(options.prefetch ?? 2, 'data.prefetch');
  const run = limiter(positiveInteger(options.concurrency ?? 4, 'The decode concurrency'));
  const { input, rng } = options;
  const augmentation = options.augmentation ?? null;
  const normalization = options.normalization ?? null;
  if (augmentation && !rng) throw new Error('Augmentation needs a random generator (rng).');
  const task = options.task ?? 'classification';
  checkTask(dataset, task);

  const n = dataset.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  rng?.shuffle(order);
  const dx = new Int16Array(n);
  const dy = new Int16Array(n);
  const flip = new Uint8Array(n);
  if (augmentation && rng) {
    for (let p = 0; p < n; p++) {
      const params = drawAugmentParams(rng, augmentation);
      dx[p] = params.dx;
      dy[p] = params.dy;
      flip[p] = params.flip ? 1 : 0;
    }
  }

  let skipped = 0;
  let stopped = false;
  const prepare = async (position: number): Promise<Prepared | undefined> => {
    const index = order[position];
    try {
      const loaded = await run(async () => (stopped ? undefined : loadTargets(dataset, index, input, task)));
      if (!loaded) return undefined;
      const params = { dx: dx[position], dy: dy[position], flip: flip[position] === 1 };
      const x = augmentation ? augment(loaded.x, input, augmentation.padding, params) : loaded.x;
      const mask =
        augmentation && loaded.mask ? augmentMask(loaded.mask, input, augmentation.padding, params) : loaded.mask;
      if (normalization) normalizeInPlace(x, normalization);
      return { x, mask };
    } catch (e) {
      if (stopped) return undefined;
      skipped++;
      options.onSkip?.(dataset.location(index), (e as Error).message);
      return undefined;
    }
  };

  const pixels = input.height * input.width * input.channels;
  const stride = targetsPerExample(task, dataset.classNames.length, input);
  const setTargets = (y: Int32Array, at: number, index: number, example: Prepared): void => {
    if (example.mask) y.set(example.mask, at * stride);
    else if (task === 'multilabel') for (const label of dataset.labelSet!(index)) y[at * stride + label] = 1;
    else y[at] = dataset.label(index);
  };
  async function* generate(): AsyncGenerator<Batch, void, undefined> {
    const window = prefetch * batchSize;
    const queue: { position: number; result: Promise<Prepared | undefined> }[] = [];
    let dispatched = 0;
    const topUp = (): void => {
      while (queue.length < window && dispatched < n) {
        queue.push({ position: dispatched, result: prepare(dispatched) });
        dispatched++;
      }
    };
    let produced = 0;
    try {
      for (;;) {
        topUp();
        if (queue.length === 0) break;
        const x = new Float32Array(batchSize * pixels);
        const y = new Int32Array(batchSize * stride);
        const indices = new Uint32Array(batchSize);
        let size = 0;
        while (size < batchSize && queue.length > 0) {
          const entry = queue.shift()!;
          topUp();
          const example = await entry.result;
          if (!example) continue;
          x.set(example.x, size * pixels);
          indices[size] = order[entry.position];
          setTargets(y, size++, order[entry.position], example);
        }
        if (size === 0) break;
        produced++;
        yield size === batchSize
          ? { x, y, size, indices }
          : { x: x.slice(0, size * pixels), y: y.slice(0, size * stride), size, indices: indices.slice(0, size) };
      }
    } finally {
      stopped = true;
    }
    if (produced === 0 && n > 0) {
      throw new Error(
        `None of the ${n} images of ${dataset.description} could be read (${skipped} skipped): check the files.`,
      );
    }
  }

  const generator = generate();
  return {
    get skipped() {
      return skipped;
    },
    expectedBatches: Math.ceil(n / batchSize),
    next: () => generator.next(),
    return: async () => generator.return(undefined),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
